"""Client companies (tenants) and their API keys. Only a hash of each key is stored."""

import secrets
import time

import asyncpg

from regua_ingestion import store
from regua_ingestion.store import Tenant


async def create_tenant(pool: asyncpg.Pool, name: str, cnpj: str, address: str) -> tuple[Tenant, str]:
    tenant = Tenant(id=f"tn_{secrets.token_hex(6)}", name=name, cnpj=cnpj, address=address)
    api_key = f"rk_{secrets.token_urlsafe(24)}"
    await store.insert_tenant(pool, tenant, api_key)
    return tenant, api_key


class TenantDirectory:
    """Resolves API keys, caching hits briefly so a Kafka batch or a burst of requests costs one lookup."""

    def __init__(self, pool: asyncpg.Pool, ttl_seconds: float = 30.0) -> None:
        self._pool = pool
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, Tenant]] = {}

    async def by_api_key(self, api_key: str) -> Tenant | None:
        hit = self._cache.get(api_key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        tenant = await store.tenant_by_api_key(self._pool, api_key)
        if tenant is not None:
            self._cache[api_key] = (time.monotonic() + self._ttl, tenant)
        return tenant
