"""The SMS provider behind an adapter. Its HTTP API (a generic REST shape, like most Brazilian and global
SMS gateways):

    POST {REGUA_SMS_PROVIDER_URL}/v1/messages   Authorization: Bearer <token>, Idempotency-Key: <step id>
    {"from": "REGUA", "to": "+5511987654321", "text": "...", "reference": "<step id>",
     "encoding": "UCS2", "segments": 2}
    -> 201 {"id": "sms_...", "status": "queued"}  (the same key again: 200 and the same id, nothing sent)
    -> 400 {"error": {"code": "invalid_number", "message": "..."}}

    GET {REGUA_SMS_PROVIDER_URL}/v1/messages?reference=<step id>   (the gateway's status lookup)
    -> 200 {"messages": [{"id": "sms_...", "reference": "<step id>", "status": "delivered"}]}  (empty: none)

Not every gateway honours Idempotency-Key: a send that may have gone through (a crash before its
confirmation, a timeout) is looked up by reference before any second send (regua_dispatch.doubt).
Receipts and replies come back by webhook (api.py)."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from regua_contracts.contacts import AGREEMENT_TEMPLATE, NEGOTIATION_TEMPLATE, ContactRequested
from regua_dispatch.phones import phone_key
from regua_dispatch.pipeline import Failed, Message, Sent
from regua_dispatch.provider import Calling, ProviderClient, ProviderRejected, ProviderResponse, ProviderUnavailable
from regua_dispatch.registry import TemplateRegistry
from regua_dispatch.templates import (
    BUREAU_NOTICE_TEMPLATE,
    USUAL_CREDITOR,
    MessageTemplate,
    TemplateRejected,
    render,
    values,
    worst_case_command,
)
from regua_dispatch_sms.segments import LIMITS, measure

#: Provider error codes that mean the number itself is bad: the phone is invalidated.
INVALID_NUMBER = frozenset({"invalid_number", "unknown_subscriber", "number_not_in_service"})
#: The ruler's collection messages. Each keeps within two SMS parts (306 GSM-7 characters) with the worst case
#: of a usual creditor; so does any other template a tenant saves for a ruler step.
COLLECTION_TEMPLATES = frozenset({"reminder", "notice", NEGOTIATION_TEMPLATE, BUREAU_NOTICE_TEMPLATE, "thank_you"})
MAX_SEGMENTS = 2
#: The agreement confirmation is no collection message but the answer to the debtor's own "ACORDO n": it
#: carries the first installment's PIX copia e cola (some 190 characters, never cut: a cut code does not pay),
#: the link to the others and the installments agreed. Code, link, creditor and opt-out alone take some 390
#: characters, past two parts and most of three: four parts (the shipped text renders to four).
LONGER = {AGREEMENT_TEMPLATE: 4}
#: The invoice counts the check renders with: one (its number is stated) and several (their count and total).
CHECKED_INVOICES = (1, 4)


def max_segments(template: MessageTemplate) -> int:
    return LONGER.get(template.name, MAX_SEGMENTS)


def check_length(template: MessageTemplate) -> None:
    """Refuses a template that renders to more parts than its limit with the standard worst case
    (regua_dispatch.templates.worst_case_command) of a usual creditor (USUAL_CREDITOR: a 40-character name and
    a 60-character address), with one invoice and with four."""
    limit = max_segments(template)
    for invoices in CHECKED_INVOICES:
        command = worst_case_command("sms", template.name, invoices, USUAL_CREDITOR)
        length = measure(render(template.body, values(command)))
        if length.segments <= limit:
            continue
        room = limit * LIMITS[length.encoding][1]  # units a message of ``limit`` parts holds
        kind = "the agreement confirmation" if template.name == AGREEMENT_TEMPLATE else "a collection SMS"
        hint = (" (a character outside the GSM 03.38 alphabet, such as ã, ç or á, makes the whole text UCS-2)"
                if length.encoding == "UCS2" else "; state less: the invoices' count and total ({{your_invoices}}) "
                                                 "rather than each one, the link for the rest")
        raise TemplateRejected("body", f"renders to {length.segments} SMS parts ({length.encoding}, {length.units} "
                                       f"units) with {invoices} invoice{'s' if invoices > 1 else ''} and a usual "
                                       f"creditor (a {len(USUAL_CREDITOR.name)}-character name, a "
                                       f"{len(USUAL_CREDITOR.address)}-character address); {kind} takes at most "
                                       f"{limit} ({room} {length.encoding} units){hint}")


class SmsAdapter:
    channel = "sms"

    def __init__(self, client: ProviderClient, registry: TemplateRegistry, sender_id: str) -> None:
        self.client = client
        self.registry = registry
        self.sender_id = sender_id
        self.look_up = self.find

    async def find(self, step_id: UUID) -> str | None:
        """The id of the gateway's message carrying this step as reference, None when it has none."""
        try:
            response = await self.client.get("/v1/messages", {"reference": str(step_id)})
        except ProviderRejected as exc:
            raise ProviderUnavailable(f"SMS status lookup refused: HTTP {exc.status}") from exc
        found = [m for m in response.body.get("messages", []) if m.get("reference") == str(step_id)]
        return str(found[0]["id"]) if found else None

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

    async def send(self, command: ContactRequested, message: Message, calling: Calling) -> Sent | Failed:
        try:
            response = await self.client.post("/v1/messages", message.payload, str(command.step_id),
                                              look_up=lambda: self._found(command.step_id), calling=calling)
        except ProviderRejected as exc:
            error = exc.error
            code = str(error.get("code", f"http_{exc.status}"))
            return Failed(f"{code}: {error.get('message', '')}".rstrip(": "), contact_invalid=code in INVALID_NUMBER)
        return Sent(str(response.body["id"]))

    async def _found(self, step_id: UUID) -> ProviderResponse | None:
        found = await self.find(step_id)
        return ProviderResponse(200, {"id": found}) if found is not None else None
