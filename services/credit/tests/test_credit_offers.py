"""The debt as of a day and the offer limits a negotiation may use (unit)."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from regua_credit.offers import DEFAULT_POLICY, NegotiationPolicy, debt_on, offer_limits

DUE = date(2027, 3, 1)  # a Monday


def test_nothing_accrues_until_the_invoice_is_overdue() -> None:
    debt = debt_on(100_000, DUE, DUE, DEFAULT_POLICY)
    assert (debt.fine_cents, debt.interest_cents, debt.days_overdue, debt.total_cents) == (0, 0, 0, 100_000)


def test_fine_is_2_percent_and_interest_1_percent_a_month_pro_rata() -> None:
    debt = debt_on(100_000, DUE, DUE + timedelta(days=15), DEFAULT_POLICY)
    assert debt.days_overdue == 15
    assert debt.fine_cents == 2_000
    assert debt.interest_cents == 500  # 1% x 15/30
    assert debt.total_cents == 102_500


def test_amounts_round_half_up_to_the_cent() -> None:
    debt = debt_on(333, DUE, DUE + timedelta(days=1), DEFAULT_POLICY)
    assert debt.fine_cents == 7  # 6.66
    assert debt.interest_cents == 0  # 0.111


def test_policy_cannot_exceed_the_legal_fine() -> None:
    with pytest.raises(ValidationError):
        NegotiationPolicy(fine_bps=300)
    assert NegotiationPolicy(fine_bps=100).fine_bps == 100


def test_good_scores_get_the_whole_policy() -> None:
    debt = debt_on(100_000, DUE, DUE + timedelta(days=30), DEFAULT_POLICY)  # 2,000 fine, 1,000 interest
    limits = offer_limits(debt, DEFAULT_POLICY, 800)
    assert (limits.max_fine_discount_bps, limits.max_interest_discount_bps, limits.max_principal_discount_bps) == (
        10_000, 10_000, 1_000)
    assert limits.max_discount_cents == 2_000 + 1_000 + 10_000
    assert limits.min_total_cents == 103_000 - 13_000
    assert limits.max_installments == 12 and limits.min_installment_cents == 5_000
    assert limits.offer_valid_days == 5


def test_lower_scores_tighten_the_policy() -> None:
    debt = debt_on(100_000, DUE, DUE + timedelta(days=30), DEFAULT_POLICY)
    medium = offer_limits(debt, DEFAULT_POLICY, 500)
    assert (medium.max_fine_discount_bps, medium.max_interest_discount_bps, medium.max_principal_discount_bps,
            medium.max_installments) == (10_000, 5_000, 500, 6)
    low = offer_limits(debt, DEFAULT_POLICY, 399)
    assert (low.max_fine_discount_bps, low.max_interest_discount_bps, low.max_principal_discount_bps,
            low.max_installments) == (5_000, 0, 0, 3)
    assert low.min_total_cents == 103_000 - 1_000


def test_installments_never_go_below_the_minimum_installment() -> None:
    debt = debt_on(12_000, DUE, DUE, DEFAULT_POLICY)
    assert offer_limits(debt, DEFAULT_POLICY, 900).max_installments == 2  # 10,800 / 5,000
    tiny = debt_on(1_000, DUE, DUE, DEFAULT_POLICY)
    assert offer_limits(tiny, DEFAULT_POLICY, 900).max_installments == 1


@given(st.integers(1, 10**10), st.integers(0, 400), st.integers(0, 1000),
       st.builds(NegotiationPolicy, fine_bps=st.integers(0, 200), max_principal_discount_bps=st.integers(0, 10_000),
                 max_installments=st.integers(1, 120), min_installment_cents=st.integers(1, 10**6)))
def test_limits_stay_within_the_policy(principal: int, days: int, score: int, policy: NegotiationPolicy) -> None:
    debt = debt_on(principal, DUE, DUE + timedelta(days=days), policy)
    assert debt.fine_cents <= principal * 2 // 100 + 1
    limits = offer_limits(debt, policy, score)
    assert limits.max_principal_discount_bps <= policy.max_principal_discount_bps
    assert limits.max_fine_discount_bps <= policy.max_fine_discount_bps
    assert 1 <= limits.max_installments <= policy.max_installments
    assert 0 <= limits.max_discount_cents <= debt.total_cents
    assert limits.min_total_cents >= debt.principal_cents * (10_000 - policy.max_principal_discount_bps) // 10_000
