"""The phone channel: no robot call. Commands become tasks in the agents' queue (largest and latest debt
first, within the call caps); agents take calls and record outcomes through the API."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from regua_contracts import topics
from regua_contracts.contacts import CONTACT_REQUESTED, CallOutcomeRecorded, ContactInvalidated
from regua_dispatch_phone.schemas import CallView
from regua_localstack.topics import read_topic
from tests.support.channels import (
    at_local,
    next_monday,
    of_type,
    register,
    tenant_with_ruler,
    unique_phone,
)
from tests.support.client import Platform, eventually
from tests.support.models import declared

STEPS = """\
      - {key: D+1, offset_days: 1, send: [phone], template: agent_call, tone: cordial}
      - {key: D+20, offset_days: 20, send: [sms], template: negotiation, tone: firm}
"""


def phone_steps(platform: Platform, tenant_id: str) -> list[str]:
    assert platform.stack.bootstrap
    commands = [CONTACT_REQUESTED.validate_json(r["value"])
                for r in asyncio.run(read_topic(platform.stack.bootstrap, topics.contact_commands("phone")))]
    return [str(c.step_id) for c in commands if c.tenant_id == tenant_id]


def test_agents_work_the_queue_by_priority_and_record_outcomes(platform: Platform) -> None:
    key = tenant_with_ruler(platform, "Provedor Conecta Fibra", STEPS, services=("dispatch-phone",))
    due = next_monday(platform)
    big = register(platform, key, due, 200_000, phone=unique_phone(), name="Bruno Lima")
    small = register(platform, key, due, 20_000, phone=unique_phone(), name="Carla Dias")
    middle_phone = unique_phone()
    middle = register(platform, key, due, 50_000, phone=middle_phone, name="Diego Nunes",
                      document="52998224725")
    later = register(platform, key, due + timedelta(days=1), 50_000, phone=middle_phone, name="Diego Nunes",
                     document="52998224725")  # the same debtor: a call tomorrow would fall in the quiet period
    smallest = register(platform, key, due, 10_000, phone=unique_phone(), name="Elisa Rocha")
    assert later["debtor_id"] == middle["debtor_id"]
    tenant_id = httpx.get(f"{platform.stack.url('dispatch-phone')}/v1/ping", headers={"X-API-Key": key}).json()[
        "tenant_id"]

    platform.set_clock(at_local(due + timedelta(days=1)))
    eventually(lambda: len(phone_steps(platform, tenant_id)) == 4, 30, what="four phone commands")
    calls = httpx.Client(base_url=f"{platform.stack.url('dispatch-phone')}/v1/calls", headers=platform.operator(key))
    for step in phone_steps(platform, tenant_id):
        eventually(lambda s=step: calls.get(f"/{s}").status_code == 200, 30, what="the call to be queued")

    def agent(staff_id: str) -> dict[str, str]:
        return platform.operator(key, staff_id)  # the staff token names the agent, never the body

    def take(staff_id: str = "ag-7") -> dict[str, Any]:
        r = calls.post("/next", headers=agent(staff_id))
        assert r.status_code == 200, r.text
        task: dict[str, Any] = r.json()
        declared(CallView, task)
        return task

    first = take()
    assert (first["debtor_id"], first["total_cents"], first["days_overdue"]) == (big["debtor_id"], 200_000, 1)
    assert "Provedor Conecta Fibra, CNPJ 11.222.333/0001-81" in first["script_parts"]["confirmed"]
    assert "Provedor Conecta Fibra" not in first["script_parts"]["opening"]  # not before who answered is confirmed
    promise = (due + timedelta(days=6)).isoformat()
    r = calls.post(f"/{first['call_id']}/outcome", headers=agent("ag-7"), json={
        "outcome": "promise_to_pay", "promise_date": promise, "promise_amount_cents": 200_000})
    assert r.status_code == 200 and declared(CallView, r.json()).status == "done", r.text
    again = calls.post(f"/{first['call_id']}/outcome", headers=agent("ag-7"), json={"outcome": "refused"})
    assert again.status_code == 409
    bad = calls.post(f"/{first['call_id']}/outcome", headers=agent("ag-7"), json={"outcome": "promise_to_pay"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "promise_date"

    second = take()
    assert second["debtor_id"] == middle["debtor_id"]
    assert calls.post(f"/{second['call_id']}/outcome", headers=agent("ag-7"), json={"outcome": "conversation_held"}
                      ).status_code == 200
    third = take()
    assert third["debtor_id"] == small["debtor_id"]
    assert calls.post(f"/{third['call_id']}/outcome", headers=agent("ag-7"), json={"outcome": "wrong_number"}
                      ).status_code == 200
    fourth = take("ag-9")
    assert fourth["debtor_id"] == smallest["debtor_id"]
    wrong_agent = calls.post(f"/{fourth['call_id']}/outcome", headers=agent("ag-7"), json={"outcome": "no_answer"})
    assert wrong_agent.status_code == 409
    callback = platform.now() + timedelta(hours=2)
    r = calls.post(f"/{fourth['call_id']}/outcome", headers=agent("ag-9"),
                   json={"outcome": "callback", "callback_at": callback.isoformat()})
    assert r.status_code == 200 and r.json()["status"] == "queued", r.text
    assert calls.post("/next", headers=agent("ag-7")).status_code == 204  # the callback is for later

    # The promise pauses the case until the day after the promised date; wrong number invalidates the phone.
    ruler = httpx.Client(base_url=platform.stack.url("ruler"), headers={"X-API-Key": key})
    outcomes = eventually(lambda: of_type(platform, big["debtor_id"], "call.outcome-recorded.v1"), 30)
    eventually(lambda: ruler.get(f"/v1/invoices/{big['id']}/case").json()["status"] == "paused", 30,
               what="the promise to pause the case")
    assert isinstance(outcomes[0], CallOutcomeRecorded) and outcomes[0].promise_amount_cents == 200_000
    invalidated = eventually(lambda: of_type(platform, small["debtor_id"], "contact.invalidated.v1"), 30)[0]
    assert isinstance(invalidated, ContactInvalidated) and invalidated.contact == "phone"

    # Tomorrow the same debtor's other invoice is due for a call: the 7 days after a conversation hold it.
    # Only the callback booked yesterday is due now (the queue follows the ruler's clock): taken, nothing else.
    platform.set_clock(at_local(due + timedelta(days=2)))
    platform.wait_no_due_steps()
    back: dict[str, Any] = eventually(
        lambda: (r := calls.post("/next", headers=agent("ag-9"))).status_code == 200 and r.json(), 30,
        what="the callback to come due")
    assert (back["debtor_id"], back["call_id"]) == (smallest["debtor_id"], fourth["call_id"])
    assert calls.post("/next", headers=agent("ag-7")).status_code == 204

    other_key = tenant_with_ruler(platform, "Outra Empresa Ltda", STEPS, services=("dispatch-phone",))
    other = httpx.Client(base_url=f"{platform.stack.url('dispatch-phone')}/v1/calls",
                         headers=platform.operator(other_key))
    assert other.get(f"/{first['call_id']}").status_code == 404
    assert other.post("/next", headers=platform.operator(other_key, "ag-1")).status_code == 204
