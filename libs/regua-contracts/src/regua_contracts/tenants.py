"""Facts about client companies (tenants), published by ingestion on TENANTS."""

from typing import Annotated, Literal

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


class TenantKeyRotated(Event):
    """A client company's API key was replaced (an operator's explicit rotation in ingestion): the only way an
    existing tenant's key changes. A tenant.registered naming another key for a known tenant is refused."""

    type: Literal["tenant.key-rotated.v1"] = "tenant.key-rotated.v1"
    api_key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


TenantEvent = Annotated[TenantRegistered | TenantKeyRotated, Field(discriminator="type")]
