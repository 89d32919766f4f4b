"""Opening a case: segment choice, conditions, and each step's first moment in the debtor's hours (pure)."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regua_compliance import ContactPolicy, is_no_contact_day, next_allowed_moment, window_for
from regua_compliance.calendar import time_zone
from regua_ruler.domain.planning import PlannedStep, Schedule, choose_segment, message_id, plan_steps, thank_you_id
from regua_ruler.domain.profiles import CaseFacts, holds, score_band
from regua_ruler.domain.rulers import Behaviour, Condition, parse_ruler
from regua_ruler.store.rulers import DEFAULT_RULER

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
MANAUS = ZoneInfo("America/Manaus")
SCHEDULE = Schedule(send_hour=10, late_grace=timedelta(days=1), policy=ContactPolicy())
(STANDARD,) = DEFAULT_RULER.segments
DUE = date(2027, 3, 10)  # a Wednesday; no holiday near it
LONG_BEFORE = datetime(2027, 2, 1, 12, tzinfo=UTC)
BIG = CaseFacts(amount_cents=250_000, behaviour="on_time")
EMAIL, PHONE = "ana@example.com", "+5511987654321"

ALL_SLOTS = [
    ("D-5", 0, ("email",)),
    ("D-1", 0, ("sms", "whatsapp")), ("D-1", 1, ("email",)),
    ("D+1", 0, ("email",)), ("D+1", 1, ("whatsapp", "sms")),
    ("D+5", 0, ("sms", "whatsapp", "email")),
    ("D+10", 0, ("whatsapp", "sms")), ("D+10", 1, ("email",)),
    ("D+15", 0, ("phone",)),
    ("D+30", 0, ("email",)),
]


def sp(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SAO_PAULO)


def plan(*, facts: CaseFacts = BIG, due: date = DUE, email: str | None = EMAIL, phone: str | None = PHONE,
         state: str | None = "SP", opened_at: datetime = LONG_BEFORE,
         schedule: Schedule = SCHEDULE) -> dict[tuple[str, int], PlannedStep]:
    steps = plan_steps(STANDARD, due=due, facts=facts, email=email, phone=phone, state=state,
                       opened_at=opened_at, schedule=schedule)
    return {(p.step_key, p.slot): p for p in steps}


def test_the_default_ruler_plans_every_slot_in_order() -> None:
    steps = plan_steps(STANDARD, due=DUE, facts=BIG, email=EMAIL, phone=PHONE, state="SP",
                       opened_at=LONG_BEFORE, schedule=SCHEDULE)
    assert [(p.step_key, p.slot, p.channels) for p in steps] == ALL_SLOTS
    assert all(p.status == "pending" and p.reason is None for p in steps)
    assert [p.fire_at for p in steps] == sorted(p.fire_at for p in steps)
    by_key = {(p.step_key, p.slot): p for p in steps}
    assert (by_key[("D+10", 1)].template, by_key[("D+10", 1)].tone) == ("negotiation", "cordial")
    assert (by_key[("D+30", 0)].template, by_key[("D+30", 0)].tone, by_key[("D+30", 0)].offset_days) == \
        ("bureau_notice", "firm", 30)


def test_steps_fire_at_the_send_hour_in_the_debtors_time_zone() -> None:
    steps = plan()
    assert steps[("D-5", 0)].fire_at == sp(2027, 3, 5, 10) == datetime(2027, 3, 5, 13, tzinfo=UTC)
    assert steps[("D-1", 0)].fire_at == steps[("D-1", 1)].fire_at == sp(2027, 3, 9, 10)
    assert steps[("D+1", 0)].fire_at == sp(2027, 3, 11, 10)
    assert steps[("D+5", 0)].fire_at == sp(2027, 3, 15, 10)
    assert steps[("D+10", 0)].fire_at == sp(2027, 3, 20, 10)  # a Saturday, open until 14:00 in SP
    assert steps[("D+15", 0)].fire_at == sp(2027, 3, 25, 10)
    assert steps[("D+30", 0)].fire_at == sp(2027, 4, 9, 10)
    manaus = plan(state="AM")
    assert manaus[("D+1", 0)].fire_at == datetime(2027, 3, 11, 10, tzinfo=MANAUS) == \
        datetime(2027, 3, 11, 14, tzinfo=UTC)


def test_a_saturday_step_waits_for_monday_where_saturdays_are_closed() -> None:
    assert plan(state="RJ")[("D+10", 0)].fire_at == sp(2027, 3, 22, 9)  # RJ opens at 09:00
    assert plan(state="ES")[("D+10", 0)].fire_at == sp(2027, 3, 22, 8)
    assert plan(state="AL")[("D+10", 0)].fire_at == sp(2027, 3, 20, 10)


def test_a_step_on_a_sunday_moves_to_the_next_business_day() -> None:
    steps = plan(due=date(2027, 3, 9))  # D+5 is Sunday the 14th
    assert steps[("D+5", 0)].fire_at == sp(2027, 3, 15, 8)
    assert steps[("D+5", 0)].status == "pending"


def test_a_step_on_a_national_holiday_moves_to_the_next_business_day() -> None:
    steps = plan(due=date(2027, 4, 16))  # D+5 is Tiradentes, Wednesday 2027-04-21
    assert steps[("D+5", 0)].fire_at == sp(2027, 4, 22, 8)
    assert plan(due=date(2027, 4, 16), state="RJ")[("D+5", 0)].fire_at == sp(2027, 4, 22, 9)
    assert plan(due=date(2027, 4, 26))[("D-5", 0)].fire_at == sp(2027, 4, 22, 8)  # D-5 on it too


def test_a_step_on_a_state_holiday_moves_only_in_that_state() -> None:
    due = date(2027, 7, 8)  # D+1 is Friday 2027-07-09, a holiday in SP only
    assert plan(due=due, state="SP")[("D+1", 0)].fire_at == sp(2027, 7, 10, 8)  # SP: Saturday morning
    assert plan(due=due, state="RJ")[("D+1", 0)].fire_at == sp(2027, 7, 9, 10)


def test_the_send_hour_is_moved_into_the_window() -> None:
    early = Schedule(send_hour=6, late_grace=timedelta(days=1), policy=ContactPolicy())
    late = Schedule(send_hour=21, late_grace=timedelta(days=1), policy=ContactPolicy())
    assert plan(schedule=early)[("D+1", 0)].fire_at == sp(2027, 3, 11, 8)
    assert plan(schedule=late)[("D+1", 0)].fire_at == sp(2027, 3, 12, 8)
    assert late.fire_at(DUE, 1, "SP") == sp(2027, 3, 12, 8)
    narrow = Schedule(send_hour=10, late_grace=timedelta(days=1),
                      policy=ContactPolicy(weekday_hours=(time(14), time(16))))
    assert narrow.fire_at(DUE, 1, "SP") == sp(2027, 3, 11, 14)


# --- the D-5 condition: amount >= 100000 or a history of delay ----------------------------------------

@pytest.mark.parametrize(("facts", "pending"), [
    (CaseFacts(99_999, "on_time"), False),
    (CaseFacts(100_000, "on_time"), True),
    (CaseFacts(99_999, "unknown"), False),
    (CaseFacts(5_000, "sometimes_late"), True),
    (CaseFacts(5_000, "always_late"), True),
    (CaseFacts(5_000, "on_time", "low", frozenset({"vip"})), False),
    (CaseFacts(1_000_000, "always_late"), True),
])
def test_d_minus_5_only_for_large_amounts_or_late_payers(facts: CaseFacts, pending: bool) -> None:
    steps = plan(facts=facts)
    d5 = steps[("D-5", 0)]
    if pending:
        assert (d5.status, d5.reason) == ("pending", None)
    else:
        assert (d5.status, d5.reason) == ("skipped", "step conditions not met")
    assert all(p.status == "pending" for k, p in steps.items() if k != ("D-5", 0))


# --- past and unreachable slots -----------------------------------------------------------------------

def test_steps_already_past_when_the_case_opens_are_skipped() -> None:
    opened = sp(2027, 3, 13, 12)  # Saturday after D+1 (the 11th 10:00), more than one day of grace later
    steps = plan(opened_at=opened)
    past = {("D-5", 0), ("D-1", 0), ("D-1", 1), ("D+1", 0), ("D+1", 1)}
    for key, p in steps.items():
        if key in past:
            assert (p.status, p.reason) == ("skipped", "already past when the case opened"), key
        else:
            assert p.status == "pending", key


def test_a_step_within_the_grace_is_still_pending() -> None:
    d1 = sp(2027, 3, 11, 10)
    assert plan(opened_at=d1 + timedelta(days=1))[("D+1", 0)].status == "pending"  # exactly the grace
    assert plan(opened_at=d1 + timedelta(days=1, seconds=1))[("D+1", 0)].status == "skipped"
    assert plan(opened_at=d1 + timedelta(hours=3))[("D+1", 0)].status == "pending"


def test_slots_without_an_email_are_skipped() -> None:
    steps = plan(email=None)
    no_email = {("D-5", 0), ("D-1", 1), ("D+1", 0), ("D+10", 1), ("D+30", 0)}
    for key, p in steps.items():
        if key in no_email:
            assert (p.status, p.reason) == ("skipped", "no contact for email"), key
        else:
            assert p.status == "pending", key  # D+5 falls back to SMS/WhatsApp


def test_slots_without_a_phone_are_skipped() -> None:
    steps = plan(phone=None)
    assert (steps[("D-1", 0)].status, steps[("D-1", 0)].reason) == ("skipped", "no contact for sms/whatsapp")
    assert (steps[("D+1", 1)].reason, steps[("D+10", 0)].reason) == \
        ("no contact for whatsapp/sms", "no contact for whatsapp/sms")
    assert steps[("D+15", 0)].reason == "no contact for phone"
    assert steps[("D+5", 0)].status == "pending"  # its fallback ends on email
    assert sum(p.status == "pending" for p in steps.values()) == 6


def test_without_any_contact_every_slot_is_skipped() -> None:
    steps = plan(email=None, phone="")
    assert all(p.status == "skipped" for p in steps.values())


def test_conditions_are_reported_before_reachability() -> None:
    steps = plan(facts=CaseFacts(10, "on_time"), email=None)
    assert steps[("D-5", 0)].reason == "step conditions not met"


def test_no_contact_hours_at_all() -> None:
    closed = Schedule(send_hour=10, late_grace=timedelta(days=1),
                      policy=ContactPolicy(weekday_hours=(time(21), time(22)), saturday_hours=None))
    steps = plan(schedule=closed, opened_at=LONG_BEFORE)
    assert all((p.status, p.reason, p.fire_at) == ("skipped", "no contact hours", LONG_BEFORE)
               for p in steps.values())


# --- segments and conditions --------------------------------------------------------------------------

TIERED = parse_ruler("""
name: tiered
segments:
  - name: big
    when: {min_amount_cents: 500000}
    steps: [{key: D+1, offset_days: 1, send: [phone], template: agent_call, tone: firm}]
  - name: chronic-low
    when: {behaviour: [always_late], score_bands: [low]}
    steps: [{key: D+1, offset_days: 1, send: [sms], template: notice, tone: firm}]
  - name: vip-or-high
    when: {any_of: [{tags_any: [vip]}, {score_bands: [high]}]}
    steps: [{key: D+1, offset_days: 1, send: [email], template: notice, tone: friendly}]
  - name: rest
    steps: [{key: D+1, offset_days: 1, send: [email], template: notice, tone: informative}]
""")


@pytest.mark.parametrize(("facts", "segment"), [
    (CaseFacts(500_000), "big"),
    (CaseFacts(600_000, "always_late", "low"), "big"),  # first match wins
    (CaseFacts(1_000, "always_late", "low"), "chronic-low"),
    (CaseFacts(1_000, "always_late", "medium"), "rest"),  # all fields must hold
    (CaseFacts(1_000, "sometimes_late", "low"), "rest"),
    (CaseFacts(1_000, tags=frozenset({"vip", "x"})), "vip-or-high"),
    (CaseFacts(1_000, score_band="high"), "vip-or-high"),
    (CaseFacts(1_000, tags=frozenset({"x"})), "rest"),
    (CaseFacts(0), "rest"),
])
def test_choose_segment_first_match_wins_and_the_last_catches_all(facts: CaseFacts, segment: str) -> None:
    assert choose_segment(TIERED, facts).name == segment


def test_holds() -> None:
    assert holds(None, CaseFacts(0))
    assert holds(Condition(), CaseFacts(0))
    window = Condition(min_amount_cents=100, max_amount_cents=200)
    assert [holds(window, CaseFacts(a)) for a in (99, 100, 200, 201)] == [False, True, True, False]
    nested = Condition(min_amount_cents=100, any_of=[Condition(behaviour=["always_late"]),
                                                     Condition(tags_any=["vip"])])
    assert holds(nested, CaseFacts(100, "always_late"))
    assert holds(nested, CaseFacts(100, tags=frozenset({"vip"})))
    assert not holds(nested, CaseFacts(99, "always_late"))
    assert not holds(nested, CaseFacts(100, "on_time"))


@pytest.mark.parametrize(("score", "band"), [
    (None, "unknown"), (0, "low"), (399, "low"), (400, "medium"), (699, "medium"), (700, "high"), (1000, "high"),
])
def test_score_band(score: int | None, band: str) -> None:
    assert score_band(score) == band


# --- idempotency keys ---------------------------------------------------------------------------------

A, B = uuid.UUID(int=1), uuid.UUID(int=2)


def test_message_id_is_deterministic_and_order_independent() -> None:
    one = message_id([(A, "D+1", 0), (B, "D+1", 1)])
    assert one == message_id([(B, "D+1", 1), (A, "D+1", 0)])
    # Pinned: a different key for the same rows after a deploy would send the message again.
    assert one == uuid.UUID("804f855d-a7ac-595f-b95f-b85d17c3efc1")
    assert one != message_id([(A, "D+1", 0)])
    assert one != message_id([(A, "D+1", 0), (B, "D+1", 0)])
    assert message_id([(A, "D+1", 0)]) != message_id([(A, "D+1", 1)]) != message_id([(A, "D+10", 0)])


def test_thank_you_id_is_one_per_invoice_and_channel() -> None:
    assert thank_you_id(A, "email") == uuid.UUID("2e6f3a37-f50a-507a-a8e9-ac16d81674bb")
    assert len({thank_you_id(A, "email"), thank_you_id(A, "sms"), thank_you_id(B, "email")}) == 3
    assert thank_you_id(A, "email") != message_id([(A, "thank-you", 0)])


# --- property: the default ruler's plan, for any case -------------------------------------------------

@settings(max_examples=150, deadline=None, database=None)
@given(
    due=st.dates(min_value=date(2026, 1, 1), max_value=date(2029, 12, 31)),
    amount_cents=st.integers(min_value=1, max_value=10**9),
    behaviour=st.sampled_from(["on_time", "sometimes_late", "always_late", "unknown"]),
    email=st.sampled_from([None, "", EMAIL]),
    phone=st.sampled_from([None, "", PHONE]),
    state=st.sampled_from(["SP", "RJ", "ES", "AL", "MG", "AM", None]),
    opened_offset=st.timedeltas(min_value=timedelta(days=-60), max_value=timedelta(days=60)),
    send_hour=st.integers(min_value=0, max_value=23),
    grace_hours=st.integers(min_value=0, max_value=96),
)
def test_pending_slots_are_wanted_reachable_in_time_and_in_hours(
    due: date, amount_cents: int, behaviour: Behaviour, email: str | None, phone: str | None, state: str | None,
    opened_offset: timedelta, send_hour: int, grace_hours: int,
) -> None:
    schedule = Schedule(send_hour, timedelta(hours=grace_hours), ContactPolicy())
    opened_at = datetime.combine(due, time(12), UTC) + opened_offset
    facts = CaseFacts(amount_cents, behaviour)
    steps = plan_steps(STANDARD, due=due, facts=facts, email=email, phone=phone, state=state, opened_at=opened_at,
                       schedule=schedule)
    assert [(p.step_key, p.slot, p.channels) for p in steps] == ALL_SLOTS
    wanted_d5 = amount_cents >= 100_000 or behaviour in ("sometimes_late", "always_late")
    zone = time_zone(state)
    for p in steps:
        assert (p.status == "skipped") == (p.reason is not None)
        reachable = any(bool(email) if c == "email" else bool(phone) for c in p.channels)
        wanted = wanted_d5 if p.step_key == "D-5" else True
        nominal = datetime.combine(due + timedelta(days=p.offset_days), time(send_hour), zone)
        moment = next_allowed_moment(nominal, state, schedule.policy)
        assert moment is not None
        in_time = moment >= opened_at - schedule.late_grace
        assert (p.status == "pending") == (wanted and reachable and in_time), p
        if p.status == "pending":
            local = p.fire_at.astimezone(zone)
            assert p.fire_at == moment >= nominal
            assert local.weekday() != 6 and not is_no_contact_day(local.date(), state)
            window = window_for(state, schedule.policy)
            hours = window.saturday if local.weekday() == 5 else window.weekday
            assert hours is not None and hours[0] <= local.time() < hours[1]
