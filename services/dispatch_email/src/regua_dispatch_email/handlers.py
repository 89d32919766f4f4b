"""Dispatching one e-mail contact: record the intent, transmit, and commit the 'sent' record (with its
event, via the outbox) together with the end of the SMTP DATA command (smtp.py says why that is safe).

A redelivered command whose attempt is confirmed is ignored. One whose intent was recorded by a process
that died before confirming is sent again: the server never accepted the first transmission."""

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Literal

import asyncpg
from prometheus_client import Counter

from regua_contracts import topics
from regua_contracts.contacts import ContactAttempted, ContactOptedOut, ContactRequested
from regua_dispatch_email import store
from regua_dispatch_email.rendering import EmailRenderer, UnknownTemplate, build_message
from regua_dispatch_email.smtp import PermanentSendFailure, SmtpSender
from regua_dispatch_email.store import Claim
from regua_platform import links, outbox
from regua_platform.kafka import TransientError
from regua_platform.outbox import OutboxMessage

log = logging.getLogger(__name__)
SENT = Counter("regua_email_messages_total", "E-mail contact outcomes", ["step", "outcome"])
RETRIES = Counter("regua_email_unconfirmed_retries_total", "E-mails retried after a process died before confirming")


@dataclass
class Dispatcher:
    pool: asyncpg.Pool
    sender: SmtpSender
    renderer: EmailRenderer
    sender_address: str
    public_base_url: str
    link_secret: str
    instance: uuid.UUID

    def unsubscribe_url(self, command: ContactRequested) -> str:
        token = links.sign({"t": command.tenant_id, "d": str(command.recipient.debtor_id), "c": "email"},
                           self.link_secret)
        return f"{self.public_base_url}/unsubscribe/{token}"

    async def dispatch(self, command: ContactRequested) -> None:
        message_id = f"<{command.step_id}@regua>"
        async with self.pool.acquire() as conn, conn.transaction():
            claim = await store.claim_attempt(conn, command, self.instance, message_id)
            if claim in (Claim.DONE, Claim.IN_FLIGHT):
                return
            if not command.recipient.email:
                await self._finish(conn, command, "suppressed", "no e-mail address")
                return
            if await store.is_opted_out(conn, command.tenant_id, command.recipient.debtor_id):
                await self._finish(conn, command, "suppressed", "opted out of e-mail")
                return
        if claim is Claim.RETRY:
            RETRIES.inc()
            log.warning("retrying an unconfirmed attempt", extra={"step_id": str(command.step_id)})
        try:
            url = self.unsubscribe_url(command)
            message = build_message(command, self.renderer.render(command, url), sender=self.sender_address,
                                    message_id=message_id, unsubscribe_url=url)
        except UnknownTemplate as exc:
            async with self.pool.acquire() as conn, conn.transaction():
                await self._finish(conn, command, "failed", str(exc))
            return
        await self._send(command, message)

    async def _send(self, command: ContactRequested, message: EmailMessage) -> None:
        """The 'sent' record is staged in a transaction that commits together with the end of DATA."""
        assert command.recipient.email
        async with self.pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            committed = commit_failed = False

            async def commit() -> None:
                nonlocal committed, commit_failed
                try:
                    await tx.commit()
                except BaseException:
                    commit_failed = True  # the terminator went out beside it all the same
                    raise
                committed = True

            try:
                await self._finish(conn, command, "sent", None)
                await self.sender.send(message, self.sender_address, command.recipient.email, commit)
            except PermanentSendFailure as exc:
                if not committed and not commit_failed:
                    await tx.rollback()
                async with conn.transaction():
                    await self._finish(conn, command, "failed", str(exc))
            except TransientError:
                if committed:  # only the server's answer to the terminator was lost
                    log.warning("no answer after the end of DATA", extra={"step_id": str(command.step_id)})
                    return
                if not commit_failed:
                    await tx.rollback()
                    await store.release_claim(conn, command.step_id)
                    raise
            except BaseException:
                if not commit_failed:
                    if not committed:
                        await tx.rollback()
                    raise
            if commit_failed:
                # The server most likely accepted the message: record it rather than send it again.
                log.error("e-mail sent but its commit failed", extra={"step_id": str(command.step_id)})
                async with self.pool.acquire() as again, again.transaction():
                    await self._finish(again, command, "sent", "recorded after a failed commit")

    async def _finish(self, conn: asyncpg.Connection, command: ContactRequested,
                      outcome: Literal["sent", "failed", "suppressed"], reason: str | None) -> None:
        await store.finish_attempt(conn, command.step_id, outcome, reason)
        await outbox.add(conn, [OutboxMessage(topics.CONTACTS, str(command.recipient.debtor_id), ContactAttempted(
            occurred_at=datetime.now(UTC), tenant_id=command.tenant_id, step_id=command.step_id,
            step_key=command.step_key, channel="email", debtor_id=command.recipient.debtor_id,
            invoice_ids=[i.invoice_id for i in command.invoices], outcome=outcome, reason=reason or "",
        ))])
        SENT.labels(command.step_key, outcome).inc()


async def opt_out(pool: asyncpg.Pool, tenant_id: str, debtor_id: uuid.UUID, source: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        if await store.record_opt_out(conn, tenant_id, debtor_id, source):
            await outbox.add(conn, [OutboxMessage(topics.CONTACTS, str(debtor_id), ContactOptedOut(
                occurred_at=datetime.now(UTC), tenant_id=tenant_id, debtor_id=debtor_id, channel="email",
                source=source,
            ))])
