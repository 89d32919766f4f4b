"""The WhatsApp Business Cloud API behind an adapter:

    POST {REGUA_WHATSAPP_API_URL}/{version}/{phone_number_id}/messages   Authorization: Bearer <token>
    {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "5511987654321",
     "type": "template", "template": {"name": "regua_notice_v1", "language": {"code": "pt_BR"},
       "components": [{"type": "body", "parameters": [{"type": "text", "text": "Olá, Ana,"}, ...]}]},
     "biz_opaque_callback_data": "<step id>"}
    -> 200 {"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id": "wamid..."}]}

Inside the 24-hour window the same body goes as ``"type": "text"``. The step id rides as the
Idempotency-Key header and as biz_opaque_callback_data, which status webhooks echo.

The Cloud API does not dedupe on that header and has no lookup by our reference: a send that may have gone
through (a crash before its confirmation, a timeout) is never repeated; the status webhooks that echo
biz_opaque_callback_data settle it, or it is left unconfirmed after REGUA_PROVIDER_STATUS_WAIT_SECONDS
(regua_dispatch.doubt)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from regua_contracts.contacts import ContactRequested
from regua_dispatch import inbound
from regua_dispatch.phones import digits, phone_key
from regua_dispatch.pipeline import Failed, Message, Sent
from regua_dispatch.provider import Calling, ProviderClient, ProviderRejected
from regua_dispatch.registry import TemplateRegistry
from regua_dispatch.templates import MessageTemplate, TemplateRejected, parameters, render, values
from regua_dispatch_whatsapp.window import inside_window

MAX_BODY = 1024  # the Cloud API's limit for a template body
_NAME = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def check_template(template: MessageTemplate) -> None:
    if len(template.body) > MAX_BODY:
        raise TemplateRejected("body", f"at most {MAX_BODY} characters (WhatsApp template body)")
    name = template.provider_template or ""
    if not name or not set(name) <= _NAME:
        raise TemplateRejected("provider_template", "the approved WhatsApp template's name is required "
                                                    "(lower-case letters, digits and _)")


class WhatsAppAdapter:
    channel = "whatsapp"
    look_up = None  # no lookup by our reference: status webhooks tell

    def __init__(self, client: ProviderClient, registry: TemplateRegistry, path: str) -> None:
        self.client = client
        self.registry = registry
        self.path = path  # /{version}/{phone_number_id}/messages

    def address_key(self, command: ContactRequested) -> str | None:
        return phone_key(command.recipient.phone) if command.recipient.phone else None

    async def compose(self, conn: asyncpg.Connection, commands: Sequence[ContactRequested],
                      at: datetime) -> dict[UUID, Message | Failed]:
        found = await self.registry.find(conn, [(c.tenant_id, c.template) for c in commands])
        last = await inbound.last_inbound(conn, "whatsapp", [(c.tenant_id, c.recipient.debtor_id) for c in commands])
        out: dict[UUID, Message | Failed] = {}
        for c in commands:
            template = found.get((c.tenant_id, c.template))
            if template is None:
                out[c.step_id] = Failed(f"no WhatsApp template named {c.template!r}")
                continue
            known = values(c)
            base: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                                    "to": digits(c.recipient.phone or ""), "biz_opaque_callback_data": str(c.step_id)}
            if inside_window(at, last.get((c.tenant_id, c.recipient.debtor_id))):
                out[c.step_id] = Message({**base, "type": "text",
                                          "text": {"preview_url": False, "body": render(template.body, known)}},
                                         {"template": template.name, "kind": "text"})
            elif not template.approved:
                out[c.step_id] = Failed(f"template {template.name!r} is not approved by WhatsApp; outside the "
                                        "24-hour window only approved templates may be sent")
            else:
                out[c.step_id] = Message({**base, "type": "template", "template": {
                    "name": template.provider_template, "language": {"code": template.language},
                    "components": [{"type": "body", "parameters": [
                        {"type": "text", "text": p} for p in parameters(template.body, known)]}],
                }}, {"template": template.name, "kind": "template", "provider_template": template.provider_template})
        return out

    async def send(self, command: ContactRequested, message: Message, calling: Calling) -> Sent | Failed:
        try:
            response = await self.client.post(self.path, message.payload, str(command.step_id), calling=calling)
        except ProviderRejected as exc:
            error = exc.error
            return Failed(f"{error.get('code', exc.status)}: {error.get('message', '')}".rstrip(": "))
        return Sent(str(response.body["messages"][0]["id"]))
