"""The call queue's rules (unit): priority, where a task goes after a call, valid outcomes."""

from datetime import UTC, date, datetime, timedelta

import pytest

from regua_dispatch_phone.domain import InvalidOutcome, after_call, check_outcome, is_conversation, priority

NOW = datetime(2027, 3, 10, 13, tzinfo=UTC)
TODAY = date(2027, 3, 10)


def test_priority_weighs_the_amount_by_how_late_it_is() -> None:
    fresh_big = priority(100_000, TODAY - timedelta(days=1), TODAY)
    old_small = priority(60_000, TODAY - timedelta(days=60), TODAY)
    assert old_small > fresh_big  # 60,000 x 90 > 100,000 x 31
    assert priority(100_000, TODAY - timedelta(days=30), TODAY) == 2 * priority(100_000, TODAY, TODAY)
    assert priority(100_000, TODAY + timedelta(days=5), TODAY) == priority(100_000, TODAY, TODAY)  # not due yet


def test_after_a_call() -> None:
    kw = {"max_calls": 3, "retry_after": timedelta(hours=2), "callback_at": None}
    assert after_call("no_answer", 1, NOW, **kw).not_before == NOW + timedelta(hours=2)
    assert after_call("no_answer", 3, NOW, **kw).status == "done"
    back = NOW + timedelta(days=1)
    assert after_call("callback", 1, NOW, max_calls=3, retry_after=timedelta(hours=2), callback_at=back) == \
        after_call("callback", 9, NOW, max_calls=3, retry_after=timedelta(hours=2), callback_at=back)
    for outcome in ("promise_to_pay", "wrong_number", "refused", "conversation_held"):
        assert after_call(outcome, 1, NOW, **kw).status == "done"  # type: ignore[arg-type]


def test_which_outcomes_are_conversations() -> None:
    assert {o for o in ("promise_to_pay", "wrong_number", "refused", "no_answer", "callback", "conversation_held")
            if is_conversation(o)} == {"promise_to_pay", "refused", "conversation_held"}


@pytest.mark.parametrize(("args", "field"), [
    (("promise_to_pay", None, 100, None), "promise_date"),
    (("promise_to_pay", TODAY - timedelta(days=1), 100, None), "promise_date"),
    (("promise_to_pay", TODAY, 0, None), "promise_amount_cents"),
    (("callback", None, None, None), "callback_at"),
    (("callback", None, None, NOW - timedelta(minutes=1)), "callback_at"),
])
def test_invalid_outcomes(args: tuple[str, date | None, int | None, datetime | None], field: str) -> None:
    outcome, promise_date, amount, callback_at = args
    with pytest.raises(InvalidOutcome) as caught:
        check_outcome(outcome, NOW, TODAY, promise_date, amount, callback_at)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_valid_outcomes() -> None:
    check_outcome("promise_to_pay", NOW, TODAY, TODAY, 1, None)
    check_outcome("callback", NOW, TODAY, None, None, NOW + timedelta(hours=1))
    check_outcome("refused", NOW, TODAY, None, None, None)
