"""Helpers of the negotiation end-to-end tests: the negotiation API, both simulated clocks, Kafka facts."""

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel

from regua_contracts import topics
from regua_contracts.contacts import DebtorReplied, NegotiationRequested
from regua_localstack.portfolio import cpf
from regua_localstack.topics import produce
from tests.support.client import Platform, eventually

SP = ZoneInfo("America/Sao_Paulo")
#: Fine and interest waived, up to two installments: the agreement totals the invoice, so the creditor
#: can record each installment as a partial payment of it.
POLICY = {"discounts": [{"fine_pct": 100, "interest_pct": 100}], "max_installments": 2,
          "min_installment_cents": 1000, "break_tolerance_days": 3, "pix_key": "pix@otica.example",
          "merchant_name": "Ótica Visão Clara", "merchant_city": "São Paulo"}


def at(day: date, hour: int = 10, minute: int = 1) -> datetime:
    return datetime.combine(day, time(hour, minute), SP).astimezone(UTC)


def negotiation_api(platform: Platform, api_key: str) -> httpx.Client:
    return httpx.Client(base_url=platform.stack.url("negotiation"), headers={"X-API-Key": api_key}, timeout=30)


def set_clocks(platform: Platform, now: datetime) -> datetime:
    """Moves the ruler's and negotiation's simulated clocks together (never backwards)."""
    now = max(now, platform.now())
    platform.set_clock(now)
    r = httpx.post(f"{platform.stack.url('negotiation')}/admin/clock", headers=platform.admin,
                   json={"now": now.isoformat()})
    assert r.status_code in (200, 422), r.text  # 422: negotiation's clock is already later
    return now


def new_tenant(platform: Platform, name: str) -> tuple[str, str]:
    """A tenant known to negotiation, with the test policy saved; returns (tenant id, API key)."""
    tenant_id, api_key = platform.new_tenant(name, "11222333000181")
    platform.wait_tenant_known("negotiation", api_key)
    with negotiation_api(platform, api_key) as neg:
        assert neg.put("/v1/negotiation-policy", json=POLICY).status_code == 201
    return tenant_id, api_key


def register(platform: Platform, api_key: str, email: str, due: date, cents: int, n: int = 1) -> dict[str, Any]:
    with platform.api(api_key) as api:
        r = api.post("/v1/invoices", json={
            "external_id": f"NEG-{uuid.uuid4().hex[:6]}-{n}", "amount_cents": cents, "due_date": due.isoformat(),
            "debtor": {"document": cpf(random.Random(email)), "name": "Ana Beatriz Souza", "email": email,
                       "state": "SP"}})
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body


def offers(platform: Platform, api_key: str, debtor_id: str) -> list[dict[str, Any]]:
    with negotiation_api(platform, api_key) as neg:
        r = neg.get(f"/v1/debtors/{debtor_id}/offers")
        if r.status_code == 404:
            return []
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = r.json()["offers"]
        return found


def wait_offers(platform: Platform, api_key: str, debtor_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = eventually(lambda: offers(platform, api_key, debtor_id), 30,
                                             what="negotiation to know the debtor's invoices")
    return found


def agreements(platform: Platform, api_key: str, debtor_id: str) -> list[dict[str, Any]]:
    with negotiation_api(platform, api_key) as neg:
        found: list[dict[str, Any]] = neg.get(f"/v1/debtors/{debtor_id}/agreements").json()["agreements"]
        return found


def case_status(platform: Platform, api_key: str, invoice_id: str) -> tuple[str, str | None]:
    r = httpx.get(f"{platform.stack.url('ruler')}/v1/invoices/{invoice_id}/case", headers={"X-API-Key": api_key})
    if r.status_code != 200:
        return "", None
    case = r.json()
    return case["status"], case.get("pause_reason") or case.get("stop_reason")


def publish_contact_fact(platform: Platform, event: NegotiationRequested | DebtorReplied) -> None:
    record: BaseModel = event
    asyncio.run(produce(platform.stack.bootstrap or "", topics.CONTACTS,
                        [(str(event.debtor_id).encode(), record.model_dump_json().encode(),
                          {"x-event-type": event.type})], platform.stack.signer("dispatch-whatsapp")))


def days(n: int) -> timedelta:
    return timedelta(days=n)
