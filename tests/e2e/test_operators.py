"""Operators are not client companies: an integration key is refused on every operator and configuration
endpoint; a staff token (X-Staff-Token) acts, for its own tenant only, and every action it takes is in the
audit log under the staff member's id, written with the action."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from regua_localstack.stack import STAFF_TOKEN_SECRET
from regua_platform import staff
from tests.support.client import Platform, eventually
from tests.support.negotiation import POLICY

RULER = "name: default\nsegments:\n  - name: all\n    steps:\n" \
        "      - {key: D+30, offset_days: 30, send: [email], template: notice, tone: informative}\n"
SERVICES = ("negotiation", "dispatch-phone", "dispatch-sms")


def _audit(platform: Platform, schema: str, tenant_id: str) -> list[dict[str, Any]]:
    async def fetch() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(platform.stack.database_url)
        try:
            rows = await conn.fetch(f"SELECT actor, role, action, tenant_id, subject, person_id, detail "
                                    f"FROM {schema}.audit_log WHERE tenant_id = $1 ORDER BY id", tenant_id)
            return [dict(r) for r in rows]
        finally:
            await conn.close()
    return asyncio.run(fetch())


def _tenant(platform: Platform, name: str, scope: str) -> tuple[str, str]:
    tenant_id, key = platform.new_tenant(name, "11222333000181", scope=scope)
    for service in SERVICES:
        platform.wait_tenant_known(service, key)
    return tenant_id, key


def _disputed_invoice(platform: Platform, key: str) -> dict[str, Any]:
    due = platform.now().date() + timedelta(days=3)
    with platform.api(key) as api:
        r = api.post("/v1/invoices", json={
            "external_id": f"OP-{uuid.uuid4().hex[:8]}", "amount_cents": 12_000, "due_date": due.isoformat(),
            "debtor": {"document": "52998224725", "name": "Rita Souza", "email": f"r.{uuid.uuid4().hex[:8]}@ex.com"}})
        assert r.status_code == 201, r.text
        invoice: dict[str, Any] = r.json()
    ruler = platform.stack.url("ruler")
    eventually(lambda: httpx.get(f"{ruler}/v1/invoices/{invoice['id']}/case",
                                 headers={"X-API-Key": key}).status_code == 200, 30, what="the case")
    r = httpx.post(f"{ruler}/v1/invoices/{invoice['id']}/disputes", json={"reason": "não reconheço"},
                   headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    return invoice


def test_an_integration_key_is_refused_on_every_operator_and_configuration_endpoint(platform: Platform) -> None:
    _, key = _tenant(platform, "Integra Só Ltda", "integration")
    invoice = _disputed_invoice(platform, key)
    some = uuid.uuid4()
    url = platform.stack.url
    calls = [
        ("PUT", f"{url('ruler')}/v1/rulers/default",
         {"content": RULER, "headers": {"content-type": "application/yaml"}}),
        ("POST", f"{url('ruler')}/v1/rulers/default/migrate", {"json": {}}),
        ("POST", f"{url('ruler')}/v1/invoices/{invoice['id']}/disputes/answer", {"json": {"outcome": "upheld"}}),
        ("PUT", f"{url('negotiation')}/v1/negotiation-policy", {"json": POLICY}),
        ("POST", f"{url('negotiation')}/v1/offers/{some}/accept", {}),
        ("POST", f"{url('dispatch-phone')}/v1/calls/next", {"json": {"agent_id": "anyone"}}),
        ("POST", f"{url('dispatch-phone')}/v1/calls/{some}/outcome", {"json": {"agent_id": "x", "outcome": "refused"}}),
        ("GET", f"{url('dispatch-phone')}/v1/calls/{some}", {}),
        ("PUT", f"{url('dispatch-sms')}/v1/templates/notice", {"json": {"body": "Olá {{ name }}"}}),
    ]
    for method, target, extra in calls:
        headers = {"X-API-Key": key, **extra.pop("headers", {})}
        r = httpx.request(method, target, headers=headers, timeout=30, **extra)
        assert r.status_code == 403, (method, target, r.status_code, r.text)
    # Unauthenticated is 401, and the case is untouched: still paused by the dispute.
    assert httpx.post(f"{url('ruler')}/v1/invoices/{invoice['id']}/disputes/answer",
                      json={"outcome": "upheld"}).status_code == 401
    case = httpx.get(f"{url('ruler')}/v1/invoices/{invoice['id']}/case", headers={"X-API-Key": key}).json()
    assert case["status"] == "paused"
    # The same key still integrates.
    with platform.api(key) as api:
        assert api.get(f"/v1/invoices/{invoice['id']}").status_code == 200


def test_a_staff_token_acts_and_the_audit_log_names_the_staff_member(platform: Platform) -> None:
    tenant_id, key = _tenant(platform, "Audita Bem Ltda", "integration")
    invoice = _disputed_invoice(platform, key)
    ruler = platform.stack.url("ruler")
    supervisor = platform.staff(tenant_id, "sup.marina", "supervisor")
    r = httpx.post(f"{ruler}/v1/invoices/{invoice['id']}/disputes/answer", json={"outcome": "upheld"},
                   headers=supervisor)
    assert r.status_code == 200 and r.json()["status"] == "stopped", r.text
    r = httpx.put(f"{ruler}/v1/rulers/default", content=RULER,
                  headers={**supervisor, "content-type": "application/yaml"})
    assert r.status_code == 201, r.text
    # An agent operates but does not configure.
    agent = platform.staff(tenant_id, "ag.joao", "agent")
    assert httpx.put(f"{ruler}/v1/rulers/default", content=RULER,
                     headers={**agent, "content-type": "application/yaml"}).status_code == 403
    r = httpx.put(f"{platform.stack.url('negotiation')}/v1/negotiation-policy", json=POLICY, headers=supervisor)
    assert r.status_code == 201, r.text

    rows = _audit(platform, "ruler", tenant_id)
    assert [(r["actor"], r["role"], r["action"]) for r in rows] == [
        ("sup.marina", "supervisor", "dispute.answered"), ("sup.marina", "supervisor", "ruler.saved")]
    assert rows[0]["subject"] == invoice["id"] and str(rows[0]["person_id"]) == invoice["debtor_id"]
    assert '"upheld"' in rows[0]["detail"]
    assert [(r["actor"], r["action"]) for r in _audit(platform, "negotiation", tenant_id)] == [
        ("sup.marina", "negotiation-policy.saved")]


def test_an_administration_key_configures_and_is_audited_but_does_not_operate(platform: Platform) -> None:
    tenant_id, key = _tenant(platform, "Administra Ltda", "administration")
    invoice = _disputed_invoice(platform, key)
    ruler = platform.stack.url("ruler")
    r = httpx.put(f"{ruler}/v1/rulers/default", content=RULER,
                  headers={"X-API-Key": key, "content-type": "application/yaml"})
    assert r.status_code == 201, r.text
    assert httpx.post(f"{ruler}/v1/invoices/{invoice['id']}/disputes/answer", json={"outcome": "upheld"},
                      headers={"X-API-Key": key}).status_code == 403
    assert [(r["actor"], r["role"], r["action"]) for r in _audit(platform, "ruler", tenant_id)] == [
        (f"api-key:{tenant_id}", "administration", "ruler.saved")]


def test_a_staff_token_for_one_tenant_cannot_act_on_another(platform: Platform) -> None:
    a_id, _ = _tenant(platform, "Empresa A Ltda", "integration")
    b_id, b_key = _tenant(platform, "Empresa B Ltda", "integration")
    b_invoice = _disputed_invoice(platform, b_key)
    answer = f"{platform.stack.url('ruler')}/v1/invoices/{b_invoice['id']}/disputes/answer"
    for_a = platform.staff(a_id, "sup.a", "supervisor")
    # Naming B is refused; without naming, the token acts for A, where B's invoice does not exist.
    assert httpx.post(answer, json={"outcome": "upheld"}, headers={**for_a, "X-Tenant-Id": b_id}).status_code == 403
    assert httpx.post(answer, json={"outcome": "upheld"}, headers=for_a).status_code == 409
    case = httpx.get(f"{platform.stack.url('ruler')}/v1/invoices/{b_invoice['id']}/case",
                     headers={"X-API-Key": b_key}).json()
    assert case["status"] == "paused"
    assert _audit(platform, "ruler", b_id) == []
    # A forged or expired token is refused; an agency-wide token names the tenant it acts for.
    forged = staff.issue("not-the-secret-at-all", "sup.a", "admin", "*", datetime.now(UTC) + timedelta(hours=1))
    expired = staff.issue(STAFF_TOKEN_SECRET, "sup.a", "admin", "*", datetime.now(UTC) - timedelta(seconds=1))
    for token in (forged, expired):
        r = httpx.post(answer, json={"outcome": "upheld"}, headers={"X-Staff-Token": token, "X-Tenant-Id": b_id})
        assert r.status_code == 401, r.text
    agency = platform.staff("*", "adm.carla", "admin")
    assert httpx.post(answer, json={"outcome": "upheld"}, headers=agency).status_code == 422  # which tenant?
    r = httpx.post(answer, json={"outcome": "upheld"}, headers={**agency, "X-Tenant-Id": b_id})
    assert r.status_code == 200, r.text
    assert [(r["actor"], r["role"], r["tenant_id"]) for r in _audit(platform, "ruler", b_id)] == [
        ("adm.carla", "admin", b_id)]


def test_a_ruler_version_beyond_int4_is_a_field_error_not_a_500(platform: Platform) -> None:
    _, key = _tenant(platform, "Versões Ltda", "administration")
    ruler = platform.stack.url("ruler")
    for body in ({"to_version": 2147483648}, {"to_version": 10**30}):
        r = httpx.post(f"{ruler}/v1/rulers/default/migrate", json=body, headers={"X-API-Key": key})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "to_version"
    challenger = RULER.replace("  - name: all\n", "  - name: all\n    challenger: {version: 2147483648, share: 0.5}\n")
    r = httpx.put(f"{ruler}/v1/rulers/default", content=challenger,
                  headers={"X-API-Key": key, "content-type": "application/yaml"})
    assert r.status_code == 422 and "challenger.version" in r.json()["errors"][0]["field"], r.text


def test_who_read_a_debtors_data_is_in_the_audit_log(platform: Platform) -> None:
    # LGPD: reads of a debtor's data through the APIs are recorded (who, what, which subject), not only changes.
    tenant_id, key = _tenant(platform, "Leitura Auditada Ltda", "integration")
    invoice = _disputed_invoice(platform, key)
    debtor_id = invoice["debtor_id"]
    with platform.api(key) as api:
        assert api.get(f"/v1/invoices/{invoice['id']}").status_code == 200
    history = platform.stack.url("contact-history")
    assert httpx.get(f"{history}/v1/debtors/{debtor_id}/contacts", headers={"X-API-Key": key}).status_code == 200
    negotiation = platform.stack.url("negotiation")
    assert httpx.get(f"{negotiation}/v1/debtors/{debtor_id}/agreements",
                     headers={"X-API-Key": key}).status_code == 200
    for schema, action, subject in (("ingestion", "read:invoice", invoice["id"]),
                                    ("contact_history", "read:contacts", debtor_id),
                                    ("negotiation", "read:agreements", debtor_id)):
        reads = [r for r in _audit(platform, schema, tenant_id) if r["action"] == action]
        assert [(r["actor"], r["role"], r["subject"]) for r in reads] == [
            (f"api-key:{tenant_id}", "integration", subject)], (schema, reads)
