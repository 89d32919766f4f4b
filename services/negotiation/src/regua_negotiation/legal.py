"""The agency's legal ceilings as settings (environment, prefix ``REGUA_NEGOTIATION_``):

- `REGUA_NEGOTIATION_MAX_MONTHLY_INTEREST_CONSUMER` (default `0.01`, 1% a month): interest on arrears
  ceiling for consumer debts (every CPF debtor, and every debtor under a consumer policy);
- `REGUA_NEGOTIATION_MAX_MONTHLY_INTEREST_BUSINESS` (default `0.01`): the same for business debts.

A policy above the ceiling is refused when saved (422); a debt is never updated above it either."""

from functools import lru_cache

from regua_finance import LegalCeilings
from regua_platform.settings import Settings


@lru_cache(maxsize=1)
def ceilings() -> LegalCeilings:
    s = Settings()
    return LegalCeilings(s.negotiation_max_monthly_interest_consumer, s.negotiation_max_monthly_interest_business)
