"""Dispatching one e-mail contact: record the intent (the dispatchers' ledger), pass the send-time gate,
transmit, and commit the 'sent' record (with its event, via the outbox) together with the end of the SMTP
DATA command (smtp.py says why that is safe).

A redelivered command whose attempt is confirmed is ignored. One whose intent was recorded by a process
that died before confirming is sent again: the server never accepted the first transmission. When the commit
beside the end of DATA failed (the database went away), the server most likely accepted the message: it is
recorded as sent-unconfirmed as soon as the database answers, never sent again (unconfirmed.py). A hard
bounce for a bad mailbox invalidates the address, so the ruler falls back to another channel."""

import logging
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Literal

import asyncpg
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from prometheus_client import Counter

from regua_compliance import ContactPolicy
from regua_contracts.contacts import ContactOptedOut, ContactRequested, step_label
from regua_dispatch import events, facts, holds, ledger
from regua_dispatch.events import contact_fact
from regua_dispatch.ledger import Claim, Intent, Outcome
from regua_dispatch.pipeline import gate
from regua_dispatch_email.rendering import EmailRenderer, UnknownTemplate, build_message
from regua_dispatch_email.smtp import PermanentSendFailure, SmtpSender
from regua_platform import links, outbox
from regua_platform.clock import Clock, observe
from regua_platform.kafka import TransientError

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)
SENT = Counter("regua_email_messages_total", "E-mail contact outcomes", ["step", "outcome"])
RETRIES = Counter("regua_email_unconfirmed_retries_total", "E-mails retried after a process died before confirming")
UNCONFIRMED_COMMIT = "unconfirmed: the end of DATA went out but its commit failed; not sent again"


@dataclass
class Dispatcher:
    pool: asyncpg.Pool
    sender: SmtpSender
    renderer: EmailRenderer
    sender_address: str
    public_base_url: str
    link_secret: str
    instance: uuid.UUID
    clock: Clock
    policy: ContactPolicy = field(default_factory=ContactPolicy)
    # Steps this process is sending now, and those whose end of DATA went out but whose commit failed.
    in_flight: set[uuid.UUID] = field(default_factory=set)
    unconfirmed: dict[uuid.UUID, tuple[ContactRequested, str]] = field(default_factory=dict)

    def unsubscribe_url(self, command: ContactRequested) -> str:
        token = links.sign(links.UNSUBSCRIBE, {"t": command.tenant_id, "d": str(command.recipient.debtor_id),
                                               "c": "email"}, self.link_secret)
        return f"{self.public_base_url}/unsubscribe/{token}"

    async def dispatch(self, command: ContactRequested, released: bool = False) -> None:
        """One command from the topic, or (``released``) a held one whose moment came: every check runs just
        before the send; what may not go out now is held until the next allowed moment (holds)."""
        owned: list[uuid.UUID] = []  # the step, once this call claimed it: in flight until the call returns
        try:
            await self._dispatch(command, released, owned)
        finally:
            self.in_flight.difference_update(owned)

    async def _dispatch(self, command: ContactRequested, released: bool, owned: list[uuid.UUID]) -> None:
        observe(self.clock, command.occurred_at)
        message_id = f"<{command.step_id}@regua>"
        who = command.recipient
        async with self.pool.acquire() as conn, conn.transaction():
            if released:
                if not await ledger.reclaim(conn, [command.step_id], self.instance):
                    return
                claim = Claim.NEW
            else:
                claims = await ledger.claim(conn, [Intent(command.step_id, command.tenant_id, who.debtor_id,
                                                          "email", command.step_key, who.email)], self.instance)
                claim = claims[command.step_id]
                if claim is Claim.IN_FLIGHT and self._abandoned(command.step_id):
                    claim = Claim.RETRY  # this process's own try failed before transmitting: send it now
                if claim in (Claim.DONE, Claim.IN_FLIGHT):
                    return
            self.in_flight.add(command.step_id)
            owned.append(command.step_id)
            if released or claim is not Claim.NEW:
                await conn.execute("UPDATE dispatch_attempts SET claimed_at = now() WHERE step_id = $1",
                                   command.step_id)
            if not who.email:
                await self._finish(conn, command, "suppressed", "no e-mail address")
                return
            now = self.clock.now()
            verdict = (await gate(conn, "email", [command], now, self.policy))[command.step_id]
            if isinstance(verdict, holds.Hold):
                await holds.hold(conn, "email", [verdict], now)
                return
            if isinstance(verdict, str):
                await self._finish(conn, command, "suppressed", verdict)
                return
            command = verdict  # without the invoices whose case stopped or paused
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
        await self._send(command, message, message_id)

    def _abandoned(self, step_id: uuid.UUID) -> bool:
        """Claimed by this process, yet neither being sent nor sent-unconfirmed: a try that failed (the database
        away) before the end of DATA went out, so the server never accepted it."""
        return step_id not in self.in_flight and step_id not in self.unconfirmed

    async def release(self, commands: list[ContactRequested]) -> None:
        """Held e-mails whose moment came (holds.release_loop). One whose server stays unavailable keeps its
        lease and is tried again when the lease ends."""
        for command in commands:
            try:
                await self.dispatch(command, released=True)
            except TransientError:
                log.warning("a released e-mail could not be sent; it stays held",
                            extra={"step_id": str(command.step_id)})

    async def _send(self, command: ContactRequested, message: EmailMessage, message_id: str) -> None:
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
                await self._finish(conn, command, "sent", None, message_id)
                with _tracer.start_as_current_span("email provider send", kind=SpanKind.CLIENT,
                                                   attributes={"regua.step_key": step_label(command.step_key)}):
                    await self.sender.send(message, self.sender_address, command.recipient.email, commit)
            except PermanentSendFailure as exc:
                if not committed and not commit_failed:
                    await tx.rollback()
                async with conn.transaction():
                    await self._finish(conn, command, "failed", str(exc))
                    if exc.bad_address:
                        await self._invalidate(conn, command, str(exc))
            except TransientError:
                if committed:  # only the server's answer to the terminator was lost
                    log.warning("no answer after the end of DATA", extra={"step_id": str(command.step_id)})
                    return
                if not commit_failed:
                    await tx.rollback()
                    await ledger.release(conn, [command.step_id])
                    raise
            except BaseException:
                if not commit_failed:
                    if not committed:
                        await tx.rollback()
                    raise
            if commit_failed:
                # The server most likely accepted the message: record it rather than send it again. Until the
                # database answers, the resolver loop (unconfirmed.py) keeps trying to.
                log.error("e-mail sent but its commit failed", extra={"step_id": str(command.step_id)})
                self.unconfirmed[command.step_id] = (command, message_id)
                await self.record_unconfirmed()

    async def record_unconfirmed(self) -> None:
        """Records the e-mails whose commit failed after the end of DATA as sent-unconfirmed."""
        for step_id, (command, message_id) in list(self.unconfirmed.items()):
            async with self.pool.acquire() as conn, conn.transaction():
                await self._finish(conn, command, "sent", UNCONFIRMED_COMMIT, message_id)
            del self.unconfirmed[step_id]

    async def _finish(self, conn: asyncpg.Connection, command: ContactRequested,
                      outcome: Literal["sent", "failed", "suppressed"], reason: str | None,
                      message_id: str | None = None) -> None:
        if await ledger.finish(conn, [Outcome(command.step_id, outcome, reason, message_id,
                                              {"template": command.template})], self.clock.now()):
            await outbox.add(conn, [events.attempted(command, outcome, reason or "", self.clock.now())])
            SENT.labels(step_label(command.step_key), outcome).inc()

    async def _invalidate(self, conn: asyncpg.Connection, command: ContactRequested, reason: str) -> None:
        debtor_id = command.recipient.debtor_id
        await facts.record_invalid(conn, command.tenant_id, debtor_id, "email", reason, command.recipient.email)
        await outbox.add(conn, events.failed(command.tenant_id, command.step_id, "email", debtor_id, reason, True,
                                             self.clock.now()))


async def opt_out(pool: asyncpg.Pool, clock: Clock, tenant_id: str, debtor_id: uuid.UUID, source: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        if await facts.record_opt_out(conn, tenant_id, debtor_id, "email", source):
            await outbox.add(conn, [contact_fact(ContactOptedOut(
                occurred_at=clock.now(), tenant_id=tenant_id, debtor_id=debtor_id, channel="email", source=source,
            ), debtor_id)])
