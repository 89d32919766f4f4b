"""Money stated exactly (unit and property tests): business days, consumer rules, installments that add up
and are stated without ambiguity, PIX keys in the DICT formats."""

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from regua_finance import LegalCeilings, effective_due, is_business_day
from regua_negotiation.domain.debt import Debt, update
from regua_negotiation.domain.offers import build_menu, split, stated
from regua_negotiation.domain.pix import pix_key_error
from regua_negotiation.domain.policy import DiscountRule, NegotiationPolicy

DATES = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
STATES = st.sampled_from([None, "SP", "RJ", "BA", "AM"])


@given(DATES, STATES, st.integers(1, 10**9))
def test_a_due_date_on_a_weekend_or_holiday_is_payable_on_the_next_business_day_without_charges(
        due: date, state: str | None, cents: int) -> None:
    moved = effective_due(due, state)
    assert update(Debt("i", "e", cents, due, True, state), moved, NegotiationPolicy()).total_cents == cents
    late = update(Debt("i", "e", cents, due, True, state), moved + timedelta(days=1), NegotiationPolicy())
    assert late.days_overdue == 1 and late.fine_cents == round(Decimal(cents) * Decimal("0.02"))


def test_saturday_due_date_paid_on_monday_costs_nothing() -> None:
    saturday = date(2026, 3, 7)
    assert not is_business_day(saturday)
    assert update(Debt("i", "e", 100_000, saturday), date(2026, 3, 9), NegotiationPolicy()).total_cents == 100_000
    # Before regua_finance negotiation charged 2 days here: fine 2000 and interest 67.
    assert update(Debt("i", "e", 100_000, saturday), date(2026, 3, 10), NegotiationPolicy()).total_cents == 102_033


@given(st.integers(1, 10**9), st.integers(1, 2000), st.decimals(Decimal(0), Decimal(1), places=3),
       st.decimals(Decimal(0), Decimal("0.2"), places=4))
def test_a_cpf_debtor_always_gets_consumer_rules(cents: int, days: int, fine: Decimal, interest: Decimal) -> None:
    business = NegotiationPolicy(consumer=False, fine_rate=fine, interest_monthly_rate=interest)
    agency = LegalCeilings(consumer_monthly_interest=Decimal("0.01"), business_monthly_interest=Decimal("0.2"))
    due = date(2026, 3, 4)  # a Wednesday
    person = update(Debt("i", "e", cents, due, True), due + timedelta(days=days), business, agency)
    assert person.fine_cents <= round(Decimal(cents) * Decimal("0.02"))
    assert person.interest_cents <= round(Decimal(cents) * Decimal("0.01") * person.days_overdue / 30) + 1
    company = update(Debt("i", "e", cents, due, False), due + timedelta(days=days), business, agency)
    assert company.fine_cents >= person.fine_cents and company.interest_cents >= person.interest_cents


def test_a_cpf_debtor_under_a_business_policy_pays_at_most_2_percent() -> None:
    business = NegotiationPolicy(consumer=False, fine_rate=Decimal("0.10"))
    due, today = date(2026, 3, 4), date(2026, 4, 3)  # 30 days
    assert update(Debt("i", "e", 10_000, due, True), today, business).fine_cents == 200
    assert update(Debt("i", "e", 10_000, due, False), today, business).fine_cents == 1_000


@given(st.integers(1, 10**10), st.integers(1, 48), st.decimals(Decimal(0), Decimal(100), places=2))
def test_installments_are_stated_exactly(total: int, count: int, down_pct: Decimal) -> None:
    amounts = split(total, count, down_pct)
    first, each = stated(amounts)
    assert sum(amounts) == total
    if first:
        assert amounts == [first] + [each] * (count - 1) and first + (count - 1) * each == total
    else:
        assert amounts == [each] * count and count * each == total


def test_the_reported_offer_is_stated_as_it_is_paid() -> None:
    amounts = split(101_500, 3)
    assert amounts == [33_834, 33_833, 33_833]
    assert stated(amounts) == (33_834, 33_833)  # "1x R$ 338,34 + 2x R$ 338,33", never "3x de R$ 338,34"


@given(st.integers(10_000, 10**8), st.integers(2, 12))
def test_equal_installments_waive_fewer_cents_than_installments(cents: int, count: int) -> None:
    policy = NegotiationPolicy(discounts=[DiscountRule(fine_pct=100, interest_pct=100)], max_installments=count,
                               min_installment_cents=1, equal_installments=True)
    menu = build_menu([Debt("i", "e", cents, date(2026, 3, 4))], date(2026, 3, 4), policy, "unknown")
    for option in menu.options[1:]:
        assert len(set(option.amounts)) == 1 and sum(option.amounts) == option.total_cents
        assert 0 <= cents - option.total_cents < option.installments
        assert option.discount_cents == menu.updated.total_cents - option.total_cents


@pytest.mark.parametrize(("key", "reason"), [
    ("52998224725", None),
    ("52998224724", "CPF key with invalid check digits"),
    ("11222333000181", None),
    ("11222333000180", "CNPJ key with invalid check digits"),
    ("+5511987654321", None),
    ("+1415555267", "phone key must be +55"),
    ("+55 11 98765-4321", "phone key must be +55"),
    ("pix@otica.example", None),
    ("Pix@Otica.example", "e-mail key must be in lower case"),
    ("pix@", "not a valid e-mail key"),
    (str(uuid.UUID("0f1276bb-e516-4bf8-bebf-8b35cf03551a")), None),
    ("0F1276BB-E516-4BF8-BEBF-8B35CF03551A", "random key must be a UUID v4 in lower case"),
    ("b65dec40-f11b-11f1-bbff-02fc00000001", "random key must be a UUID version 4"),
    ("chave", "not a PIX key"),
])
def test_pix_keys_follow_the_dict_formats(key: str, reason: str | None) -> None:
    error = pix_key_error(key)
    assert (error is None) if reason is None else (error is not None and error.startswith(reason))


@given(st.uuids(version=4))
def test_every_lower_case_uuid4_is_a_random_key(value: uuid.UUID) -> None:
    assert pix_key_error(str(value)) is None


def test_a_policy_with_a_bad_pix_key_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        NegotiationPolicy(pix_key="Pix@Otica.example")
    assert info.value.errors()[0]["loc"] == ("pix_key",)
    assert "lower case" in str(info.value)


def test_interest_above_the_legal_ceiling_is_refused() -> None:
    agency = LegalCeilings()
    assert agency.interest_error(Decimal("0.01"), consumer=True) is None
    assert agency.interest_error(Decimal("0.02"), consumer=True) is not None
