"""LGPD data-subject requests across the running services (real processes, broker and PostgreSQL): an export
gathers every service's part about a person at two creditors, a corrected phone is where the next SMS goes,
erasure is refused while a debt is open and, once none is, removes the person from every service."""

import asyncio
import random
import uuid
from datetime import timedelta
from functools import partial
from typing import Any

import asyncpg
import httpx

from regua_contracts.privacy import PERSON_DATA_HOLDERS
from regua_localstack.portfolio import cpf
from regua_localstack.stack import ADMIN_TOKEN
from tests.support.channels import at_local, next_monday, register, tenant_with_ruler, unique_phone
from tests.support.client import Platform, eventually
from tests.support.providers import Providers

STEPS = """\
      - {key: D+1, offset_days: 1, send: [sms], template: notice, tone: informative}
      - {key: D+3, offset_days: 3, send: [sms], template: notice, tone: informative}
"""
ACTOR = "dpo@agencia.example"
#: Where each service keeps rows about a debtor (schema, table), all of them gone after an erasure.
DEBTOR_ROWS = [("ruler", "cases"), ("ruler", "case_steps"), ("negotiation", "invoices"), ("credit", "invoices"),
               ("contact_history", "contacts"), ("contact_history", "debtors"), ("dispatch_sms", "dispatch_attempts"),
               ("ingestion", "invoices")]


def _sql(platform: Platform, query: str, *args: Any) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(platform.stack.database_url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def _rows_about(platform: Platform, debtors: list[str]) -> dict[str, int]:
    return {f"{schema}.{table}": _sql(platform, f'SELECT count(*) FROM "{schema}"."{table}" '
                                      "WHERE debtor_id = ANY($1::uuid[])", [uuid.UUID(d) for d in debtors])[0][0]
            for schema, table in DEBTOR_ROWS}


def test_export_correction_and_erasure_across_services(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key_a = tenant_with_ruler(platform, "Clínica Sorriso Ltda", STEPS, services=("contact-history",))
    key_b = tenant_with_ruler(platform, "Academia Forte Ltda", STEPS, services=("contact-history",))
    document, phone, new_phone = cpf(random.Random(uuid.uuid4().int)), unique_phone(), unique_phone()
    email = f"titular.{uuid.uuid4().hex[:8]}@example.com"
    due = next_monday(platform)
    invoice_a = register(platform, key_a, due, 45_000, document=document, phone=phone, email=email)
    invoice_b = register(platform, key_b, due, 12_000, document=document, phone=phone)
    debtors = [invoice_a["debtor_id"], invoice_b["debtor_id"]]
    platform.set_clock(at_local(due + timedelta(days=1)))
    eventually(lambda: providers.received("sms", phone), 60, what="the D+1 SMS")
    history = httpx.Client(base_url=platform.stack.url("contact-history"), headers={"X-API-Key": key_a})

    def entries(key: str, debtor: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = history.get(f"/v1/debtors/{debtor}/contacts", headers={"X-API-Key": key},
                                                  params={"limit": 500}).json().get("contacts", [])
        return found

    eventually(lambda: any(e["kind"] == "attempt" for e in entries(key_a, debtors[0])), 60,
               what="the attempt in the history")
    admin = httpx.Client(base_url=platform.stack.url("ingestion"), timeout=30,
                         headers={"X-Admin-Token": ADMIN_TOKEN, "X-Actor": ACTOR})

    # Access: every service's part, across both creditors.
    assert admin.post("/admin/privacy/exports", json={"document": document},
                      headers={"X-Admin-Token": "wrong"}).status_code == 401
    no_actor = httpx.post(f"{platform.stack.url('ingestion')}/admin/privacy/exports", json={"document": document},
                          headers={"X-Admin-Token": ADMIN_TOKEN})
    assert no_actor.status_code == 422 and "x-actor" in no_actor.text.lower()
    unknown = admin.post("/admin/privacy/exports", json={"document": cpf(random.Random(uuid.uuid4().int))})
    assert unknown.status_code == 404
    assert admin.post("/admin/privacy/corrections", json={"document": document}).status_code == 422
    r = admin.post("/admin/privacy/exports", json={"document": document})
    assert r.status_code == 202, r.text
    request_id = r.json()["request_id"]

    def complete() -> dict[str, Any] | None:
        got = admin.get(f"/admin/privacy/exports/{request_id}")
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body if body["complete"] else None

    export = eventually(complete, 90, 0.5, what="every service's part of the export")
    assert export is not None
    parts = export["services"]
    assert set(parts) == set(PERSON_DATA_HOLDERS) and export["missing"] == []
    assert {i["id"] for i in parts["ingestion"]["invoices"]} == {invoice_a["id"], invoice_b["id"]}
    assert parts["ingestion"]["persons"][0]["document"] == document
    assert {i["debtor"]["phone"] for i in parts["ingestion"]["invoices"]} == {phone}
    assert {c["debtor_id"] for c in parts["ruler"]["cases"]} == set(debtors)
    assert {i["debtor_id"] for i in parts["negotiation"]["invoices"]} == set(debtors)
    assert {i["debtor_id"] for i in parts["credit"]["invoices"]} == set(debtors)
    assert any(c["kind"] == "attempt" and c["channel"] == "sms" for c in parts["contact-history"]["contacts"])
    assert {a["debtor_id"] for a in parts["dispatch-sms"]["dispatch_attempts"]} <= set(debtors)
    assert parts["dispatch-sms"]["dispatch_attempts"]
    for service in ("dispatch-email", "dispatch-whatsapp", "dispatch-phone"):
        assert "dispatch_attempts" in parts[service]
    download = admin.get(f"/admin/privacy/exports/{request_id}")
    assert download.headers["content-disposition"] == f'attachment; filename="person-data-{request_id}.json"'
    # Who read the debtor's data, and when, is on record (never the data itself).
    log = _sql(platform, "SELECT actor, action, detail::text FROM ingestion.privacy_access_log WHERE request_id = $1",
               uuid.UUID(request_id))
    assert {(r["actor"], r["action"]) for r in log} == {(ACTOR, "export-requested"), (ACTOR, "export-downloaded")}
    assert not any(document in r["detail"] or phone in r["detail"] for r in log)
    unknown_lookups = _sql(platform, "SELECT detail::text FROM ingestion.privacy_access_log WHERE actor = $1 "
                           "AND person_id IS NULL", ACTOR)
    assert [r["detail"] for r in unknown_lookups] == ['{"outcome": "unknown document"}']
    # At rest, the document and the phone are in no ingestion or contact-history table in clear.
    for schema, table in (("ingestion", "persons"), ("ingestion", "invoices"), ("ingestion", "privacy_export_parts"),
                          ("contact_history", "contacts")):
        dump = _sql(platform, f'SELECT coalesce(string_agg(x::text, \'|\'), \'\') FROM "{schema}"."{table}" x')[0][0]
        assert document not in dump and phone[3:] not in dump, f"{schema}.{table}"

    # Correction: the next step goes to the corrected number, from both creditors' dispatch.
    r = admin.post("/admin/privacy/corrections", json={"document": document, "phone": new_phone})
    assert r.status_code == 200, r.text
    assert r.json()["corrected"] == ["phone"] and r.json()["invoices"] == 2
    # The ruler's cases are where the next command takes the address from (a committed offset is not proof
    # enough: Tansu may report one past the end).
    eventually(lambda: {r[0] for r in _sql(platform, "SELECT recipient ->> 'phone' FROM ruler.cases "
                                           "WHERE debtor_id = ANY($1::uuid[])", [uuid.UUID(d) for d in debtors])}
               == {new_phone}, 60, 0.5, what="the ruler to apply the correction")
    platform.set_clock(at_local(due + timedelta(days=3)))
    try:
        eventually(lambda: providers.received("sms", new_phone), 120, what="the D+3 SMS at the corrected number")
    except AssertionError as exc:
        plan = httpx.get(f"{platform.stack.url('ruler')}/v1/invoices/{invoice_a['id']}/case",
                         headers={"X-API-Key": key_a}).json()
        raise AssertionError(f"{exc}; case: {plan}; to the old phone: {providers.received('sms', phone)}") from exc
    with platform.api(key_a) as api:
        assert api.get(f"/v1/invoices/{invoice_a['id']}").json()["debtor"]["phone"] == new_phone

    # Erasure: refused while a debt is open, with the reason.
    r = admin.post("/admin/privacy/erasures", json={"document": document})
    assert r.status_code == 409, r.text
    assert r.json()["errors"][0]["reason"].startswith("open debt: 2 invoice(s)")
    for key, invoice in ((key_a, invoice_a), (key_b, invoice_b)):
        with platform.api(key) as api:
            paid = api.post(f"/v1/invoices/{invoice['id']}/payments", json={"amount_cents": invoice["amount_cents"]})
            assert paid.status_code == 201, paid.text
    assert _rows_about(platform, debtors)["ruler.cases"] == 2

    def settled(key: str, debtor: str) -> bool:
        """The thank-you went out and every SMS has its receipt: no contact fact about the debtor is still
        on its way (one arriving after the erasure would be a new fact)."""
        found = entries(key, debtor)
        sms = sum(e["kind"] == "attempt" and e["channel"] == "sms" and e["outcome"] == "sent" for e in found)
        receipts = sum(e["kind"] == "delivery" and e["channel"] == "sms" for e in found)
        return any(e["kind"] == "attempt" and e["step"] == "thank-you" for e in found) and receipts >= sms

    for key, debtor in zip((key_a, key_b), debtors, strict=True):
        eventually(partial(settled, key, debtor), 60, 0.5, what="the thank-you and every receipt")
    # The stack runs with no retention period (REGUA_PRIVACY_RETENTION_DAYS=0): nothing keeps the data now.
    r = admin.post("/admin/privacy/erasures", json={"document": document})
    assert r.status_code == 200, r.text
    eventually(lambda: not any(_rows_about(platform, debtors).values()), 90, 0.5,
               what="every service to erase the person")
    assert admin.post("/admin/privacy/exports", json={"document": document}).status_code == 404
    with platform.api(key_a) as api:
        assert api.get(f"/v1/invoices/{invoice_a['id']}").status_code == 404
    assert history.get(f"/v1/debtors/{debtors[0]}/contacts").status_code == 404
