"""What ingestion's administration and privacy endpoints answer: declared in the OpenAPI document
(``responses=``), never used to filter. The invoice API's models live with it in api.py."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from regua_platform.tenants import Scope


class TenantKey(BaseModel):
    """A client company's API key, shown once (only a hash is stored)."""

    tenant_id: str
    api_key: str


class RegisteredTenant(TenantKey):
    scope: Scope


class ExportRequested(BaseModel):
    request_id: UUID
    status: Literal["pending"]
    services: list[str] = Field(description="the services asked for their part")


class PersonExport(BaseModel):
    """Everything held about the person: service -> table -> rows, complete once every service answered."""

    request_id: UUID
    complete: bool
    missing: list[str]
    person_id: UUID
    requested_at: datetime
    services: dict[str, dict[str, list[dict[str, Any]]]]


class ContactCorrected(BaseModel):
    request_id: UUID
    corrected: list[str] = Field(description="the fields replaced")
    invoices: int


class PersonErased(BaseModel):
    request_id: UUID
    status: Literal["erased"]
