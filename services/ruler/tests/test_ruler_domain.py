"""The ruler's pure rules against the default ruler: plan, timing, skips, idempotency keys (unit, no I/O)."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from regua_ruler.domain import (
    PlannedStep,
    RulerDefinition,
    Schedule,
    is_too_late,
    plan_case,
    step_id,
    thank_you_channel,
)
from regua_ruler.store import DEFAULT_RULER

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
SCHEDULE = Schedule(SAO_PAULO, send_hour=10, late_grace=timedelta(days=1))
INVOICE = uuid.UUID("0b6f3c1e-2d4a-4f7e-9c1b-8a2d3e4f5a6b")
DUE = date(2027, 3, 10)
LONG_BEFORE = datetime(2027, 2, 1, 12, tzinfo=UTC)
ALL_PAIRS = [("D-5", "email"), ("D-1", "sms"), ("D-1", "email"), ("D+1", "email"), ("D+1", "whatsapp"),
             ("D+5", "sms"), ("D+10", "whatsapp"), ("D+10", "email"), ("D+15", "phone"), ("D+30", "email")]


def _plan(*, amount_cents: int = 250_000, email: str | None = "ana@example.com", phone: str | None = "+5511987654321",
          opened_at: datetime = LONG_BEFORE, due: date = DUE, invoice_id: uuid.UUID = INVOICE) -> list[PlannedStep]:
    return plan_case(DEFAULT_RULER, invoice_id=invoice_id, due=due, amount_cents=amount_cents, email=email,
                     phone=phone, opened_at=opened_at, schedule=SCHEDULE)


def _by_pair(plan: list[PlannedStep]) -> dict[tuple[str, str], PlannedStep]:
    return {(p.step_key, p.channel): p for p in plan}


def test_default_ruler_plans_every_step_and_channel_in_order() -> None:
    plan = _plan()
    assert [(p.step_key, p.channel) for p in plan] == ALL_PAIRS
    assert all(p.status == "pending" and p.reason is None for p in plan)
    assert _by_pair(plan)[("D+10", "email")].template == "negotiation"
    assert _by_pair(plan)[("D+30", "email")].tone == "firm"
    assert [p.fire_at for p in plan] == sorted(p.fire_at for p in plan)


def test_steps_fire_at_the_send_hour_in_sao_paulo() -> None:
    plan = _by_pair(_plan())
    offsets = {"D-5": -5, "D-1": -1, "D+1": 1, "D+5": 5, "D+10": 10, "D+15": 15, "D+30": 30}
    for (key, _), planned in plan.items():
        local = planned.fire_at.astimezone(SAO_PAULO)
        assert local.date() == DUE + timedelta(days=offsets[key])
        assert local.time() == time(10, 0)
        assert planned.fire_at.utcoffset() == timedelta(hours=-3)  # no daylight saving time since 2019
        assert planned.fire_at.astimezone(UTC).hour == 13
    assert plan[("D-5", "email")].fire_at == datetime(2027, 3, 5, 13, 0, tzinfo=UTC)


def test_the_send_hour_comes_from_the_schedule() -> None:
    evening = Schedule(SAO_PAULO, send_hour=18, late_grace=timedelta(days=1))
    assert evening.fire_at(DUE, 1) == datetime(2027, 3, 11, 21, 0, tzinfo=UTC)


def test_d_minus_5_is_skipped_below_the_minimum_amount() -> None:
    small = _by_pair(_plan(amount_cents=99_999))
    assert small[("D-5", "email")].status == "skipped"
    assert small[("D-5", "email")].reason == "amount below 100000 cents"
    assert all(p.status == "pending" for pair, p in small.items() if pair != ("D-5", "email"))
    assert _by_pair(_plan(amount_cents=100_000))[("D-5", "email")].status == "pending"


def test_email_steps_are_skipped_without_an_email() -> None:
    plan = _plan(email=None)
    for p in plan:
        if p.channel == "email":
            assert (p.status, p.reason) == ("skipped", "no e-mail for email")
        else:
            assert p.status == "pending"


def test_phone_channels_are_skipped_without_a_phone() -> None:
    plan = _plan(phone=None)
    for p in plan:
        if p.channel in ("sms", "whatsapp", "phone"):
            assert (p.status, p.reason) == ("skipped", f"no phone for {p.channel}")
        else:
            assert p.status == "pending"


def test_no_contact_at_all_skips_everything() -> None:
    assert all(p.status == "skipped" for p in _plan(email=None, phone=None))


def test_steps_already_past_at_opening_are_skipped() -> None:
    opened = datetime(2027, 3, 13, 12, tzinfo=UTC)  # D+3, 09:00 in São Paulo
    plan = _by_pair(_plan(opened_at=opened))
    past = {("D-5", "email"), ("D-1", "sms"), ("D-1", "email"), ("D+1", "email"), ("D+1", "whatsapp")}
    for pair, p in plan.items():
        if pair in past:
            assert (p.status, p.reason) == ("skipped", "already past when the case opened")
        else:
            assert p.status == "pending", pair


def test_a_step_within_the_grace_is_still_sent() -> None:
    d_plus_1 = SCHEDULE.fire_at(DUE, 1)
    on_the_edge = _by_pair(_plan(opened_at=d_plus_1 + SCHEDULE.late_grace))
    assert on_the_edge[("D+1", "email")].status == "pending"
    just_after = _by_pair(_plan(opened_at=d_plus_1 + SCHEDULE.late_grace + timedelta(seconds=1)))
    assert just_after[("D+1", "email")].status == "skipped"


def test_the_first_reason_wins() -> None:
    plan = _by_pair(_plan(amount_cents=1_000, email=None, opened_at=datetime(2027, 4, 1, tzinfo=UTC)))
    assert plan[("D-5", "email")].reason == "amount below 100000 cents"
    assert plan[("D-1", "email")].reason == "no e-mail for email"
    assert plan[("D-1", "sms")].reason == "already past when the case opened"


def test_step_ids_are_deterministic_and_unique() -> None:
    first, again = _plan(), _plan(opened_at=LONG_BEFORE + timedelta(days=3), amount_cents=5_000, email=None)
    assert [p.step_id for p in first] == [p.step_id for p in again]
    assert len({p.step_id for p in first}) == len(first)
    assert all(p.step_id == step_id(INVOICE, p.step_key, p.channel) for p in first)
    other = _plan(invoice_id=uuid.uuid4())
    assert not {p.step_id for p in first} & {p.step_id for p in other}
    # A name-based UUID: pinned, because steps already stored and sent carry it.
    assert step_id(INVOICE, "D+1", "email") == uuid.uuid5(
        uuid.UUID("d2f7c6a1-3b4e-4f5a-8c9d-0e1f2a3b4c5d"), f"{INVOICE}:D+1:email")


def _step(key: str, offset: int) -> dict[str, object]:
    return {"key": key, "offset_days": offset, "channels": ["email"], "template": "notice", "tone": "informative"}


def test_ruler_rejects_duplicate_step_keys() -> None:
    with pytest.raises(ValidationError, match="step keys must be unique"):
        RulerDefinition.model_validate({"name": "custom", "steps": [_step("D+1", 1), _step("D+1", 2)]})


def test_ruler_orders_steps_by_offset() -> None:
    ruler = RulerDefinition.model_validate({"name": "custom", "steps": [_step("late", 9), _step("early", -3)]})
    assert [s.key for s in ruler.steps] == ["early", "late"]


@pytest.mark.parametrize("change", [{"channels": []}, {"channels": ["fax"]}, {"template": "../x"},
                                    {"offset_days": -61}, {"tone": "rude"}, {"min_amount_cents": -1}, {"extra": 1}])
def test_ruler_rejects_invalid_steps(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RulerDefinition.model_validate({"name": "custom", "steps": [{**_step("D+1", 1), **change}]})


def test_is_too_late() -> None:
    fire_at = datetime(2027, 3, 11, 13, tzinfo=UTC)
    assert not is_too_late(fire_at, fire_at - timedelta(hours=1), SCHEDULE)
    assert not is_too_late(fire_at, fire_at, SCHEDULE)
    assert not is_too_late(fire_at, fire_at + SCHEDULE.late_grace, SCHEDULE)
    assert is_too_late(fire_at, fire_at + SCHEDULE.late_grace + timedelta(seconds=1), SCHEDULE)


def test_thank_you_prefers_email_then_sms() -> None:
    assert thank_you_channel("ana@example.com", "+5511987654321") == "email"
    assert thank_you_channel(None, "+5511987654321") == "sms"
    assert thank_you_channel(None, None) is None


@given(
    due=st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31)),
    amount_cents=st.integers(min_value=1, max_value=10**9),
    email=st.sampled_from([None, "", "ana@example.com"]),
    phone=st.sampled_from([None, "", "+5511987654321"]),
    opened_offset=st.timedeltas(min_value=timedelta(days=-60), max_value=timedelta(days=60)),
    send_hour=st.integers(min_value=0, max_value=23),
    grace_hours=st.integers(min_value=0, max_value=96),
)
def test_pending_steps_are_reachable_and_not_stale(due: date, amount_cents: int, email: str | None,
                                                   phone: str | None, opened_offset: timedelta, send_hour: int,
                                                   grace_hours: int) -> None:
    schedule = Schedule(SAO_PAULO, send_hour, timedelta(hours=grace_hours))
    opened_at = datetime.combine(due, time(12), UTC) + opened_offset
    plan = plan_case(DEFAULT_RULER, invoice_id=INVOICE, due=due, amount_cents=amount_cents, email=email, phone=phone,
                     opened_at=opened_at, schedule=schedule)
    assert [(p.step_key, p.channel) for p in plan] == ALL_PAIRS
    assert len({p.step_id for p in plan}) == len(plan)
    minimums = {s.key: s.min_amount_cents for s in DEFAULT_RULER.steps}
    for p in plan:
        assert (p.status == "skipped") == (p.reason is not None)
        has_contact = bool(email) if p.channel == "email" else bool(phone)
        minimum = minimums[p.step_key]
        big_enough = minimum is None or amount_cents >= minimum
        in_time = p.fire_at >= opened_at - schedule.late_grace
        # Pending exactly when the channel has a contact, the amount qualifies and the step is not stale.
        assert (p.status == "pending") == (has_contact and big_enough and in_time), p
