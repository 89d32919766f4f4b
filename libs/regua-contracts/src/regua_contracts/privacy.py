"""LGPD requests across services (art. 18: access, correction, erasure), on PRIVACY.

Ingestion owns persons (one per CPF/CNPJ) and starts each request with the debtors (tenant, debtor id) the
person is behind; every service holding data about them answers or applies it. Agency-wide events carry
``tenant_id = AGENCY``."""

from typing import Annotated, Any, Final, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter

from regua_contracts.common import UF, Contract, Email, Event, IbgeCode, Phone, Postcode

AGENCY: Final = "agency"

#: Every service that holds data about a person and answers an access request with its part.
PERSON_DATA_HOLDERS: Final = ("ingestion", "ruler", "negotiation", "credit", "contact-history", "dispatch-email",
                              "dispatch-sms", "dispatch-whatsapp", "dispatch-phone")


class DebtorRef(Contract):
    tenant_id: str
    debtor_id: UUID


class PersonDataRequested(Event):
    """Access (art. 18 II): each holder answers with PersonDataExported."""

    type: Literal["person-data.requested.v1"] = "person-data.requested.v1"
    request_id: UUID
    person_id: UUID
    debtors: list[DebtorRef]


class PersonDataExported(Event):
    """One service's part of an access request: its rows about the person, by table."""

    type: Literal["person-data.exported.v1"] = "person-data.exported.v1"
    request_id: UUID
    person_id: UUID
    service: str
    data: dict[str, list[dict[str, Any]]]


class ContactDataCorrected(Event):
    """Correction (art. 18 III): every holder of the person's contact data replaces the fields given."""

    type: Literal["contact-data.corrected.v1"] = "contact-data.corrected.v1"
    request_id: UUID
    person_id: UUID
    debtors: list[DebtorRef]
    email: Email | None = None
    phone: Phone | None = None
    state: UF | None = None
    postcode: Postcode | None = None
    city_ibge: IbgeCode | None = None

    def changes(self) -> dict[str, str]:
        fields = ("email", "phone", "state", "postcode", "city_ibge")
        return {f: v for f in fields if (v := getattr(self, f)) is not None}


class PersonErasureRequested(Event):
    """Erasure (art. 18 VI), decided by ingestion once no legal basis remains: every holder deletes its rows
    about the debtors and shreds their data keys."""

    type: Literal["person-erasure.requested.v1"] = "person-erasure.requested.v1"
    request_id: UUID
    person_id: UUID
    debtors: list[DebtorRef]


AnyPrivacyEvent = Annotated[
    PersonDataRequested | PersonDataExported | ContactDataCorrected | PersonErasureRequested,
    Field(discriminator="type"),
]
PRIVACY_EVENT = TypeAdapter[AnyPrivacyEvent](AnyPrivacyEvent)
