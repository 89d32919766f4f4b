"""Internal topics are no trust root (issue 14): anyone who can produce to a topic cannot make a service act.
Forged records (unsigned, signed with a wrong key, or signed by a real service that may not produce the topic)
are dead-lettered with the reason; a tenant's API key changes only by an explicit, admin-only rotation."""

import asyncio
import hashlib
import random
import uuid
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaProducer

from regua_contracts import topics
from regua_contracts.common import Creditor
from regua_contracts.invoices import PaymentRecorded
from regua_contracts.tenants import TenantRegistered
from regua_localstack.portfolio import cpf
from regua_localstack.topics import read_topic
from regua_platform.signing import Signer, new_key_pair, signer_from
from tests.support.cases import case_of
from tests.support.channels import wait_consumed
from tests.support.client import Platform, eventually

# Services that keep a copy of the tenants (and their key hashes) and the path each authenticates.
REPLICAS = {"ruler": "/v1/rulers/default", "negotiation": "/v1/negotiation-policy",
            "contact-history": f"/v1/debtors/{uuid.uuid4()}/contacts", "dispatch-sms": "/v1/ping"}


def _forger(service: str) -> Signer:
    """Signs as ``service`` claims to be, with a key nobody trusts."""
    signer = signer_from(service, new_key_pair()[0])
    assert signer is not None
    return signer


def _send(platform: Platform, topic: str, key: str, value: bytes, event_type: str,
          signers: list[Signer | None]) -> None:
    """The same record once per signer (None: unsigned), as an attacker with produce rights would."""
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=platform.stack.bootstrap)
        await producer.start()
        try:
            for signer in signers:
                headers = {"x-event-type": event_type}
                if signer is not None:
                    headers = signer.headers(topic, key.encode(), value, headers)
                await producer.send_and_wait(topic, value, key=key.encode(),
                                             headers=[(k, v.encode()) for k, v in headers.items()])
        finally:
            await producer.stop()

    asyncio.run(send())


def _dead_letter_reasons(platform: Platform, topic: str, key: str) -> set[str]:
    assert platform.stack.bootstrap
    return {r["headers"]["x-dlq-reason"] for r in asyncio.run(read_topic(platform.stack.bootstrap,
                                                                        topics.dead_letter(topic)))
            if r["key"] == key.encode()}


def test_a_forged_payment_is_dead_lettered_and_collection_goes_on(platform: Platform) -> None:
    tenant_id, api_key = platform.new_tenant("Ótica Visão Clara Ltda", "11222333000181")
    email = f"vitima.{uuid.uuid4().hex[:10]}@example.com"
    due = platform.due_date_for((1,), after_days=8)
    with platform.api(api_key) as api:
        r = api.post("/v1/invoices", json={
            "external_id": "NF-F1", "amount_cents": 150_000, "due_date": due.isoformat(),
            "debtor": {"document": cpf(random.Random(41)), "name": "Ana Forjada", "email": email, "state": "SP"}})
        assert r.status_code == 201, r.text
        invoice = r.json()
    eventually(lambda: httpx.get(f"{platform.stack.url('ruler')}/v1/invoices/{invoice['id']}/case",
                                 headers={"X-API-Key": api_key}).status_code == 200, 30, what="the case")

    fake = PaymentRecorded(occurred_at=datetime.now(UTC), tenant_id=tenant_id,
                           invoice_id=invoice["id"], debtor_id=invoice["debtor_id"], amount_cents=150_000,
                           paid_at=datetime.now(UTC), outstanding_cents=0)
    _send(platform, topics.INVOICES, invoice["id"], fake.model_dump_json().encode(), fake.type,
          [None, _forger("ingestion"), platform.stack.signer("dispatch-sms")])

    expected = {"untrusted producer: the record is not signed",
                "untrusted producer: invalid signature for 'ingestion'",
                "untrusted producer: 'dispatch-sms' may not produce regua.invoices.v1"}
    eventually(lambda: _dead_letter_reasons(platform, topics.INVOICES, invoice["id"]) == expected, 60,
               what="the three forged payments dead-lettered with their reasons")
    for group in ("ruler", "negotiation-invoices", "contact-history-debtors", "credit"):
        wait_consumed(platform, group, topics.INVOICES, timeout=60)  # every consumer has passed them
    case = case_of(platform, api_key, invoice["id"])
    assert case["status"] == "active", case
    assert [m for m in platform.mail_to(email) if m["step"] == "thank-you"] == []
    with platform.api(api_key) as api:
        assert api.get(f"/v1/invoices/{invoice['id']}").json()["status"] == "open"

        # The real payment, signed by ingestion, still stops the case and thanks the debtor, once.
        assert api.post(f"/v1/invoices/{invoice['id']}/payments", json={"amount_cents": 150_000}).status_code == 201
    eventually(lambda: case_of(platform, api_key, invoice["id"])["status"] == "stopped", 30, what="the real stop")
    eventually(lambda: [m["step"] for m in platform.mail_to(email)] == ["thank-you"], 30, what="one thank-you")


def _authenticates(platform: Platform, service: str, api_key: str) -> bool:
    r = httpx.get(f"{platform.stack.url(service)}{REPLICAS[service]}", headers={"X-API-Key": api_key}, timeout=30)
    return r.status_code != 401


def test_a_forged_tenant_registration_does_not_replace_the_key(platform: Platform) -> None:
    tenant_id, real_key = platform.new_tenant("Padaria Pão Quente Ltda", "11222333000181")
    for service in REPLICAS:
        platform.wait_tenant_known(service, real_key)
    attacker_key = f"rk_{uuid.uuid4().hex}"
    forged = TenantRegistered(
        occurred_at=datetime.now(UTC), tenant_id=tenant_id,
        creditor=Creditor(name="Padaria Pão Quente Ltda", cnpj="11222333000181", address="Rua Falsa, 1"),
        api_key_sha256=hashlib.sha256(attacker_key.encode()).hexdigest())
    # Unsigned; "ingestion" with a wrong key; the ruler's real key (not a producer of tenants); and even
    # ingestion's own key (a replayed or buggy registration): a known tenant's key changes only by rotation.
    _send(platform, topics.TENANTS, tenant_id, forged.model_dump_json().encode(), forged.type,
          [None, _forger("ingestion"), platform.stack.signer("ruler"), platform.stack.signer("ingestion")])
    expected = {"untrusted producer: the record is not signed",
                "untrusted producer: invalid signature for 'ingestion'",
                "untrusted producer: 'ruler' may not produce regua.tenants.v1",
                f"tenant {tenant_id} is registered with another API key: a key changes only by rotation"}
    eventually(lambda: _dead_letter_reasons(platform, topics.TENANTS, tenant_id) == expected, 60,
               what="the forged registrations dead-lettered with their reasons")
    for service in REPLICAS:
        wait_consumed(platform, f"{service}-tenants", topics.TENANTS, timeout=60)
        assert _authenticates(platform, service, real_key), service
        assert not _authenticates(platform, service, attacker_key), service


def test_a_key_changes_by_an_admin_rotation_everywhere(platform: Platform) -> None:
    tenant_id, old_key = platform.new_tenant("Academia Corpo São Ltda", "11444777000161")
    rotate = f"{platform.stack.url('ingestion')}/admin/tenants/{tenant_id}/api-key/rotate"
    assert httpx.post(rotate, headers={"X-Admin-Token": "wrong-token"}).status_code == 401
    assert httpx.post(rotate, headers={"X-API-Key": old_key}).status_code == 401  # a tenant cannot rotate
    assert httpx.post(f"{platform.stack.url('ingestion')}/admin/tenants/tn_nobody/api-key/rotate",
                      headers=platform.admin).status_code == 404
    r = httpx.post(rotate, headers=platform.admin)
    assert r.status_code == 200, r.text
    new_key = r.json()["api_key"]
    assert new_key != old_key
    with platform.api(new_key) as api:
        assert api.get("/v1/invoices").status_code == 200
    with platform.api(old_key) as api:
        assert api.get("/v1/invoices").status_code == 401
    for service in REPLICAS:
        eventually(lambda s=service: _authenticates(platform, s, new_key)  # type: ignore[misc]
                   and not _authenticates(platform, s, old_key), 30, what=f"{service} to take the new key")
