"""One behaviour classification, with its documented boundaries."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regua_finance import Behaviour, LegalCeilings, classify, is_consumer_document


@pytest.mark.parametrize(("on_time", "late", "expected"), [
    (0, 0, Behaviour.NO_HISTORY),
    (5, 0, Behaviour.ON_TIME),
    (0, 1, Behaviour.SOMETIMES_LATE),  # one late invoice is not a habit
    (0, 2, Behaviour.SOMETIMES_LATE),
    (0, 3, Behaviour.ALWAYS_LATE),
    (1, 3, Behaviour.ALWAYS_LATE),  # 3 of 4 late
    (2, 3, Behaviour.SOMETIMES_LATE),  # 3 of 5 late: less than two thirds
    (3, 6, Behaviour.ALWAYS_LATE),  # exactly two thirds
])
def test_classes(on_time: int, late: int, expected: Behaviour) -> None:
    assert classify(on_time, late) is expected


_ORDER = [Behaviour.ON_TIME, Behaviour.SOMETIMES_LATE, Behaviour.ALWAYS_LATE]


@given(st.integers(0, 500), st.integers(0, 500))
def test_one_more_late_invoice_never_makes_a_payer_look_better(on_time: int, late: int) -> None:
    before, after = classify(on_time, late), classify(on_time, late + 1)
    assert after is not Behaviour.NO_HISTORY and after is not Behaviour.ON_TIME
    if before is not Behaviour.NO_HISTORY:
        assert _ORDER.index(after) >= _ORDER.index(before)


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        classify(-1, 0)


def test_consumer_rules() -> None:
    assert is_consumer_document("52998224725") is True
    assert is_consumer_document("11222333000181") is False
    assert is_consumer_document(None) is None
    ceilings = LegalCeilings(business_monthly_interest=Decimal("0.03"))
    assert ceilings.fine_rate(Decimal("0.1"), consumer=True) == Decimal("0.02")
    assert ceilings.fine_rate(Decimal("0.1"), consumer=False) == Decimal("0.1")
    assert ceilings.interest_rate(Decimal("0.02"), consumer=True) == Decimal("0.01")
    assert ceilings.interest_rate(Decimal("0.02"), consumer=False) == Decimal("0.02")
    assert ceilings.interest_error(Decimal("0.01"), consumer=True) is None
    error = ceilings.interest_error(Decimal("0.011"), consumer=True)
    assert error is not None and "1% a month" in error and "consumer" in error
