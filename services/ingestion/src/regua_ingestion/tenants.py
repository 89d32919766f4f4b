"""Client companies (tenants) are registered here, the source of truth; every other service learns of them
from the TenantRegistered event. Only a hash of each API key is stored anywhere."""

import secrets
from datetime import UTC, datetime

import asyncpg

from regua_contracts import topics
from regua_contracts.tenants import TenantKeyRotated, TenantRegistered
from regua_platform import outbox
from regua_platform.outbox import OutboxMessage
from regua_platform.tenants import Scope, Tenant, hash_api_key, upsert_tenant


async def create_tenant(pool: asyncpg.Pool, name: str, cnpj: str, address: str,
                        scope: Scope = "integration") -> tuple[Tenant, str]:
    tenant = Tenant(id=f"tn_{secrets.token_hex(6)}", name=name, cnpj=cnpj, address=address, scope=scope)
    api_key = _new_api_key()
    key_hash = hash_api_key(api_key)
    async with pool.acquire() as conn, conn.transaction():
        await upsert_tenant(conn, tenant, key_hash)
        await outbox.add(conn, [OutboxMessage(topics.TENANTS, tenant.id, TenantRegistered(
            occurred_at=datetime.now(UTC), tenant_id=tenant.id, creditor=tenant.creditor,
            api_key_sha256=key_hash.hex(), scope=scope,
        ))])
    return tenant, api_key


def _new_api_key() -> str:
    return f"rk_{secrets.token_urlsafe(24)}"


async def rotate_api_key(pool: asyncpg.Pool, tenant_id: str) -> str | None:
    """Replaces a tenant's API key (the old one stops working everywhere once the event is replicated);
    returns the new key, or None for an unknown tenant."""
    api_key = _new_api_key()
    key_hash = hash_api_key(api_key)
    async with pool.acquire() as conn, conn.transaction():
        updated = await conn.fetchval(
            "UPDATE known_tenants SET api_key_hash = $2, updated_at = now() WHERE id = $1 RETURNING id",
            tenant_id, key_hash)
        if updated is None:
            return None
        await outbox.add(conn, [OutboxMessage(topics.TENANTS, tenant_id, TenantKeyRotated(
            occurred_at=datetime.now(UTC), tenant_id=tenant_id, api_key_sha256=key_hash.hex()))])
    return api_key
