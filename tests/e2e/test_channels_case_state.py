"""Case state reaches every channel: the dispatchers keep the state of the cases from regua.cases.v1 and
collection stops where it must. A paid debtor's queued call is withdrawn and never offered to an agent; a
command about a disputed (paused) case is suppressed with the reason; a message held until contact hours is
withdrawn when its case stops."""

import time
from datetime import timedelta

import httpx

from tests.support.channels import register, tenant_with_ruler, unique_phone
from tests.support.client import Platform, eventually
from tests.support.dispatch import (
    attempts_of,
    cases_read,
    dispatched,
    invoice_summary,
    late_command,
    local,
    tenant_id_of,
    wait_attempt,
    working_day_before_working_day,
)
from tests.support.providers import Providers

CALL = "      - {key: D+1, offset_days: 1, send: [phone], template: agent_call, tone: cordial}\n"
LATER_SMS = "      - {key: D+40, offset_days: 40, send: [sms], template: notice, tone: informative}\n"


def test_a_paid_debtors_queued_call_is_withdrawn_and_never_offered_to_an_agent(platform: Platform) -> None:
    key = tenant_with_ruler(platform, "Clínica Sorriso Ltda", CALL, services=("dispatch-phone",))
    day = working_day_before_working_day(platform)
    invoice = register(platform, key, day - timedelta(days=1), 88_000, phone=unique_phone())
    platform.set_clock(local(day, 10, 1))
    calls = httpx.Client(base_url=f"{platform.stack.url('dispatch-phone')}/v1/calls", headers=platform.operator(key))
    dispatched(platform, "phone")
    with platform.api(key) as api:
        r = api.post(f"/v1/invoices/{invoice['id']}/payments", json={"amount_cents": 88_000})
        assert r.status_code == 201, r.text
    withdrawn = wait_attempt(platform, invoice["debtor_id"], channel="phone")  # the thank-you may come first
    assert (withdrawn.channel, withdrawn.outcome, withdrawn.reason) == ("phone", "suppressed", "case stopped: paid")
    assert calls.get(f"/{withdrawn.step_id}").json()["status"] == "cancelled"
    assert calls.post("/next").status_code == 204  # nothing for this tenant's agents
    platform.set_clock(local(day + timedelta(days=2), 10))
    assert calls.post("/next").status_code == 204


def test_a_late_command_about_a_disputed_case_is_suppressed_with_the_reason(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key = tenant_with_ruler(platform, "Escola Aprender Ltda", LATER_SMS, services=("dispatch-sms",))
    tenant_id = tenant_id_of(platform, "dispatch-sms", key)
    day = working_day_before_working_day(platform)
    phone = unique_phone()
    invoice = register(platform, key, day - timedelta(days=3), 31_000, phone=phone)
    platform.set_clock(local(day, 11))
    r = httpx.post(f"{platform.stack.url('ruler')}/v1/invoices/{invoice['id']}/disputes",
                   json={"reason": "não reconheço esta dívida"}, headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    eventually(lambda: httpx.get(f"{platform.stack.url('ruler')}/v1/invoices/{invoice['id']}/case",
                                 headers={"X-API-Key": key}).json()["status"] == "paused", 30)
    cases_read(platform, "sms", invoice["id"], "case.paused.v1")
    # A notice planned before the dispute, delivered only now (a backlog): not sent.
    command = late_command(platform, tenant_id, "sms", phone, debtor_id=invoice["debtor_id"],
                           invoices=[invoice_summary(invoice)])
    attempt = wait_attempt(platform, invoice["debtor_id"], command.step_id)
    assert (attempt.outcome, attempt.reason) == ("suppressed", "case paused: dispute")
    assert providers.received("sms", phone) == []


def test_a_message_held_until_the_morning_is_withdrawn_when_its_case_stops(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key = tenant_with_ruler(platform, "Oficina Motor Bom Ltda", LATER_SMS, services=("dispatch-sms",))
    tenant_id = tenant_id_of(platform, "dispatch-sms", key)
    day = working_day_before_working_day(platform)
    phone = unique_phone()
    invoice = register(platform, key, day - timedelta(days=3), 27_500, phone=phone)  # no e-mail: thanks by SMS
    platform.set_clock(local(day, 23, 30))
    command = late_command(platform, tenant_id, "sms", phone, debtor_id=invoice["debtor_id"],
                           invoices=[invoice_summary(invoice)])
    dispatched(platform, "sms")
    time.sleep(1.0)
    assert providers.received("sms", phone) == [] and attempts_of(platform, invoice["debtor_id"]) == []

    with platform.api(key) as api:
        assert api.post(f"/v1/invoices/{invoice['id']}/payments", json={"amount_cents": 27_500}).status_code == 201
    withdrawn = wait_attempt(platform, invoice["debtor_id"], command.step_id)
    assert (withdrawn.outcome, withdrawn.reason) == ("suppressed", "case stopped: paid")

    platform.set_clock(local(day + timedelta(days=1), 8, 0))
    # The thank-you goes in the morning; the withdrawn notice never does.
    eventually(lambda: providers.received("sms", phone), 30, what="the thank-you")
    time.sleep(1.0)
    assert len(providers.received("sms", phone)) == 1
    assert [(a.step_key, a.outcome) for a in attempts_of(platform, invoice["debtor_id"])
            if a.step_id != command.step_id] == [("thank-you", "sent")]
    assert [a.outcome for a in attempts_of(platform, invoice["debtor_id"], command.step_id)] == ["suppressed"]
