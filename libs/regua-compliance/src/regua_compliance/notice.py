"""Prior notice of a bureau listing (CDC art. 43 §2, STJ Súmula 359): the debtor is told the last day to
pay before the listing. The payment window after the notice depends on the debtor's state (DOMAIN.md); legal
escalation lists only once it has passed."""

from datetime import date, datetime, timedelta

from regua_compliance.calendar import time_zone

DEFAULT_PAYMENT_WINDOW_DAYS = 10
#: States whose law gives the debtor longer than the default to pay after the notice.
PAYMENT_WINDOW_DAYS = {"PI": 15, "SP": 20, "PE": 20, "MT": 45}


def payment_window(state: str | None) -> timedelta:
    return timedelta(days=PAYMENT_WINDOW_DAYS.get((state or "").upper(), DEFAULT_PAYMENT_WINDOW_DAYS))


def pay_by(sent_at: datetime, state: str | None, postcode: str | None = None,
           city_ibge: str | None = None) -> date:
    """The notice's deadline: the debtor's local date of sending plus their state's payment window."""
    return sent_at.astimezone(time_zone(state, postcode, city_ibge)).date() + payment_window(state)
