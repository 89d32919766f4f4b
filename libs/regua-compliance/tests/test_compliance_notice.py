"""The prior notice of a bureau listing states the last day to pay: the debtor's local date of sending plus
their state's payment window (DOMAIN.md)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from regua_compliance.notice import DEFAULT_PAYMENT_WINDOW_DAYS, pay_by, payment_window

UTC_LATE = datetime(2027, 3, 11, 2, 30, tzinfo=ZoneInfo("UTC"))  # 23:30 of the 10th in São Paulo


@pytest.mark.parametrize(("state", "days"), [("SP", 20), ("PE", 20), ("PI", 15), ("MT", 45), ("RJ", 10),
                                             (None, 10), ("sp", 20)])
def test_the_payment_window_by_state(state: str | None, days: int) -> None:
    assert payment_window(state) == timedelta(days=days)
    assert DEFAULT_PAYMENT_WINDOW_DAYS == 10


def test_pay_by_counts_from_the_debtors_local_date() -> None:
    assert pay_by(UTC_LATE, "SP") == date(2027, 3, 10) + timedelta(days=20)
    # 00:30 of the 11th in Fernando de Noronha (UTC-2), though still the 10th in Recife.
    assert pay_by(UTC_LATE, "PE", postcode="53990000") == date(2027, 3, 11) + timedelta(days=20)
    assert pay_by(UTC_LATE, "PE") == date(2027, 3, 10) + timedelta(days=20)
