"""Value objects shared by several contracts. Money is integer cents (BRL), never float."""

import re
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from regua_contracts.documents import normalize_document

UFS = frozenset(
    "AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO".split()
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_DIGITS = re.compile(r"\D")


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value) or len(value) > 254:
        raise ValueError("not a valid e-mail address")
    return value


def _phone(value: str) -> str:
    digits = _PHONE_DIGITS.sub("", value)
    if len(digits) in (10, 11):
        digits = "55" + digits
    if not (digits.startswith("55") and len(digits) in (12, 13)):
        raise ValueError("must be a Brazilian phone with area code, e.g. +55 11 98765-4321")
    if digits[2] == "0":
        raise ValueError("area code cannot start with 0")
    return "+" + digits


def _uf(value: str) -> str:
    value = value.strip().upper()
    if value not in UFS:
        raise ValueError("must be a Brazilian state abbreviation (UF), e.g. SP")
    return value


Cents = Annotated[int, Field(strict=True, gt=0, le=10**13, description="amount in integer cents (BRL)")]
Document = Annotated[str, AfterValidator(normalize_document)]
Email = Annotated[str, AfterValidator(_email)]
Phone = Annotated[str, AfterValidator(_phone)]
UF = Annotated[str, AfterValidator(_uf)]
IsoDate = Annotated[date, Field(strict=True)]


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Event(Contract):
    """Every event and command carries its own id (consumers dedupe on it) and its tenant."""

    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: datetime
    tenant_id: str


class Debtor(Contract):
    document: Document
    name: Annotated[str, Field(min_length=2, max_length=200)]
    email: Email | None = None
    phone: Phone | None = None
    state: UF | None = None

    @model_validator(mode="before")
    @classmethod
    def _needs_a_channel(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("email") and not data.get("phone"):
            raise ValueError("at least one contact channel (email or phone) is required")
        return data


class Creditor(Contract):
    """The client company on whose behalf we collect; every message names it (CDC art. 42-A)."""

    name: str
    cnpj: str
    address: str


class NewInvoice(Contract):
    """What a client company sends to register one invoice (HTTP body or inside a Kafka command)."""

    external_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w.\-/]+$")]
    amount_cents: Cents
    due_date: IsoDate
    debtor: Debtor
    description: Annotated[str, Field(max_length=500)] = ""
    tags: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=20)] = []
    propensity_score: Annotated[int | None, Field(ge=0, le=1000)] = None


class InvoiceSummary(Contract):
    invoice_id: UUID
    external_id: str
    amount_cents: int
    due_date: date


def new_event_id() -> UUID:
    return uuid4()
