"""A tenant's negotiation policy: data, versioned like rulers. Defaults follow DOMAIN.md (fine 2%, interest
1% a month pro rata die); a consumer debt's fine can never exceed 2% (CDC art. 52 §1)."""

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from regua_finance import CONSUMER_FINE_CAP
from regua_finance import Behaviour as PayerBehaviour
from regua_finance import classify as classify_payer
from regua_negotiation.domain.pix import pix_key_error

Behaviour = Literal["on_time", "sometimes_late", "always_late", "unknown"]
Pct = Annotated[Decimal, Field(ge=0, le=100, description="percent, e.g. 50 = half")]


class DiscountRule(BaseModel):
    """Discounts allowed off each component of the updated debt, for debts in a lateness band and of
    debtors in some behaviour classes (empty: any). The first matching rule wins."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_days_overdue: Annotated[int, Field(ge=0)] = 0
    max_days_overdue: Annotated[int | None, Field(ge=0)] = None
    behaviours: list[Behaviour] = []
    fine_pct: Pct = Decimal(0)
    interest_pct: Pct = Decimal(0)
    principal_pct: Pct = Decimal(0)

    def matches(self, days_overdue: int, behaviour: Behaviour) -> bool:
        if days_overdue < self.min_days_overdue:
            return False
        if self.max_days_overdue is not None and days_overdue > self.max_days_overdue:
            return False
        return not self.behaviours or behaviour in self.behaviours


def _default_discounts() -> list[DiscountRule]:
    # "Está" inadimplente (occasional): waive fine and interest; chronic payers get less.
    return [
        DiscountRule(behaviours=["on_time", "sometimes_late", "unknown"], fine_pct=Decimal(100),
                     interest_pct=Decimal(100)),
        DiscountRule(min_days_overdue=90, fine_pct=Decimal(100), interest_pct=Decimal(50),
                     principal_pct=Decimal(10)),
        DiscountRule(fine_pct=Decimal(50), interest_pct=Decimal(50)),
    ]


class NegotiationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    consumer: bool = True  # consumer relations (CDC): the fine is capped at 2%
    fine_rate: Annotated[Decimal, Field(ge=0, le=1)] = Decimal("0.02")
    interest_monthly_rate: Annotated[Decimal, Field(ge=0, le=Decimal("0.2"))] = Decimal("0.01")
    discounts: list[DiscountRule] = Field(default_factory=_default_discounts)
    max_installments: Annotated[int, Field(ge=1, le=48)] = 6
    min_installment_cents: Annotated[int, Field(ge=1)] = 5_000
    down_payment_pct: Pct = Decimal(0)  # the first installment is at least this share of the total
    # Installments all equal: the cents that do not divide (fewer than the number of installments) are waived
    # as an extra discount. Off (the default): the first installment carries them, and says so.
    equal_installments: bool = False
    first_installment_days: Annotated[int, Field(ge=0, le=30)] = 1  # days from acceptance to the first due date
    early_payment_discount_pct: Pct = Decimal(0)  # extra discount off the pay-in-full option only
    offer_validity_days: Annotated[int, Field(ge=1, le=60)] = 5
    break_tolerance_days: Annotated[int, Field(ge=0, le=90)] = 5  # an installment this late breaks the agreement
    revoke_discounts_on_break: bool = True  # a broken agreement owes the undiscounted update again
    link_validity_days: Annotated[int, Field(ge=1, le=90)] = 7
    # Merchant data of the PIX payloads; unset: the tenant's CNPJ as key and its name, city São Paulo.
    pix_key: Annotated[str | None, Field(max_length=77)] = None
    merchant_name: Annotated[str | None, Field(max_length=25)] = None
    merchant_city: Annotated[str, Field(min_length=1, max_length=15)] = "SAO PAULO"

    @field_validator("pix_key")
    @classmethod
    def _dict_key(cls, value: str | None) -> str | None:
        if value is not None and (error := pix_key_error(value)):
            raise ValueError(error)
        return value

    @model_validator(mode="after")
    def _consumer_fine_cap(self) -> "NegotiationPolicy":
        if self.consumer and self.fine_rate > CONSUMER_FINE_CAP:
            raise ValueError("fine_rate may not exceed 0.02 (2%) for consumer debts (CDC art. 52 §1)")
        return self

    def discount_for(self, days_overdue: int, behaviour: Behaviour) -> DiscountRule:
        return next((r for r in self.discounts if r.matches(days_overdue, behaviour)), DiscountRule())


_BEHAVIOURS: dict[PayerBehaviour, Behaviour] = {
    PayerBehaviour.NO_HISTORY: "unknown", PayerBehaviour.ON_TIME: "on_time",
    PayerBehaviour.SOMETIMES_LATE: "sometimes_late", PayerBehaviour.ALWAYS_LATE: "always_late",
}


def classify(on_time: int, late: int) -> Behaviour:
    """Behaviour class from the debtor's record with this tenant: the one classification of regua_finance
    (``late`` counts invoices paid late and open ones overdue now, against effective due dates)."""
    return _BEHAVIOURS[classify_payer(on_time, late)]
