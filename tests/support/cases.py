"""Helpers of the case-state end-to-end tests: the ruler's case API, its case events, contact facts."""

import asyncio
import uuid
from typing import Any

import httpx
from pydantic import BaseModel

from regua_contracts import topics
from regua_contracts.cases import CASE_EVENT, AnyCaseEvent
from regua_contracts.contacts import CallOutcomeRecorded
from regua_localstack.topics import produce, read_topic
from tests.support.client import Platform


def ruler_api(platform: Platform, api_key: str) -> httpx.Client:
    return httpx.Client(base_url=platform.stack.url("ruler"), headers={"X-API-Key": api_key}, timeout=30)


def case_of(platform: Platform, api_key: str, invoice_id: str) -> dict[str, Any]:
    with ruler_api(platform, api_key) as ruler:
        r = ruler.get(f"/v1/invoices/{invoice_id}/case")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def pause_reasons(platform: Platform, api_key: str, invoice_id: str) -> tuple[str, list[str]]:
    case = case_of(platform, api_key, invoice_id)
    return case["status"], [p["reason"] for p in case["pause_reasons"]]


def case_events(platform: Platform, invoice_id: str) -> list[AnyCaseEvent]:
    assert platform.stack.bootstrap
    found = [CASE_EVENT.validate_json(r["value"]) for r in asyncio.run(read_topic(platform.stack.bootstrap,
                                                                                   topics.CASES))]
    return [e for e in found if str(e.invoice_id) == invoice_id]


def publish_call(platform: Platform, event: CallOutcomeRecorded) -> None:
    """A call outcome as the phone dispatcher would record it."""
    record: BaseModel = event
    asyncio.run(produce(platform.stack.bootstrap or "", topics.CONTACTS,
                        [(str(event.debtor_id).encode(), record.model_dump_json().encode(),
                          {"x-event-type": event.type})], platform.stack.signer("dispatch-phone")))


def tenant_with_ruler(platform: Platform, name: str, steps: str) -> tuple[str, str]:
    """A new client company whose default ruler is ``steps`` (YAML list items); returns (tenant id, API key)."""
    tenant_id, api_key = platform.new_tenant(name, "11222333000181", "Rua Augusta, 500, São Paulo - SP")
    ruler = f"name: default\nsegments:\n  - name: all\n    steps:\n{steps}"
    with ruler_api(platform, api_key) as api:
        r = api.put("/v1/rulers/default", content=ruler, headers={"content-type": "application/yaml"})
        assert r.status_code == 201, r.text
    return tenant_id, api_key


def promise(tenant_id: str, case: dict[str, Any], at: Any, promise_date: Any) -> CallOutcomeRecorded:
    return CallOutcomeRecorded(occurred_at=at, tenant_id=tenant_id, step_id=uuid.uuid4(),
                               debtor_id=uuid.UUID(case["debtor_id"]), invoice_ids=[uuid.UUID(case["invoice_id"])],
                               outcome="promise_to_pay", agent_id="ag-7", called_at=at, promise_date=promise_date)
