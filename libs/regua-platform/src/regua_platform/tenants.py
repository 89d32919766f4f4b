"""Tenant authentication, the same in every service: an API key (header X-API-Key) is hashed and looked
up in the service's own ``known_tenants`` table, which ingestion writes and others replicate from
regua.tenants.v1 (``replicate_tenants``)."""

import hashlib
import time
from dataclasses import dataclass
from typing import Annotated, Literal

import asyncpg
from fastapi import Depends, Header, Request
from pydantic import BaseModel, TypeAdapter

from regua_contracts import topics
from regua_contracts.common import Creditor
from regua_contracts.tenants import TenantEvent, TenantKeyRotated, TenantRegistered
from regua_platform.http import ApiError
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.service import Runtime, runtime_of

Scope = Literal["integration", "administration"]


class TenantPing(BaseModel):
    """What ``GET /v1/ping`` answers once a service knows the tenant's API key."""

    tenant_id: str


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    cnpj: str
    address: str
    # What its API key may do: integrate (invoices, payments, reads) or also administer (rulers, policies).
    scope: Scope = "integration"

    @property
    def creditor(self) -> Creditor:
        return Creditor(name=self.name, cnpj=self.cnpj, address=self.address)


def hash_api_key(api_key: str) -> bytes:
    return hashlib.sha256(api_key.encode()).digest()


async def upsert_tenant(conn: asyncpg.Connection | asyncpg.Pool, tenant: Tenant, api_key_hash: bytes) -> None:
    await conn.execute(
        "INSERT INTO known_tenants (id, name, cnpj, address, api_key_hash, scope) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (id) DO UPDATE SET name = $2, cnpj = $3, address = $4, api_key_hash = $5, scope = $6, "
        "updated_at = now()",
        tenant.id, tenant.name, tenant.cnpj, tenant.address, api_key_hash, tenant.scope,
    )


class TenantDirectory:
    """Resolves API keys, caching hits briefly so a burst of requests or a Kafka batch costs one lookup."""

    def __init__(self, pool: asyncpg.Pool, ttl_seconds: float = 30.0) -> None:
        self._pool = pool
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, Tenant]] = {}

    async def by_api_key(self, api_key: str) -> Tenant | None:
        hit = self._cache.get(api_key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        row = await self._pool.fetchrow(
            "SELECT id, name, cnpj, address, scope FROM known_tenants WHERE api_key_hash = $1", hash_api_key(api_key)
        )
        if row is None:
            return None
        tenant = Tenant(**dict(row))
        self._cache[api_key] = (time.monotonic() + self._ttl, tenant)
        return tenant

    async def by_id(self, tenant_id: str) -> Tenant | None:
        """The tenant a staff token acts for (its credential is the token, not the key)."""
        row = await self._pool.fetchrow("SELECT id, name, cnpj, address, scope FROM known_tenants WHERE id = $1",
                                        tenant_id)
        return Tenant(**dict(row)) if row else None

    def forget(self) -> None:
        self._cache.clear()


def install_tenant_directory(runtime: Runtime, *, replicate: bool = True) -> TenantDirectory:
    """Call from a service's wire(): authenticates HTTP requests (``TenantDep``) and, unless the service is
    the source of tenants, keeps ``known_tenants`` in step with regua.tenants.v1."""
    directory = TenantDirectory(runtime.pool)
    runtime.extras["tenants"] = directory
    if replicate:
        async def handle(deliveries: list[Delivery[TenantRegistered | TenantKeyRotated]]) -> list[Rejection]:
            rejected: list[Rejection] = []
            async with runtime.pool.acquire() as conn, conn.transaction():
                for d in deliveries:
                    why = await replicate_tenant_event(conn, d.event)
                    if why:
                        rejected.append(Rejection(d.record, why))
            directory.forget()  # a rotated key must stop working at once, not when its cache entry expires
            return rejected

        subscribe(runtime.broker, runtime.settings, topic=topics.TENANTS,
                  group_id=f"{runtime.settings.service_name}-tenants",
                  adapter=TypeAdapter[TenantRegistered | TenantKeyRotated](TenantEvent), handler=handle)
    return directory


async def replicate_tenant_event(conn: asyncpg.Connection, event: TenantRegistered | TenantKeyRotated) -> str | None:
    """Applies a tenant event to ``known_tenants``; returns why it is refused, if it is. A key changes only by
    rotation: a registration naming another key for a known tenant is refused (defence in depth behind the
    producer signature, so even a replayed old registration cannot bring a rotated-out key back)."""
    known = await conn.fetchval("SELECT api_key_hash FROM known_tenants WHERE id = $1", event.tenant_id)
    new_hash = bytes.fromhex(event.api_key_sha256)
    if isinstance(event, TenantKeyRotated):
        if known is None:
            return f"key rotation of unknown tenant {event.tenant_id}"
        await conn.execute("UPDATE known_tenants SET api_key_hash = $2, updated_at = now() WHERE id = $1",
                           event.tenant_id, new_hash)
        return None
    if known is not None and bytes(known) != new_hash:
        return f"tenant {event.tenant_id} is registered with another API key: a key changes only by rotation"
    c = event.creditor
    await upsert_tenant(conn, Tenant(event.tenant_id, c.name, c.cnpj, c.address, event.scope), new_hash)
    return None


async def current_tenant(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> Tenant:
    directory: TenantDirectory = runtime_of(request).extras["tenants"]
    tenant = await directory.by_api_key(x_api_key) if x_api_key else None
    if tenant is None:
        raise ApiError(401, "X-API-Key", "missing or unknown API key")
    return tenant


TenantDep = Annotated[Tenant, Depends(current_tenant)]
