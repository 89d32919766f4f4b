"""Client companies (tenants) are registered here, the source of truth; every other service learns of them
from the TenantRegistered event. Only a hash of each API key is stored anywhere."""

import secrets
from datetime import UTC, datetime

import asyncpg

from regua_contracts import topics
from regua_contracts.tenants import TenantRegistered
from regua_platform import outbox
from regua_platform.outbox import OutboxMessage
from regua_platform.tenants import Scope, Tenant, hash_api_key, upsert_tenant


async def create_tenant(pool: asyncpg.Pool, name: str, cnpj: str, address: str,
                        scope: Scope = "integration") -> tuple[Tenant, str]:
    tenant = Tenant(id=f"tn_{secrets.token_hex(6)}", name=name, cnpj=cnpj, address=address, scope=scope)
    api_key = f"rk_{secrets.token_urlsafe(24)}"
    key_hash = hash_api_key(api_key)
    async with pool.acquire() as conn, conn.transaction():
        await upsert_tenant(conn, tenant, key_hash)
        await outbox.add(conn, [OutboxMessage(topics.TENANTS, tenant.id, TenantRegistered(
            occurred_at=datetime.now(UTC), tenant_id=tenant.id, creditor=tenant.creditor,
            api_key_sha256=key_hash.hex(), scope=scope,
        ))])
    return tenant, api_key
