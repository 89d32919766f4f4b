"""Contacts decided in one tick are judged against each other (pure, no I/O): the message chosen first joins
the person's history before the next step is judged; planned steps of one debtor and channel still go as one;
a landline gets no SMS or WhatsApp."""

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from regua_compliance import ContactPolicy, DebtorFacts
from regua_ruler.domain.firing import DueStep, plan_firing

NOW = datetime(2027, 3, 10, 10, tzinfo=ZoneInfo("America/Sao_Paulo"))  # a Wednesday, inside every window
POLICY = ContactPolicy()
GRACE = timedelta(days=1)
TENANT, OTHER_TENANT = "acme", "globex"
DEBTOR, OTHER_DEBTOR, PERSON = uuid.UUID(int=7), uuid.UUID(int=8), uuid.UUID(int=9)


def due(channels: tuple[str, ...], **over: Any) -> DueStep:
    fields: dict[str, Any] = dict(
        invoice_id=uuid.UUID(int=100), step_key="D+10", slot=0, channels=channels, template="negotiation",
        tone="cordial", offset_days=10, fire_at=NOW - timedelta(minutes=5), tenant_id=TENANT, debtor_id=DEBTOR,
        has_email=True, has_phone=True)
    return DueStep(**(fields | over))


FACTS = {(TENANT, DEBTOR): DebtorFacts(state="SP"), (OTHER_TENANT, OTHER_DEBTOR): DebtorFacts(state="SP")}


def test_an_agents_request_and_a_planned_whatsapp_in_one_tick_are_not_two_whatsapps() -> None:
    planned = due(("whatsapp", "sms"))
    agent = due(("whatsapp", "sms", "email"), step_key="agent:0123456789ab", fire_at=NOW)
    plan = plan_firing([agent, planned], FACTS, NOW, POLICY, GRACE)
    assert dict(plan.messages) == {(TENANT, DEBTOR, "whatsapp"): [planned]}
    assert dict(plan.one_offs) == {}
    assert plan.rescheduled == [(agent, NOW + timedelta(hours=48), "whatsapp-interval")]


def test_planned_steps_of_one_debtor_on_one_channel_still_consolidate() -> None:
    first = due(("whatsapp",))
    second = due(("whatsapp",), invoice_id=uuid.UUID(int=101))
    third = due(("whatsapp", "email"), invoice_id=uuid.UUID(int=102), step_key="D+5")
    plan = plan_firing([first, second, third], FACTS, NOW, POLICY, GRACE)
    assert {k: len(v) for k, v in plan.messages.items()} == {(TENANT, DEBTOR, "whatsapp"): 3}
    assert plan.rescheduled == []


def test_one_persons_whatsapps_from_two_creditors_in_one_tick_are_held_by_the_interval() -> None:
    mine = due(("whatsapp",), person_id=PERSON)
    theirs = due(("whatsapp",), tenant_id=OTHER_TENANT, debtor_id=OTHER_DEBTOR, invoice_id=uuid.UUID(int=200),
                 person_id=PERSON)
    plan = plan_firing([mine, theirs], FACTS, NOW, POLICY, GRACE)
    assert list(plan.messages) == [(TENANT, DEBTOR, "whatsapp")]
    assert [(s.tenant_id, rule) for s, _, rule in plan.rescheduled] == [(OTHER_TENANT, "whatsapp-interval")]
    # Without a common person, each creditor's debtor is judged alone.
    plan = plan_firing([due(("whatsapp",)), due(("whatsapp",), tenant_id=OTHER_TENANT, debtor_id=OTHER_DEBTOR)],
                       FACTS, NOW, POLICY, GRACE)
    assert len(plan.messages) == 2


def test_the_eighth_call_of_a_tick_is_held_by_the_cap() -> None:
    calls = [due(("phone",), invoice_id=uuid.UUID(int=300 + n), tenant_id=f"t{n}", debtor_id=uuid.UUID(int=400 + n),
                 person_id=PERSON) for n in range(8)]
    facts = {(c.tenant_id, c.debtor_id): DebtorFacts(state="SP") for c in calls}
    plan = plan_firing(calls, facts, NOW, POLICY, GRACE)
    assert len(plan.messages) == 7
    assert [rule for _, _, rule in plan.rescheduled] == ["call-cap"]


def test_a_landline_makes_sms_and_whatsapp_unusable() -> None:
    step = due(("sms", "whatsapp", "email"), has_mobile=False)
    plan = plan_firing([step], FACTS, NOW, POLICY, GRACE)
    assert list(plan.messages) == [(TENANT, DEBTOR, "email")]
    text_only = due(("sms", "whatsapp"), has_mobile=False)
    plan = plan_firing([text_only], FACTS, NOW, POLICY, GRACE)
    assert plan.skipped == [(text_only, "sms: not a mobile; whatsapp: not a mobile")]
