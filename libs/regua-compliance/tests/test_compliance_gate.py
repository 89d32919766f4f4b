"""The compliance gate: opt-outs, invalid contacts, call caps, quiet after a conversation, per-channel
intervals, hours and holidays; each block names its rule and when it could pass (pure, no I/O)."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from regua_compliance import ContactPolicy, DebtorFacts, Decision, PastContact, evaluate

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
DEFAULT = ContactPolicy()
CHANNELS = ("email", "sms", "whatsapp", "phone")


def sp(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SAO_PAULO)


WEDNESDAY_10 = sp(2027, 3, 10, 10)  # inside every window; no holiday that week


def calls(*moments: datetime, conversation: bool = False) -> tuple[PastContact, ...]:
    return tuple(PastContact("phone", m, conversation) for m in moments)


@pytest.mark.parametrize("channel", CHANNELS)
def test_inside_the_hours_with_no_history_everything_is_allowed(channel: str) -> None:
    assert evaluate(channel, WEDNESDAY_10, DebtorFacts(state="SP"), DEFAULT) == Decision(True, "", None)
    assert evaluate(channel, WEDNESDAY_10, DebtorFacts(), DEFAULT).allowed  # no facts: default window


# --- blocked forever: opt-out and invalid contacts ----------------------------------------------------

@pytest.mark.parametrize("channel", CHANNELS)
def test_opt_out_blocks_that_channel_with_no_retry(channel: str) -> None:
    facts = DebtorFacts(state="SP", opted_out=frozenset({channel}))
    assert evaluate(channel, WEDNESDAY_10, facts, DEFAULT) == Decision(False, "opt-out", None)
    for other in set(CHANNELS) - {channel}:
        assert evaluate(other, WEDNESDAY_10, facts, DEFAULT).allowed


def test_opt_out_is_checked_before_anything_else() -> None:
    facts = DebtorFacts(state="SP", opted_out=frozenset({"phone"}), invalid_contacts=frozenset({"phone"}),
                        history=calls(*(WEDNESDAY_10 - timedelta(hours=h) for h in range(1, 8))))
    sunday = sp(2027, 3, 14, 10)
    assert evaluate("phone", sunday, facts, DEFAULT) == Decision(False, "opt-out", None)


@pytest.mark.parametrize(("invalid", "blocked"), [
    ("phone", {"sms", "whatsapp", "phone"}),
    ("email", {"email"}),
])
def test_an_invalid_contact_blocks_its_channels_with_no_retry(invalid: str, blocked: set[str]) -> None:
    facts = DebtorFacts(state="SP", invalid_contacts=frozenset({invalid}))
    for channel in CHANNELS:
        decision = evaluate(channel, WEDNESDAY_10, facts, DEFAULT)
        if channel in blocked:
            assert decision == Decision(False, "invalid-contact", None)
        else:
            assert decision.allowed


def test_blocked_forever_even_outside_the_hours() -> None:
    facts = DebtorFacts(state="SP", invalid_contacts=frozenset({"email"}))
    assert evaluate("email", sp(2027, 3, 14, 3), facts, DEFAULT) == Decision(False, "invalid-contact", None)


# --- call cap: 7 in 7 days ----------------------------------------------------------------------------

SEVEN_CALLS = calls(*(sp(2027, 3, day, 10) for day in range(1, 8)))  # Mon 1st .. Sun 7th (history as given)


def test_the_eighth_call_in_seven_days_waits_for_the_oldest_to_leave_the_window() -> None:
    facts = DebtorFacts(state="SP", history=SEVEN_CALLS)
    at = sp(2027, 3, 8, 9)  # the call of the 1st at 10:00 is 6 days 23 hours old
    assert evaluate("phone", at, facts, DEFAULT) == Decision(False, "call-cap", sp(2027, 3, 8, 10))
    assert evaluate("phone", sp(2027, 3, 8, 10), facts, DEFAULT).allowed  # exactly 7 days later: out
    assert evaluate("sms", at, facts, DEFAULT).allowed  # only calls are capped
    assert evaluate("whatsapp", at, facts, DEFAULT).allowed


def test_six_calls_leave_room_for_a_seventh() -> None:
    facts = DebtorFacts(state="SP", history=SEVEN_CALLS[1:])
    assert evaluate("phone", sp(2027, 3, 8, 9), facts, DEFAULT).allowed


def test_the_cap_counts_only_calls() -> None:
    history = tuple(PastContact(c, sp(2027, 3, 8, h)) for c in ("sms", "email") for h in range(8, 14))
    assert evaluate("phone", sp(2027, 3, 8, 15), DebtorFacts(state="SP", history=history), DEFAULT).allowed


def test_with_more_than_seven_calls_the_retry_waits_until_only_six_remain() -> None:
    history = calls(*(sp(2027, 3, 8, h) for h in range(8, 17)))  # 9 calls on one Monday, 08:00 .. 16:00
    decision = evaluate("phone", sp(2027, 3, 9, 10), DebtorFacts(state="SP", history=history), DEFAULT)
    assert decision == Decision(False, "call-cap", sp(2027, 3, 15, 10))  # when the third call (10:00) leaves


def test_the_cap_retry_moves_into_the_debtors_hours() -> None:
    history = calls(*(sp(2027, 3, day, 19, 30) for day in (8, 9, 10, 11, 12)),
                    sp(2027, 3, 13, 9), sp(2027, 3, 13, 10))
    at = sp(2027, 3, 15, 10)
    # The oldest (Monday 8th 19:30) leaves on Monday 15th 19:30: inside SP's hours, outside ES's (08-19).
    assert evaluate("phone", at, DebtorFacts(state="SP", history=history), DEFAULT) == \
        Decision(False, "call-cap", sp(2027, 3, 15, 19, 30))
    assert evaluate("phone", at, DebtorFacts(state="ES", history=history), DEFAULT) == \
        Decision(False, "call-cap", sp(2027, 3, 16, 8))


def test_a_tenant_may_lower_the_cap() -> None:
    policy = ContactPolicy(max_calls=3)
    history = calls(sp(2027, 3, 8, 10), sp(2027, 3, 9, 10), sp(2027, 3, 10, 9))
    assert evaluate("phone", sp(2027, 3, 10, 11), DebtorFacts(state="SP", history=history), policy) == \
        Decision(False, "call-cap", sp(2027, 3, 15, 10))


# --- quiet after a conversation -----------------------------------------------------------------------

def test_a_conversation_blocks_calls_for_seven_days() -> None:
    facts = DebtorFacts(state="SP", history=calls(sp(2027, 3, 1, 10), conversation=True))
    assert evaluate("phone", sp(2027, 3, 5, 10), facts, DEFAULT) == \
        Decision(False, "quiet-after-conversation", sp(2027, 3, 8, 10))
    assert evaluate("phone", sp(2027, 3, 8, 10), facts, DEFAULT).allowed
    for channel in ("email", "sms", "whatsapp"):
        assert evaluate(channel, sp(2027, 3, 5, 10), facts, DEFAULT).allowed


def test_an_unanswered_call_does_not_start_the_quiet_period() -> None:
    facts = DebtorFacts(state="SP", history=calls(sp(2027, 3, 1, 10)))
    assert evaluate("phone", sp(2027, 3, 1, 11), facts, DEFAULT).allowed


def test_the_latest_conversation_counts_and_its_end_is_moved_into_the_hours() -> None:
    history = calls(sp(2027, 3, 1, 10), sp(2027, 3, 6, 19), conversation=True)  # quiet until Sat 13th 19:00
    decision = evaluate("phone", sp(2027, 3, 8, 10), DebtorFacts(state="SP", history=history), DEFAULT)
    assert decision == Decision(False, "quiet-after-conversation", sp(2027, 3, 15, 8))


def test_when_cap_and_quiet_both_block_the_later_one_wins() -> None:
    history = (*SEVEN_CALLS, PastContact("phone", sp(2027, 3, 7, 12), conversation=True))
    decision = evaluate("phone", sp(2027, 3, 8, 9), DebtorFacts(state="SP", history=history), DEFAULT)
    assert decision == Decision(False, "quiet-after-conversation", sp(2027, 3, 15, 8))  # Sunday 14th 12:00 -> Mon
    history = (*calls(*(sp(2027, 3, 8, h) for h in range(8, 15))),  # quiet until the 12th, cap until the 15th
               PastContact("phone", sp(2027, 3, 5, 12), conversation=True))
    decision = evaluate("phone", sp(2027, 3, 8, 15), DebtorFacts(state="SP", history=history), DEFAULT)
    assert decision == Decision(False, "call-cap", sp(2027, 3, 15, 8))


# --- per-channel interval -----------------------------------------------------------------------------

def test_whatsapp_needs_48_hours_between_messages() -> None:
    facts = DebtorFacts(state="SP", history=(PastContact("whatsapp", sp(2027, 3, 8, 10)),))
    assert evaluate("whatsapp", sp(2027, 3, 9, 15), facts, DEFAULT) == \
        Decision(False, "whatsapp-interval", sp(2027, 3, 10, 10))
    assert evaluate("whatsapp", sp(2027, 3, 10, 9, 59), facts, DEFAULT).rule == "whatsapp-interval"
    assert evaluate("whatsapp", sp(2027, 3, 10, 10), facts, DEFAULT).allowed
    assert evaluate("sms", sp(2027, 3, 9, 15), facts, DEFAULT).allowed
    assert evaluate("phone", sp(2027, 3, 9, 15), facts, DEFAULT).allowed


def test_the_interval_retry_moves_into_the_hours() -> None:
    facts = DebtorFacts(state="SP", history=(PastContact("whatsapp", sp(2027, 3, 11, 19)),))  # Thursday
    # 48 h later is Saturday 19:00, after SP's Saturday hours: Monday 08:00.
    assert evaluate("whatsapp", sp(2027, 3, 12, 10), facts, DEFAULT) == \
        Decision(False, "whatsapp-interval", sp(2027, 3, 15, 8))


def test_a_tenant_may_set_intervals_per_channel() -> None:
    policy = ContactPolicy(min_interval={"whatsapp": timedelta(hours=72), "sms": timedelta(hours=24)})
    history = (PastContact("whatsapp", sp(2027, 3, 8, 10)), PastContact("sms", sp(2027, 3, 8, 10)))
    facts = DebtorFacts(state="SP", history=history)
    assert evaluate("whatsapp", sp(2027, 3, 10, 12), facts, policy) == \
        Decision(False, "whatsapp-interval", sp(2027, 3, 11, 10))
    assert evaluate("sms", sp(2027, 3, 8, 12), facts, policy) == Decision(False, "sms-interval", sp(2027, 3, 9, 10))
    assert evaluate("sms", sp(2027, 3, 9, 10), facts, policy).allowed
    no_interval = ContactPolicy(min_interval={})
    assert evaluate("whatsapp", sp(2027, 3, 8, 11), facts, no_interval).allowed


# --- hours --------------------------------------------------------------------------------------------

def test_outside_the_hours_waits_for_the_window() -> None:
    facts = DebtorFacts(state="SP")
    assert evaluate("email", sp(2027, 3, 10, 21), facts, DEFAULT) == \
        Decision(False, "contact-hours", sp(2027, 3, 11, 8))
    assert evaluate("sms", sp(2027, 3, 13, 15), facts, DEFAULT) == \
        Decision(False, "contact-hours", sp(2027, 3, 15, 8))


def test_sundays_and_holidays_are_no_contact_days() -> None:
    assert evaluate("email", sp(2027, 3, 14, 10), DebtorFacts(state="SP"), DEFAULT) == \
        Decision(False, "no-contact-day", sp(2027, 3, 15, 8))
    assert evaluate("sms", sp(2027, 4, 21, 10), DebtorFacts(state="RJ"), DEFAULT) == \
        Decision(False, "no-contact-day", sp(2027, 4, 22, 9))
    assert evaluate("sms", sp(2027, 7, 9, 10), DebtorFacts(state="SP"), DEFAULT) == \
        Decision(False, "no-contact-day", sp(2027, 7, 10, 8))
    assert evaluate("sms", sp(2027, 7, 9, 10), DebtorFacts(state="RJ"), DEFAULT).allowed


def test_hours_are_the_debtors_local_hours() -> None:
    at = datetime(2027, 3, 10, 11, 30, tzinfo=UTC)  # 08:30 in São Paulo, 07:30 in Manaus
    assert evaluate("sms", at, DebtorFacts(state="SP"), DEFAULT).allowed
    assert evaluate("sms", at, DebtorFacts(state="AM"), DEFAULT) == \
        Decision(False, "contact-hours", datetime(2027, 3, 10, 12, tzinfo=UTC))


def test_tenant_narrowing_applies_in_the_gate() -> None:
    narrow = ContactPolicy(weekday_hours=(time(10), time(16)))
    assert evaluate("email", sp(2027, 3, 10, 9), DebtorFacts(state="SP"), narrow) == \
        Decision(False, "contact-hours", sp(2027, 3, 10, 10))
    assert evaluate("email", sp(2027, 3, 10, 16, 30), DebtorFacts(state="SP"), narrow) == \
        Decision(False, "contact-hours", sp(2027, 3, 11, 10))


def test_no_window_at_all_blocks_with_no_retry() -> None:
    closed = ContactPolicy(weekday_hours=(time(21), time(22)), saturday_hours=None)
    assert evaluate("email", WEDNESDAY_10, DebtorFacts(state="SP"), closed) == \
        Decision(False, "no-contact-hours", None)
