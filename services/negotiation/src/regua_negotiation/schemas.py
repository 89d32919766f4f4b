"""What the negotiation API answers (views.py builds it): declared in the OpenAPI document (``responses=``),
never used to filter."""

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from regua_negotiation.domain.policy import NegotiationPolicy


class SavedPolicy(BaseModel):
    version: int


class PolicyVersion(BaseModel):
    version: int
    created_at: datetime


class PolicyView(BaseModel):
    version: int = Field(description="0 and the defaults while the tenant never saved a policy")
    policy: NegotiationPolicy
    versions: list[PolicyVersion]


class UpdatedDebt(BaseModel):
    principal_cents: int | None
    fine_cents: int | None
    interest_cents: int | None
    total_cents: int
    as_of: date | None


class OfferView(BaseModel):
    """total = first + (n - 1) x installment_cents, or n x installment_cents when first_installment_cents is 0."""

    offer_id: UUID
    installments: int
    total_cents: int
    installment_amounts: list[int]
    first_installment_cents: int
    installment_cents: int
    due_dates: list[date]
    discount_cents: int
    updated_debt_cents: int
    updated_debt: UpdatedDebt
    expires_on: date
    invoice_ids: list[UUID]
    policy_version: int


class DebtView(BaseModel):
    invoice_id: UUID
    external_id: str
    due_date: date
    principal_cents: int
    fine_cents: int
    interest_cents: int
    total_cents: int
    days_overdue: int


class OfferMenu(BaseModel):
    debtor_id: UUID
    today: date
    debts: list[DebtView]
    offers: list[OfferView]


class OffersSent(BaseModel):
    request_id: UUID
    channel: Literal["whatsapp", "sms", "email"]


class InstallmentView(BaseModel):
    number: int
    amount_cents: int
    due_date: date
    paid_cents: int
    payment_reference: str
    pix_copia_e_cola: str


class AgreementView(BaseModel):
    agreement_id: UUID
    debtor_id: UUID
    offer_id: UUID
    status: Literal["active", "settled", "broken", "cancelled"]
    accepted_via: str
    invoice_ids: list[UUID]
    total_cents: int
    reason: str | None
    balance_cents: int | None = Field(description="after a break: what is owed again, discounts revoked")
    paid_after_close_cents: int
    installments: list[InstallmentView]


class AgreementList(BaseModel):
    agreements: list[AgreementView]


class SelfServiceLink(BaseModel):
    url: str
    path: str
    expires_at: datetime


class ClockView(BaseModel):
    now: datetime
