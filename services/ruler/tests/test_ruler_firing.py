"""Firing due slots: late slots are dropped, each slot goes through the gate on its fallback order,
and what goes out to one debtor on one channel is one message (pure, no I/O)."""

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from regua_compliance import ContactPolicy, DebtorFacts, PastContact
from regua_ruler.domain.firing import DueStep, answer_channels, confirmation_channel, plan_firing, representative

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
POLICY = ContactPolicy()
GRACE = timedelta(days=1)
TENANT = "acme"
DEBTOR = uuid.UUID(int=7)
INVOICE = uuid.UUID(int=100)


def sp(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SAO_PAULO)


NOW = sp(2027, 3, 10, 10)  # Wednesday, inside every window


def due(channels: tuple[str, ...] = ("email",), **over: Any) -> DueStep:
    fields: dict[str, Any] = dict(
        invoice_id=INVOICE, step_key="D+1", slot=0, channels=channels, template="notice", tone="informative",
        offset_days=1, fire_at=NOW - timedelta(minutes=5), tenant_id=TENANT, debtor_id=DEBTOR, has_email=True,
        has_phone=True,
    )
    return DueStep(**(fields | over))


def facts(**kw: Any) -> dict[tuple[str, uuid.UUID], DebtorFacts]:
    return {(TENANT, DEBTOR): DebtorFacts(state="SP", **kw)}


def test_an_allowed_slot_becomes_a_message() -> None:
    step = due()
    plan = plan_firing([step], facts(), NOW, POLICY, GRACE)
    assert dict(plan.messages) == {(TENANT, DEBTOR, "email"): [step]}
    assert plan.rescheduled == [] and plan.skipped == []


def test_a_slot_late_beyond_the_grace_is_skipped() -> None:
    late = due(fire_at=NOW - GRACE - timedelta(seconds=1))
    just_in_time = due(step_key="D+5", fire_at=NOW - GRACE)
    plan = plan_firing([late, just_in_time], facts(), NOW, POLICY, GRACE)
    assert plan.skipped == [(late, "late beyond grace")]
    assert dict(plan.messages) == {(TENANT, DEBTOR, "email"): [just_in_time]}


def test_late_slots_are_skipped_even_when_the_gate_would_block_them() -> None:
    late = due(fire_at=NOW - timedelta(days=3))
    plan = plan_firing([late], facts(opted_out=frozenset({"email"})), NOW, POLICY, GRACE)
    assert plan.skipped == [(late, "late beyond grace")]


def test_the_first_usable_channel_of_the_fallback_order_wins() -> None:
    step = due(("sms", "whatsapp", "email"))
    plan = plan_firing([step], facts(), NOW, POLICY, GRACE)
    assert list(plan.messages) == [(TENANT, DEBTOR, "sms")]


def test_a_channel_blocked_forever_falls_back_to_the_next() -> None:
    step = due(("sms", "whatsapp", "email"))
    plan = plan_firing([step], facts(opted_out=frozenset({"sms"})), NOW, POLICY, GRACE)
    assert list(plan.messages) == [(TENANT, DEBTOR, "whatsapp")]
    plan = plan_firing([step], facts(invalid_contacts=frozenset({"phone"})), NOW, POLICY, GRACE)
    assert list(plan.messages) == [(TENANT, DEBTOR, "email")]
    plan = plan_firing([due(("sms", "whatsapp", "email"), has_phone=False)], facts(), NOW, POLICY, GRACE)
    assert list(plan.messages) == [(TENANT, DEBTOR, "email")]


def test_when_every_channel_is_blocked_forever_the_slot_is_skipped_with_all_reasons() -> None:
    step = due(("sms", "whatsapp", "email"), has_email=False)
    plan = plan_firing([step], facts(opted_out=frozenset({"sms"}), invalid_contacts=frozenset({"phone"})),
                       NOW, POLICY, GRACE)
    assert plan.skipped == [(step, "sms: opt-out; whatsapp: invalid-contact; email: no contact")]
    assert not plan.messages and not plan.rescheduled


def test_a_channel_blocked_until_later_reschedules_instead_of_falling_back() -> None:
    history = (PastContact("whatsapp", NOW - timedelta(hours=20)),)
    step = due(("whatsapp", "sms"))
    plan = plan_firing([step], facts(history=history), NOW, POLICY, GRACE)
    assert plan.rescheduled == [(step, NOW + timedelta(hours=28), "whatsapp-interval")]
    assert not plan.messages and not plan.skipped


def test_a_later_channel_blocked_until_later_reschedules_after_earlier_ones_blocked_forever() -> None:
    history = tuple(PastContact("phone", NOW - timedelta(hours=h)) for h in range(1, 8))
    step = due(("sms", "phone", "email"))
    plan = plan_firing([step], facts(opted_out=frozenset({"sms"}), history=history), NOW, POLICY, GRACE)
    assert plan.rescheduled == [(step, sp(2027, 3, 17, 8), "call-cap")]  # the 7th call back leaves at 03:00


def test_outside_the_hours_the_slot_waits_for_the_window() -> None:
    sunday = sp(2027, 3, 14, 10)
    step = due(("email",), fire_at=sunday - timedelta(hours=1))
    plan = plan_firing([step], facts(), sunday, POLICY, GRACE)
    assert plan.rescheduled == [(step, sp(2027, 3, 15, 8), "no-contact-day")]
    evening = sp(2027, 3, 10, 21)
    plan = plan_firing([due(fire_at=evening)], facts(), evening, POLICY, GRACE)
    assert plan.rescheduled[0][1:] == (sp(2027, 3, 11, 8), "contact-hours")


def test_the_debtors_state_decides_the_hours() -> None:
    at = sp(2027, 3, 10, 19, 30)
    assert plan_firing([due(fire_at=at)], facts(), at, POLICY, GRACE).messages  # SP: open until 20:00
    es = {(TENANT, DEBTOR): DebtorFacts(state="ES")}
    assert plan_firing([due(fire_at=at)], es, at, POLICY, GRACE).rescheduled[0][1:] == \
        (sp(2027, 3, 11, 8), "contact-hours")


def test_a_debtor_without_facts_gets_the_defaults() -> None:
    step = due(("sms",))
    assert list(plan_firing([step], {}, NOW, POLICY, GRACE).messages) == [(TENANT, DEBTOR, "sms")]


def test_one_message_per_tenant_debtor_and_channel() -> None:
    other_invoice = uuid.UUID(int=101)
    other_debtor = uuid.UUID(int=8)
    a = due(("email",))
    b = due(("email",), invoice_id=other_invoice, step_key="D+5", offset_days=5)
    c = due(("sms",), invoice_id=other_invoice, step_key="D+5", slot=1, offset_days=5)
    d = due(("email",), debtor_id=other_debtor)
    e = due(("email",), tenant_id="other-tenant")
    plan = plan_firing([a, b, c, d, e], facts(), NOW, POLICY, GRACE)
    assert dict(plan.messages) == {
        (TENANT, DEBTOR, "email"): [a, b],
        (TENANT, DEBTOR, "sms"): [c],
        (TENANT, other_debtor, "email"): [d],
        ("other-tenant", DEBTOR, "email"): [e],
    }


def test_every_due_slot_has_exactly_one_outcome() -> None:
    history = (PastContact("whatsapp", NOW - timedelta(hours=1)),)
    steps = [due(("email",)), due(("whatsapp",), slot=1), due(("sms",), slot=2, fire_at=NOW - timedelta(days=2)),
             due(("phone",), slot=3, has_phone=False)]
    plan = plan_firing(steps, facts(history=history), NOW, POLICY, GRACE)
    outcomes = [s for group in plan.messages.values() for s in group] + [s for s, _, _ in plan.rescheduled] + \
        [s for s, _ in plan.skipped]
    assert sorted(outcomes, key=lambda s: s.slot) == steps


def test_the_most_advanced_step_speaks_for_a_consolidated_message() -> None:
    d1 = due(step_key="D+1", offset_days=1, template="notice")
    d10 = due(step_key="D+10", offset_days=10, template="negotiation", tone="cordial")
    d5 = due(step_key="D+5", offset_days=5)
    assert representative([d1, d10, d5]) == d10
    assert representative([d5]) == d5


def answer(channels: tuple[str, ...] = ("whatsapp", "sms", "email"), **over: Any) -> DueStep:
    fields: dict[str, Any] = dict(step_key="answer:0123456789ab", template="negotiation", tone="cordial",
                                  offset_days=9, fire_at=NOW)
    return due(channels, **(fields | over))


def test_an_answer_to_the_debtors_request_is_not_held_by_the_channel_interval() -> None:
    history = (PastContact("whatsapp", NOW - timedelta(hours=2)),)
    step = answer()
    plan = plan_firing([step], facts(history=history), NOW, POLICY, GRACE)
    assert dict(plan.one_offs) == {(TENANT, DEBTOR, "whatsapp"): [step]} and not plan.messages
    planned = due(("whatsapp",), step_key="D+10", template="negotiation")  # a planned step still waits
    assert plan_firing([planned], facts(history=history), NOW, POLICY, GRACE).rescheduled[0][2] == "whatsapp-interval"
    agents = answer(step_key="agent:0123456789ab")  # an agent's request is the agency's initiative: it waits too
    assert plan_firing([agents], facts(history=history), NOW, POLICY, GRACE).rescheduled[0][2] == "whatsapp-interval"


def test_an_answer_still_obeys_opt_outs_and_hours() -> None:
    plan = plan_firing([answer()], facts(opted_out=frozenset({"whatsapp"})), NOW, POLICY, GRACE)
    assert list(plan.one_offs) == [(TENANT, DEBTOR, "sms")]  # the next channel of the answer
    evening = sp(2027, 3, 10, 21)
    plan = plan_firing([answer(fire_at=evening)], facts(), evening, POLICY, GRACE)
    assert plan.rescheduled[0][1:] == (sp(2027, 3, 11, 8), "contact-hours") and not plan.one_offs


def test_an_answer_goes_first_on_the_channel_the_debtor_wrote_on() -> None:
    assert answer_channels("sms") == ["sms", "whatsapp", "email"]
    assert answer_channels("whatsapp") == ["whatsapp", "sms", "email"]
    assert answer_channels("phone") == ["whatsapp", "sms", "email"]  # an agent's request: text channels only


def test_an_answer_is_never_merged_into_a_planned_steps_message() -> None:
    bureau = due(("email",), step_key="D+30", offset_days=30, template="bureau_notice", tone="firm")
    reply = answer(("email",), offset_days=30)
    plan = plan_firing([bureau, reply], facts(), NOW, POLICY, GRACE)
    assert dict(plan.messages) == {(TENANT, DEBTOR, "email"): [bureau]}  # the notice speaks for itself
    assert dict(plan.one_offs) == {(TENANT, DEBTOR, "email"): [reply]}


def test_an_agreement_is_confirmed_where_the_debtor_accepted_it_else_by_email_else_sms() -> None:
    assert confirmation_channel("whatsapp", has_email=True, has_phone=True) == "whatsapp"
    assert confirmation_channel("sms", has_email=True, has_phone=False) == "email"  # no phone any more
    assert confirmation_channel(None, has_email=True, has_phone=True) == "email"  # agent or page
    assert confirmation_channel(None, has_email=False, has_phone=True) == "sms"
    assert confirmation_channel("whatsapp", has_email=False, has_phone=False) is None
