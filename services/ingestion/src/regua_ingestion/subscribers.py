"""Kafka entrypoint: client companies produce commands to CLIENT_COMMANDS with their key in ``x-api-key``.
Produce with the invoice's external_id as the record key so one invoice's commands stay in order."""

import uuid

import asyncpg

from regua_contracts import topics
from regua_contracts.client_commands import (
    CLIENT_COMMAND,
    AnyClientCommand,
    CancelInvoice,
    RecordPayment,
    RegisterInvoice,
)
from regua_ingestion import handlers, store
from regua_ingestion.domain import InvoiceNotOpen, PaymentExceedsBalance
from regua_platform.inbox import claim_new
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.privacy import keyring_of
from regua_platform.service import Runtime
from regua_platform.tenants import Tenant, TenantDirectory

CONSUMER = "client-commands"
_COMMAND_NS = uuid.UUID("a3d5e1f0-7c2b-4e5d-9f8a-1b2c3d4e5f60")


def wire(runtime: Runtime) -> None:
    directory: TenantDirectory = runtime.extras["tenants"]
    keyring = keyring_of(runtime.extras, runtime.settings)

    async def handle(deliveries: list[Delivery[AnyClientCommand]]) -> list[Rejection]:
        rejections: list[Rejection] = []
        accepted: list[tuple[Tenant, Delivery[AnyClientCommand]]] = []
        # A batch usually carries a handful of keys: resolve each once, not once per record.
        keys = {k for d in deliveries if (k := d.headers.get("x-api-key"))}
        tenants = {k: await directory.by_api_key(k) for k in keys}
        for d in deliveries:
            tenant = tenants.get(d.headers.get("x-api-key") or "")
            if tenant is None:
                rejections.append(Rejection(d.record, "x-api-key: missing or unknown API key"))
            else:
                accepted.append((tenant, d))
        async with runtime.pool.acquire() as conn, conn.transaction():
            # Command ids are chosen by clients: scope them by tenant before deduplicating.
            keyed = {uuid.uuid5(_COMMAND_NS, f"{t.id}:{d.event.command_id}"): (t, d) for t, d in accepted}
            fresh = await claim_new(conn, CONSUMER, keyed)
            registrations: dict[str, tuple[Tenant, list[RegisterInvoice]]] = {}
            for event_id in fresh:
                t, d = keyed[event_id]
                if isinstance(d.event, RegisterInvoice):
                    registrations.setdefault(t.id, (t, []))[1].append(d.event)
            for t, commands in registrations.values():
                await handlers.register_invoices(conn, keyring, t, [c.invoice for c in commands])
            for event_id in fresh:
                t, d = keyed[event_id]
                if not isinstance(d.event, RegisterInvoice):
                    reason = await _apply(conn, t, d.event)
                    if reason:
                        rejections.append(Rejection(d.record, reason))
        return rejections

    subscribe(runtime.broker, runtime.settings, topic=topics.CLIENT_COMMANDS, group_id="ingestion",
              adapter=CLIENT_COMMAND, handler=handle)


async def _apply(conn: asyncpg.Connection, tenant: Tenant, command: RecordPayment | CancelInvoice) -> str | None:
    """Applies a payment or cancellation; returns why it was refused, if it was."""
    invoice = await store.load_invoice(conn, tenant.id, external_id=command.external_id, for_update=True)
    if invoice is None:
        return "external_id: no such invoice"
    try:
        if isinstance(command, RecordPayment):
            await handlers.record_payment(conn, tenant, invoice, command.amount_cents, command.paid_at,
                                          str(command.command_id))
        else:
            await handlers.cancel_invoice(conn, tenant, invoice, command.reason)
    except (InvoiceNotOpen, PaymentExceedsBalance) as exc:
        return f"{'amount_cents' if isinstance(exc, PaymentExceedsBalance) else 'status'}: {exc}"
    return None
