"""Facts about client companies (tenants), published by ingestion on TENANTS."""

from typing import Literal

from pydantic import Field

from regua_contracts.common import Creditor, Event


class TenantRegistered(Event):
    """A client company and the SHA-256 of its API key, so every service can authenticate it."""

    type: Literal["tenant.registered.v1"] = "tenant.registered.v1"
    creditor: Creditor
    api_key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    #: What the key may do: integrate, or also administer the tenant's configuration (rulers, policies).
    #: Added with a default: events published before it carry integration keys.
    scope: Literal["integration", "administration"] = "integration"
