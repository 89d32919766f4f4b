"""Hand-computed debt updates and offer menus (default policy: fine 2%, interest 1%/month over 30-day
months, ROUND_HALF_EVEN to the cent), month-end safe dates and the break rule."""

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from regua_finance import LegalCeilings
from regua_negotiation.domain.agreements import (
    Installment,
    apply_payment,
    balance_after_break,
    is_settled,
    late_installment,
)
from regua_negotiation.domain.debt import Debt, UpdatedDebt, update
from regua_negotiation.domain.offers import add_months, build_menu, installment_dates, split
from regua_negotiation.domain.policy import NegotiationPolicy, classify

P = NegotiationPolicy()


def debt(cents: int, due: date, n: int = 1) -> Debt:
    return Debt(f"inv-{n}", f"ext-{n}", cents, due)


@pytest.mark.parametrize(("principal", "due", "today", "expected"), [
    # Leap year: 31 Jan -> 1 Mar 2024 is 30 days. fine 100000*2% = 2000; interest 100000*1%*30/30 = 1000.
    (100000, date(2024, 1, 31), date(2024, 3, 1), UpdatedDebt(100000, 2000, 1000, 30)),
    # Common year: 31 Jan -> 1 Mar 2023 is 29 days. interest 100000*1%*29/30 = 966.67 -> 967.
    (100000, date(2023, 1, 31), date(2023, 3, 1), UpdatedDebt(100000, 2000, 967, 29)),
    # Due today: not overdue, nothing added.
    (100000, date(2024, 5, 10), date(2024, 5, 10), UpdatedDebt(100000, 0, 0, 0)),
    # Month end (a Friday), 1 day: fine 12345*2% = 246.9 -> 247; interest 12345*1%/30 = 4.115 -> 4.
    (12345, date(2024, 5, 31), date(2024, 6, 1), UpdatedDebt(12345, 247, 4, 1)),
    # Due on Sunday 30 Jun 2024: payable on Monday 1 Jul without fine or interest.
    (12345, date(2024, 6, 30), date(2024, 7, 1), UpdatedDebt(12345, 0, 0, 0)),
    # ... and 1 day late on Tuesday 2 Jul (counted from the Monday).
    (12345, date(2024, 6, 30), date(2024, 7, 2), UpdatedDebt(12345, 247, 4, 1)),
    # Due on Good Friday 29 Mar 2024 (a national holiday), then the weekend: payable on Monday 1 Apr.
    (12345, date(2024, 3, 29), date(2024, 4, 1), UpdatedDebt(12345, 0, 0, 0)),
    # Half-even ties across a year end, 12 days: fine 125*2% = 2.5 -> 2; interest 125*1%*12/30 = 0.5 -> 0.
    (125, date(2024, 12, 31), date(2025, 1, 12), UpdatedDebt(125, 2, 0, 12)),
    # Half-even tie upwards, 36 days: interest 125*1%*36/30 = 1.5 -> 2.
    (125, date(2024, 12, 31), date(2025, 2, 5), UpdatedDebt(125, 2, 2, 36)),
    # A year over 29 Feb 2024: 366 days. interest 50000*1%*366/30 = 6100; fine 1000.
    (50000, date(2024, 2, 28), date(2025, 2, 28), UpdatedDebt(50000, 1000, 6100, 366)),
    # Due Sunday 31 Dec 2023, 1 Jan a holiday: payable Tuesday 2 Jan; to 29 Feb 2024 is 29 + 29 = 58 days.
    # fine 19999.98 -> 20000; interest 999999*1%*58/30 = 19333.314 -> 19333.
    (999999, date(2023, 12, 31), date(2024, 2, 29), UpdatedDebt(999999, 20000, 19333, 58)),
])
def test_debt_update_by_hand(principal: int, due: date, today: date, expected: UpdatedDebt) -> None:
    assert update(debt(principal, due), today, P) == expected


def test_business_debt_may_have_a_larger_fine() -> None:
    # 15 days, fine 10% = 1000; interest 10000*2%*15/30 = 100.
    # (with an agency whose business interest ceiling is 2% a month)
    policy = NegotiationPolicy(consumer=False, fine_rate=Decimal("0.10"), interest_monthly_rate=Decimal("0.02"))
    agency = LegalCeilings(business_monthly_interest=Decimal("0.02"))
    assert update(debt(10000, date(2024, 3, 1)), date(2024, 3, 16), policy, agency).total_cents == 11100


def test_consumer_fine_is_capped_at_two_percent() -> None:
    with pytest.raises(ValidationError, match="2%"):
        NegotiationPolicy(fine_rate=Decimal("0.021"))


@pytest.mark.parametrize(("anchor", "months", "expected"), [
    (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap February
    (date(2023, 1, 31), 1, date(2023, 2, 28)),
    (date(2024, 1, 31), 2, date(2024, 3, 31)),  # counted from the anchor, not from 29 Feb
    (date(2024, 10, 31), 4, date(2025, 2, 28)),  # across a year end
    (date(2024, 12, 15), 1, date(2025, 1, 15)),
])
def test_add_months_is_month_end_safe(anchor: date, months: int, expected: date) -> None:
    assert add_months(anchor, months) == expected


def test_installment_dates_from_a_month_end() -> None:
    assert installment_dates(date(2024, 1, 31), 4) == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31),
                                                       date(2024, 4, 30)]


def test_menu_occasional_debtor_gets_fine_and_interest_waived() -> None:
    # Updated 100000 + 2000 + 1000 = 103000 (first case above); rule 1 waives fine and interest.
    menu = build_menu([debt(100000, date(2024, 1, 31))], date(2024, 3, 1), P, "unknown")
    assert menu.updated.total_cents == 103000
    assert menu.expires_on == date(2024, 3, 6)  # 5 days' validity
    assert [o.installments for o in menu.options] == [1, 2, 3, 4, 5, 6]
    assert menu.options[0].total_cents == 100000 and menu.options[0].discount_cents == 3000
    assert menu.options[1].amounts == [50000, 50000]
    # 100000 / 6 = 16666 rest 4: the first installment takes the 4 cents.
    assert menu.options[5].amounts == [16670] + [16666] * 5
    assert menu.options[5].due_dates[0] == date(2024, 3, 2) and menu.options[5].due_dates[-1] == date(2024, 8, 2)


def test_menu_chronic_debtor_long_overdue() -> None:
    # 31 Jan -> 10 May 2024 = 100 days. fine 600; interest 30000*1%*100/30 = 1000; updated 31600.
    # Rule for >= 90 days: fine 100%, interest 50%, principal 10% (in full only).
    menu = build_menu([debt(30000, date(2024, 1, 31))], date(2024, 5, 10), P, "always_late")
    cash, two, three = menu.options[0], menu.options[1], menu.options[2]
    assert cash.total_cents == 27000 + 500 and cash.discount_cents == 4100  # 31600 - 27500
    assert two.total_cents == 30500 and two.amounts == [15250, 15250]
    assert three.amounts == [10168, 10166, 10166]  # 30500 / 3 = 10166 rest 2
    assert menu.options[5].amounts == [5085] + [5083] * 5


def test_menu_two_invoices_chronic_short_delay_stops_at_minimum_installment() -> None:
    # inv1 8000, 20 days: fine 160, interest 53.33 -> 53. inv2 4000, 10 days: fine 80, interest 13.33 -> 13.
    # Updated 12000 + 240 + 66 = 12306; rule 3 halves fine (120) and interest (33): 12153.
    debts = [debt(8000, date(2024, 4, 30), 1), debt(4000, date(2024, 5, 10), 2)]
    menu = build_menu(debts, date(2024, 5, 20), P, "always_late")
    assert menu.updated == UpdatedDebt(12000, 240, 66, 20)
    assert [o.total_cents for o in menu.options] == [12153, 12153]
    assert menu.options[1].amounts == [6077, 6076]  # 3x would be 4051 < 5000


def test_menu_down_payment_and_early_payment_discount() -> None:
    # 31 May -> 30 Jun 2024 = 30 days: fine 1200, interest 600, updated 61800, no discount rule.
    policy = NegotiationPolicy(discounts=[], down_payment_pct=Decimal(50), early_payment_discount_pct=Decimal(5),
                               max_installments=3)
    menu = build_menu([debt(60000, date(2024, 5, 31))], date(2024, 6, 30), policy, "on_time")
    assert menu.options[0].total_cents == 61800 - 3090  # 5% early-payment discount in full
    assert menu.options[1].amounts == [30900, 30900]
    assert menu.options[2].amounts == [30900, 15450, 15450]  # 50% down, the rest in two
    assert menu.options[2].due_dates == [date(2024, 7, 1), date(2024, 8, 1), date(2024, 9, 1)]


def test_menu_small_debt_only_in_full() -> None:
    menu = build_menu([debt(9000, date(2024, 7, 1))], date(2024, 6, 20), P, "on_time")
    assert [(o.installments, o.total_cents) for o in menu.options] == [(1, 9000)]


def test_split_always_adds_up() -> None:
    for total in (1, 99, 12153, 100001):
        for count in range(1, 7):
            assert sum(split(total, count, Decimal(30))) == total


def test_payments_fill_installments_in_order_and_settle() -> None:
    plan = [Installment(n, 1000, date(2024, n, 10)) for n in (1, 2, 3)]
    plan, left = apply_payment(plan, 1500)
    assert [i.paid_cents for i in plan] == [1000, 500, 0] and left == 0
    plan, left = apply_payment(plan, 5000)
    assert is_settled(plan) and left == 3500


def test_break_only_beyond_tolerance() -> None:
    plan = [Installment(1, 1000, date(2024, 3, 10))]
    assert late_installment(plan, date(2024, 3, 15), 5) is None
    assert late_installment(plan, date(2024, 3, 16), 5) == plan[0]
    paid, _ = apply_payment(plan, 1000)
    assert late_installment(paid, date(2024, 4, 30), 5) is None


def test_break_balance_revokes_discounts_unless_the_policy_keeps_them() -> None:
    # Agreed 27500 of an updated 31600 (case above), 10000 paid: 21600 owed again, or 17500 if kept.
    assert balance_after_break(27500, 31600, 10000, revoke=True) == 21600
    assert balance_after_break(27500, 31600, 10000, revoke=False) == 17500


def test_behaviour_classes() -> None:
    # regua_finance's one definition: "always late" takes 3 late invoices and two thirds of those judged.
    assert [classify(0, 0), classify(3, 0), classify(2, 1), classify(0, 1), classify(0, 2), classify(0, 3)] == [
        "unknown", "on_time", "sometimes_late", "sometimes_late", "sometimes_late", "always_late"]
