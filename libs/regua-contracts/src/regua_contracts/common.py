"""Value objects shared by several contracts. Money is integer cents (BRL), never float."""

import re
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from regua_contracts.documents import normalize_document

#: The first two digits of an IBGE municipality code: the state.
_IBGE_UF = frozenset("11 12 13 14 15 16 17 21 22 23 24 25 26 27 28 29 31 32 33 35 41 42 43 50 51 52 53".split())
UFS = frozenset(
    "AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO".split()
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DIGITS = re.compile(r"\D")


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value) or len(value) > 254:
        raise ValueError("not a valid e-mail address")
    return value


def _phone(value: str) -> str:
    """A Brazilian number that exists (Google's libphonenumber metadata: real area codes, mobile and landline
    ranges), in E.164. Whether it is a mobile (SMS, WhatsApp) is ``is_mobile``'s question."""
    try:
        number = phonenumbers.parse(value, "BR")
    except phonenumbers.NumberParseException:
        raise ValueError("must be a Brazilian phone with area code, e.g. +55 11 98765-4321") from None
    if number.country_code != 55:
        raise ValueError("must be a Brazilian phone (+55)")
    if len(str(number.national_number)) < 10 or not phonenumbers.is_possible_number(number):
        raise ValueError("must be a Brazilian phone with area code, e.g. +55 11 98765-4321")
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid Brazilian phone number (area code or number range does not exist)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(phone: str) -> bool:
    """True for a Brazilian mobile number: the only kind SMS and WhatsApp may be sent to."""
    try:
        number = phonenumbers.parse(phone, "BR")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) in (phonenumbers.PhoneNumberType.MOBILE,
                                                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def _postcode(value: str) -> str:
    digits = _DIGITS.sub("", value)
    if len(digits) != 8 or digits == "00000000":
        raise ValueError("must be a CEP of 8 digits, e.g. 01310-100")
    return digits


def _ibge(value: str) -> str:
    value = value.strip()
    if not (len(value) == 7 and value.isdigit() and value[:2] in _IBGE_UF):
        raise ValueError("must be a 7-digit IBGE municipality code, e.g. 3550308")
    return value


def _uf(value: str) -> str:
    value = value.strip().upper()
    if value not in UFS:
        raise ValueError("must be a Brazilian state abbreviation (UF), e.g. SP")
    return value


Cents = Annotated[int, Field(strict=True, gt=0, le=10**13, description="amount in integer cents (BRL)")]
Document = Annotated[str, AfterValidator(normalize_document)]
Email = Annotated[str, AfterValidator(_email)]
Phone = Annotated[str, AfterValidator(_phone)]
Postcode = Annotated[str, AfterValidator(_postcode)]
IbgeCode = Annotated[str, AfterValidator(_ibge)]
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
    #: The address's CEP and IBGE municipality code, when the client has them: they place the debtor in
    #: the right time zone where a state spans more than one (Fernando de Noronha, western Amazonas).
    postcode: Postcode | None = None
    city_ibge: IbgeCode | None = None

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
