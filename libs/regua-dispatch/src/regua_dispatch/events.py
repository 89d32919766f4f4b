"""The contact facts dispatchers publish on regua.contacts.v1 (keyed by debtor), as outbox messages."""

from datetime import datetime
from uuid import UUID

from regua_contracts import topics
from regua_contracts.common import Event
from regua_contracts.contacts import (
    ContactAttempted,
    ContactFailed,
    ContactInvalidated,
    ContactRequested,
)
from regua_dispatch.facts import CONTACT_OF
from regua_platform.outbox import OutboxMessage


def contact_fact(event: Event, debtor_id: UUID) -> OutboxMessage:
    return OutboxMessage(topics.CONTACTS, str(debtor_id), event)


def attempted(command: ContactRequested, outcome: str, reason: str, at: datetime) -> OutboxMessage:
    return contact_fact(ContactAttempted(
        occurred_at=at, tenant_id=command.tenant_id, step_id=command.step_id, step_key=command.step_key,
        channel=command.channel, debtor_id=command.recipient.debtor_id,
        invoice_ids=[i.invoice_id for i in command.invoices], outcome=outcome,
        reason=reason,
    ), command.recipient.debtor_id)


def failed(tenant_id: str, step_id: UUID, channel: str, debtor_id: UUID, reason: str, contact_invalid: bool,
           at: datetime) -> list[OutboxMessage]:
    """The provider's failure report; when the address itself is bad, the contact is invalidated too so
    the ruler falls back to the next channel."""
    out = [contact_fact(ContactFailed(occurred_at=at, tenant_id=tenant_id, step_id=step_id, channel=channel,
                                      debtor_id=debtor_id, reason=reason, contact_invalid=contact_invalid),
                        debtor_id)]
    if contact_invalid:
        out.append(contact_fact(ContactInvalidated(occurred_at=at, tenant_id=tenant_id, debtor_id=debtor_id,
                                                   contact=CONTACT_OF[channel],
                                                   reason=reason), debtor_id))
    return out
