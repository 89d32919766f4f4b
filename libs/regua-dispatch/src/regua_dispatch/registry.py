"""The template registry of a channel: the tenant's own templates (table ``message_templates``), else
the defaults shipped in the service's package. Every template passes the rules of templates.check when
it is saved, shipped defaults included (at start-up)."""

from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

import asyncpg
import yaml

from regua_dispatch.templates import MessageTemplate, check

Check = Callable[[MessageTemplate], None]


def load_defaults(package: str, channel: str, extra: Check | None = None) -> dict[str, MessageTemplate]:
    """``<package>/templates.yaml``: ``{name: {body: ..., provider_template: ..., approved: ...}}``."""
    data: dict[str, dict[str, Any]] = yaml.safe_load((resources.files(package) / "templates.yaml").read_text("utf-8"))
    defaults = {name: MessageTemplate(name=name, channel=channel, **fields) for name, fields in data.items()}
    for template in defaults.values():
        check(template, extra)
    return defaults


class TemplateRegistry:
    def __init__(self, channel: str, defaults: dict[str, MessageTemplate], extra: Check | None = None) -> None:
        self.channel = channel
        self.defaults = defaults
        self.extra = extra

    async def find(self, conn: asyncpg.Connection | asyncpg.Pool,
                   wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], MessageTemplate]:
        """(tenant id, name) -> template, the tenant's own before the default; missing ones are left out."""
        keys = sorted(set(wanted))
        rows = await conn.fetch(
            "SELECT t.tenant_id, t.name, t.body, t.provider_template, t.language, t.approved "
            "FROM message_templates t JOIN unnest($2::text[], $3::text[]) AS k(tenant_id, name) "
            "ON t.tenant_id = k.tenant_id AND t.name = k.name WHERE t.channel = $1",
            self.channel, [k[0] for k in keys], [k[1] for k in keys],
        ) if keys else []
        found = {(r["tenant_id"], r["name"]): _template(self.channel, r) for r in rows}
        for tenant_id, name in keys:
            if (tenant_id, name) not in found and name in self.defaults:
                found[(tenant_id, name)] = self.defaults[name]
        return found

    async def save(self, conn: asyncpg.Connection | asyncpg.Pool, tenant_id: str, template: MessageTemplate) -> None:
        check(template, self.extra)  # raises TemplateRejected: nothing is stored
        await conn.execute(
            "INSERT INTO message_templates (tenant_id, channel, name, body, provider_template, language, approved) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, channel, name) DO UPDATE SET "
            "body = $4, provider_template = $5, language = $6, approved = $7, updated_at = now()",
            tenant_id, self.channel, template.name, template.body, template.provider_template, template.language,
            template.approved,
        )

    async def all_for(self, conn: asyncpg.Connection | asyncpg.Pool, tenant_id: str) -> dict[str, MessageTemplate]:
        rows = await conn.fetch(
            "SELECT name, body, provider_template, language, approved FROM message_templates "
            "WHERE tenant_id = $1 AND channel = $2", tenant_id, self.channel,
        )
        return {**self.defaults, **{r["name"]: _template(self.channel, r) for r in rows}}


def _template(channel: str, row: asyncpg.Record) -> MessageTemplate:
    return MessageTemplate(name=row["name"], channel=channel, body=row["body"],
                           provider_template=row["provider_template"], language=row["language"],
                           approved=row["approved"])
