"""The agency's legal ceilings as settings (environment, prefix ``REGUA_NEGOTIATION_``):

- `REGUA_NEGOTIATION_MAX_MONTHLY_INTEREST_CONSUMER` (default `0.01`, 1% a month): interest on arrears
  ceiling for consumer debts (every CPF debtor, and every debtor under a consumer policy);
- `REGUA_NEGOTIATION_MAX_MONTHLY_INTEREST_BUSINESS` (default `0.01`): the same for business debts.

A policy above the ceiling is refused when saved (422); a debt is never updated above it either."""

from decimal import Decimal
from functools import lru_cache
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from regua_finance import LegalCeilings

Rate = Annotated[Decimal, Field(ge=0, le=Decimal("0.2"))]


class LegalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGUA_NEGOTIATION_", extra="ignore")

    max_monthly_interest_consumer: Rate = Decimal("0.01")
    max_monthly_interest_business: Rate = Decimal("0.01")


@lru_cache(maxsize=1)
def ceilings() -> LegalCeilings:
    s = LegalSettings()
    return LegalCeilings(s.max_monthly_interest_consumer, s.max_monthly_interest_business)
