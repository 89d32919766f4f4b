"""Money rules Régua applies in more than one service, defined once: when a due date is really due
(business days), how a payer behaves (one classification), and the legal ceilings of a consumer debt."""

from regua_finance.behaviour import ALWAYS_LATE_MIN, Behaviour, classify
from regua_finance.calendar import days_late, effective_due, is_business_day, next_business_day
from regua_finance.legal import (
    CONSUMER_FINE_CAP,
    DEFAULT_CEILINGS,
    LegalCeilings,
    is_consumer_document,
)

__all__ = [
    "ALWAYS_LATE_MIN", "CONSUMER_FINE_CAP", "DEFAULT_CEILINGS", "Behaviour", "LegalCeilings", "classify",
    "days_late", "effective_due", "is_business_day", "is_consumer_document", "next_business_day",
]
