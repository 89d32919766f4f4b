"""The one client of Régua's credit-analysis gRPC service (client.py says how it behaves)."""

from regua_credit_client.breaker import CircuitBreaker
from regua_credit_client.client import (
    FALLBACKS,
    CreditClient,
    CreditError,
    InvalidRequest,
    InvoiceNotOpen,
    NotFound,
)
from regua_credit_client.models import Behavior, Debt, DebtorProfile, OfferLimits, Reason, Segment

__all__ = [
    "FALLBACKS",
    "Behavior",
    "CircuitBreaker",
    "CreditClient",
    "CreditError",
    "Debt",
    "DebtorProfile",
    "InvalidRequest",
    "InvoiceNotOpen",
    "NotFound",
    "OfferLimits",
    "Reason",
    "Segment",
]
