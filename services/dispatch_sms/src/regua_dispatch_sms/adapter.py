"""The SMS provider behind an adapter. Its HTTP API (a generic REST shape, like most Brazilian and global
SMS gateways):

    POST {REGUA_SMS_PROVIDER_URL}/v1/messages   Authorization: Bearer <token>, Idempotency-Key: <step id>
    {"from": "REGUA", "to": "+5511987654321", "text": "...", "reference": "<step id>",
     "encoding": "UCS2", "segments": 2}
    -> 201 {"id": "sms_...", "status": "queued"}  (the same key again: 200 and the same id, nothing sent)
    -> 400 {"error": {"code": "invalid_number", "message": "..."}}

Receipts and replies come back by webhook (api.py)."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from regua_contracts.contacts import AGREEMENT_TEMPLATE, NEGOTIATION_TEMPLATE, ContactRequested
from regua_dispatch.phones import phone_key
from regua_dispatch.pipeline import Failed, Message, Sent
from regua_dispatch.provider import ProviderClient, ProviderRejected
from regua_dispatch.registry import TemplateRegistry
from regua_dispatch.templates import MessageTemplate, TemplateRejected, render, sample_command, values
from regua_dispatch_sms.segments import measure

#: Provider error codes that mean the number itself is bad: the phone is invalidated.
INVALID_NUMBER = frozenset({"invalid_number", "unknown_subscriber", "number_not_in_service"})
MAX_SEGMENTS = 6  # a template longer than this with a one-invoice sample is refused when saved
#: Templates whose messages carry what the debtor acts on, longer than six parts. Negotiation states the offer
#: menu and the self-service link; the agreement confirmation carries the first PIX copia e cola (some 190
#: characters, never cut: a cut code does not pay) and the link. The sample's link is a signed one (some 190
#: characters, as long as any link negotiation may send): with it the shipped agreement text renders to eleven
#: parts (eight with the short link negotiation sends now). It goes once per agreement and is what the debtor
#: pays with: worth the parts.
LONGER = {NEGOTIATION_TEMPLATE: 10, AGREEMENT_TEMPLATE: 12}


def max_segments(template: MessageTemplate) -> int:
    return LONGER.get(template.name, MAX_SEGMENTS)


def check_length(template: MessageTemplate) -> None:
    length = measure(render(template.body, values(sample_command("sms", template.name))))
    limit = max_segments(template)
    if length.segments > limit:
        raise TemplateRejected("body", f"renders to {length.segments} SMS parts ({length.encoding}, "
                                       f"{length.units} units) with one invoice; at most {limit}")


class SmsAdapter:
    channel = "sms"

    def __init__(self, client: ProviderClient, registry: TemplateRegistry, sender_id: str) -> None:
        self.client = client
        self.registry = registry
        self.sender_id = sender_id

    def address_key(self, command: ContactRequested) -> str | None:
        return phone_key(command.recipient.phone) if command.recipient.phone else None

    async def compose(self, conn: asyncpg.Connection, commands: Sequence[ContactRequested],
                      at: datetime) -> dict[UUID, Message | Failed]:
        found = await self.registry.find(conn, [(c.tenant_id, c.template) for c in commands])
        out: dict[UUID, Message | Failed] = {}
        for c in commands:
            template = found.get((c.tenant_id, c.template))
            if template is None:
                out[c.step_id] = Failed(f"no SMS template named {c.template!r}")
                continue
            text = render(template.body, values(c))
            length = measure(text)
            out[c.step_id] = Message(
                {"from": self.sender_id, "to": c.recipient.phone, "text": text, "reference": str(c.step_id),
                 "encoding": length.encoding, "segments": length.segments},
                {"template": template.name, "encoding": length.encoding, "segments": length.segments},
            )
        return out

    async def send(self, command: ContactRequested, message: Message) -> Sent | Failed:
        try:
            response = await self.client.post("/v1/messages", message.payload, str(command.step_id))
        except ProviderRejected as exc:
            error = exc.error
            code = str(error.get("code", f"http_{exc.status}"))
            return Failed(f"{code}: {error.get('message', '')}".rstrip(": "), contact_invalid=code in INVALID_NUMBER)
        return Sent(str(response.body["id"]))
