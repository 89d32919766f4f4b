"""Dispatching a batch of contact commands on a text channel (SMS, WhatsApp):

1. in one transaction: record every intent (the ledger), drop the invoices whose case is stopped or paused
   (cases.screen), run the send-time gate (gate: hours, holidays, intervals, opt-outs, invalid contacts,
   mobiles only), hold until the next allowed moment what may not go out now (holds), compose each message
   (template, window) and finish at once what will not be sent (suppressed, failed);
2. call the provider for the rest, concurrently, each with its step id as idempotency key;
3. in one transaction: record the outcomes and their events (outbox).

A crash between 2 and 3 leaves intents unconfirmed ('sending'). Not every provider dedupes on the idempotency
key, so a redelivered unconfirmed step is settled before anything else (doubt.settle): confirmed as sent when a
receipt named it or the provider's lookup finds it, sent (through every check) only when the provider says it
never got it, left unconfirmed after a bounded wait on a provider with no lookup. A call of the batch itself
that got no answer (a timeout) is settled the same way, never simply repeated."""

import asyncio
import collections
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, Protocol
from uuid import UUID

import asyncpg
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind
from prometheus_client import Counter

from regua_compliance import ContactPolicy, PastContact
from regua_contracts import topics
from regua_contracts.contacts import CONTACT_REQUESTED, ContactRequested, Recipient, step_label
from regua_dispatch import cases, doubt, events, facts, holds, ledger
from regua_dispatch.cases import install_case_states
from regua_dispatch.clock import follow_clock
from regua_dispatch.ledger import Claim, Intent, Outcome
from regua_dispatch.provider import Calling, ProviderInDoubt, ProviderUnavailable
from regua_platform import outbox
from regua_platform.clock import Clock, observe
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.outbox import OutboxMessage
from regua_platform.service import Runtime

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)
MESSAGES = Counter("regua_dispatch_messages_total", "Contact outcomes of the text dispatchers",
                   ["channel", "step", "outcome"])
UNCONFIRMED = Counter("regua_dispatch_unconfirmed_retries_total",
                      "Steps found unconfirmed after a crash or a failed call, settled before any second send",
                      ["channel"])


@dataclass(frozen=True)
class Message:
    """What to send, and what to record about it with the attempt (template, segments, ...)."""

    payload: dict[str, Any]
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    provider_id: str


@dataclass(frozen=True)
class Failed:
    reason: str
    contact_invalid: bool = False


Result = Sent | Failed | ProviderUnavailable


class ChannelAdapter(Protocol):
    channel: str

    @property
    def look_up(self) -> doubt.LookUp | None:
        """The provider's lookup by our reference (the step id); None when it has none (its statuses tell)."""

    def address_key(self, command: ContactRequested) -> str | None:
        """The key replies come back under (phone key); None: the debtor has no address on this channel."""

    async def compose(self, conn: asyncpg.Connection, commands: Sequence[ContactRequested],
                      at: datetime) -> dict[UUID, Message | Failed]: ...

    async def send(self, command: ContactRequested, message: Message, calling: Calling) -> Sent | Failed:
        """``calling``: awaited just before the first request leaves (ProviderClient.post). Raises
        ProviderUnavailable when every try failed for a reason worth retrying, ProviderInDoubt when a try may
        have been taken and nothing told whether it was."""


class Dispatcher:
    def __init__(self, pool: asyncpg.Pool, adapter: ChannelAdapter, clock: Clock, concurrency: int,
                 policy: ContactPolicy | None = None, status_wait_seconds: float = 60.0) -> None:
        self.pool = pool
        self.adapter = adapter
        self.clock = clock
        self.policy = policy or ContactPolicy()
        self.status_wait_seconds = status_wait_seconds  # doubt.settle on a provider without lookup
        self._calls = doubt.CallLog(pool)
        self._limit = asyncio.Semaphore(concurrency)
        self._traces: dict[UUID, Context] = {}  # the context of each command being dispatched, by step id

    async def handle(self, deliveries: list[Delivery[ContactRequested]]) -> list[Rejection]:
        """The subscriber's batch handler; commands whose provider stayed unavailable are dead-lettered."""
        first: dict[UUID, Delivery[ContactRequested]] = {}
        for d in deliveries:
            first.setdefault(d.event.step_id, d)  # a step redelivered within one batch is dispatched once
        commands = [d.event for d in first.values()]
        for command in commands:
            observe(self.clock, command.occurred_at)
        # A claim token per batch: a batch retried after an error (or redelivered to another process) takes
        # its unconfirmed steps over, and settles them with the provider before any second send.
        self._traces.update((step_id, d.context) for step_id, d in first.items())
        try:
            unavailable = await self.dispatch(commands)
        finally:
            for step_id in first:
                self._traces.pop(step_id, None)
        return [Rejection(first[c.step_id].record, reason) for c, reason in unavailable]

    async def dispatch(self, commands: list[ContactRequested]) -> list[tuple[ContactRequested, str]]:
        """Commands as they come (distinct steps): sent, held, or finished; returns those whose provider
        stayed unavailable, with why."""
        return await self._dispatch(commands, uuid.uuid4(), released=False)

    async def release(self, commands: list[ContactRequested]) -> None:
        """Held commands whose moment came (holds.release_loop): through every check again, then sent. One
        whose provider stays unavailable keeps its lease and is tried again when the lease ends."""
        unavailable = await self._dispatch(commands, uuid.uuid4(), released=True)
        for c, why in unavailable:
            log.warning("a released message could not be sent; it stays held",
                        extra={"channel": self.adapter.channel, "step_id": str(c.step_id), "reason": why})

    async def _dispatch(self, commands: list[ContactRequested], claimer: UUID,
                        released: bool) -> list[tuple[ContactRequested, str]]:
        ready, doubtful = await self._prepare(commands, claimer, released)
        settled: list[tuple[ContactRequested, Message, Result]] = []
        if doubtful:
            again, settled = await self._settle([(c, Message({})) for c in doubtful], resend=True)
            if again:
                ready += (await self._prepare(again, claimer, released, claimed=True))[0]
        results = await asyncio.gather(*(self._send(c, m) for c, m in ready))
        done = [(c, m, r) for (c, m), r in zip(ready, results, strict=True)]
        unanswered = [(c, m) for c, m, r in done if isinstance(r, ProviderInDoubt)]
        if unanswered:
            _, found = await self._settle(unanswered, resend=False)
            done = [x for x in done if not isinstance(x[2], ProviderInDoubt)] + found
        return await self._confirm(settled + done, released)

    async def _settle(self, steps: list[tuple[ContactRequested, Message]], resend: bool
                      ) -> tuple[list[ContactRequested], list[tuple[ContactRequested, Message, Result]]]:
        """Steps whose provider call may have gone through: (those the provider never got, to send again when
        ``resend``; the others with their result). Not resent here, a step the provider never got is left to
        the next delivery (unavailable)."""
        verdicts = await doubt.settle(self.pool, self.adapter.channel, [c.step_id for c, _ in steps],
                                      self.adapter.look_up, self.status_wait_seconds)
        again: list[ContactRequested] = []
        out: list[tuple[ContactRequested, Message, Result]] = []
        for c, m in steps:
            v = verdicts[c.step_id]
            if isinstance(v, doubt.Taken):
                out.append((c, Message(m.payload, {**m.detail, "settled": v.how}), Sent(v.provider_id)))
            elif isinstance(v, doubt.Unconfirmed):
                out.append((c, m, Failed(v.reason)))
            elif isinstance(v, ProviderUnavailable):
                out.append((c, m, v))
            elif resend:
                again.append(c)
            else:
                out.append((c, m, ProviderUnavailable("the provider never got it; it is sent on the next delivery")))
        return again, out

    async def _claim(self, conn: asyncpg.Connection, commands: list[ContactRequested], claimer: UUID,
                     released: bool) -> tuple[list[ContactRequested], list[ContactRequested]]:
        """(the steps to send, those in doubt: unconfirmed before, their provider call may have gone through)."""
        channel = self.adapter.channel
        if released:
            claims = await ledger.reclaim(conn, [c.step_id for c in commands], claimer)
        else:
            claims = await ledger.claim(conn, [Intent(c.step_id, c.tenant_id, c.recipient.debtor_id, channel,
                                                      c.step_key, self.adapter.address_key(c)) for c in commands],
                                        claimer)
        doubtful = [c for c in commands if claims.get(c.step_id) is Claim.RETRY]
        if doubtful:
            UNCONFIRMED.labels(channel).inc(len(doubtful))
        return [c for c in commands if claims.get(c.step_id) is Claim.NEW], doubtful

    async def _prepare(self, commands: list[ContactRequested], claimer: UUID, released: bool,
                       claimed: bool = False) -> tuple[list[tuple[ContactRequested, Message]], list[ContactRequested]]:
        """Claims (unless ``claimed``) and screens: (the messages to send now, the steps in doubt)."""
        channel, at = self.adapter.channel, self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            todo, doubtful = (commands, []) if claimed else await self._claim(conn, commands, claimer, released)
            verdicts = await gate(conn, channel, todo, at, self.policy)
            finished: list[tuple[ContactRequested, Outcome]] = []
            allowed: list[ContactRequested] = []
            held: list[holds.Hold] = []
            for c in todo:
                v = verdicts[c.step_id]
                if self.adapter.address_key(c) is None:
                    finished.append((c, Outcome(c.step_id, "suppressed", f"no {facts.CONTACT_OF[channel]} number")))
                elif isinstance(v, holds.Hold):
                    held.append(v)
                elif isinstance(v, str):
                    finished.append((c, Outcome(c.step_id, "suppressed", v)))
                else:
                    allowed.append(v)
            composed = await self.adapter.compose(conn, allowed, at) if allowed else {}
            ready = []
            for c in allowed:
                message = composed[c.step_id]
                if isinstance(message, Failed):
                    finished.append((c, Outcome(c.step_id, "failed", message.reason)))
                else:
                    ready.append((c, message))
            await holds.hold(conn, channel, held, at)
            await self._record(conn, finished, at)
        return ready, doubtful

    async def _send(self, command: ContactRequested, message: Message) -> Result:
        # The provider call is a child of the command's consumer span: the invoice's trace ends at the provider.
        async with self._limit:
            with _tracer.start_as_current_span(
                    f"{self.adapter.channel} provider send", context=self._traces.get(command.step_id),
                    kind=SpanKind.CLIENT, attributes={"regua.channel": self.adapter.channel,
                                                      "regua.step_key": step_label(command.step_key)}) as span:
                result: Result
                try:
                    result = await self.adapter.send(command, message,
                                                     partial(self._calls.calling, command.step_id))
                except ProviderUnavailable as exc:
                    result = exc
                span.set_attribute("regua.outcome", type(result).__name__)
                return result

    async def _confirm(self, results: list[tuple[ContactRequested, Message, Result]],
                       released: bool = False) -> list[tuple[ContactRequested, str]]:
        at = self.clock.now()
        unavailable = [(c, str(r)) for c, _, r in results if isinstance(r, ProviderUnavailable)]
        done: list[tuple[ContactRequested, Outcome]] = []
        invalid: list[tuple[ContactRequested, Failed]] = []
        for c, m, r in results:
            if isinstance(r, Sent):
                done.append((c, Outcome(c.step_id, "sent", None, r.provider_id, m.detail)))
            elif isinstance(r, Failed):
                done.append((c, Outcome(c.step_id, "failed", r.reason, None, m.detail)))
                invalid += [(c, r)] if r.contact_invalid else []
        async with self.pool.acquire() as conn, conn.transaction():
            recorded = await self._record(conn, done, at)
            contact = facts.CONTACT_OF[self.adapter.channel]
            for c, r in [(c, r) for c, r in invalid if c.step_id in recorded]:
                await facts.record_invalid(conn, c.tenant_id, c.recipient.debtor_id, contact, r.reason,
                                           facts.address_of(c.recipient, contact))
                await outbox.add(conn, events.failed(c.tenant_id, c.step_id, self.adapter.channel,
                                                     c.recipient.debtor_id, r.reason, True, at))
            if unavailable:
                # The next delivery (a replay from the dead-letter topic, or the release loop once the lease
                # ends) settles them with the provider, and sends again only what it never got.
                await ledger.release(conn, [c.step_id for c, _ in unavailable])
                if not released:
                    await outbox.add(conn, [events.attempted(c, "failed", f"dead-lettered: {why}", at)
                                            for c, why in unavailable])
        for c, _ in unavailable:
            MESSAGES.labels(self.adapter.channel, step_label(c.step_key),
                            "held: provider unavailable" if released else "dead-lettered").inc()
        return unavailable

    async def _record(self, conn: asyncpg.Connection, finished: list[tuple[ContactRequested, Outcome]],
                      at: datetime) -> set[UUID]:
        recorded = await ledger.finish(conn, [o for _, o in finished], at)
        mine = [(c, o) for c, o in finished if c.step_id in recorded]
        messages: list[OutboxMessage] = [events.attempted(c, o.status, o.reason or "", at) for c, o in mine]
        await outbox.add(conn, messages)
        for (step, status), n in collections.Counter((step_label(c.step_key), o.status) for c, o in mine).items():
            MESSAGES.labels(self.adapter.channel, step, status).inc(n)
        return recorded


Gated = ContactRequested | holds.Hold | str


async def gate(conn: asyncpg.Connection, channel: str, commands: Sequence[ContactRequested], at: datetime,
               policy: ContactPolicy) -> dict[UUID, Gated]:
    """Every check just before the provider call, per step: the command to send now (without the invoices
    whose case is stopped or paused), a Hold until the next allowed moment, or why it is suppressed."""
    if not commands:
        return {}
    by_tenant: dict[str, list[Recipient]] = {}
    for c in commands:
        by_tenant.setdefault(c.tenant_id, []).append(c.recipient)
    for tenant_id, recipients in by_tenant.items():
        await facts.remember(conn, tenant_id, recipients)
    screened = await cases.screen_all(conn, commands)
    keys = [(c.tenant_id, c.recipient.debtor_id) for c in commands]
    known = await facts.load(conn, keys, {(c.tenant_id, c.recipient.debtor_id): c.recipient for c in commands})
    last = await ledger.last_sent(conn, channel, keys) if channel in policy.min_interval else {}
    out: dict[UUID, Gated] = {}
    for c in commands:
        s = screened[c.step_id]
        if s.command is None:
            out[c.step_id] = s.reason or "case closed"
            continue
        key = (c.tenant_id, c.recipient.debtor_id)
        debtor = known[key]
        if key in last:
            debtor = replace(debtor, history=(PastContact(channel, last[key]),))
        verdict = facts.send_time(channel, at, debtor, policy, s.command)
        if verdict.send:
            out[c.step_id] = s.command
        elif verdict.until is not None:
            out[c.step_id] = holds.Hold(c, verdict.rule or "", verdict.until)
        else:
            out[c.step_id] = verdict.rule or "blocked"
    return out


def install_dispatcher(runtime: Runtime, dispatcher: Dispatcher) -> None:
    """Consumes the channel's contact commands (group dispatch-<channel>), keeps the state of the cases (held
    messages about a case that stops or pauses are withdrawn), follows the simulated clock, and hands the
    release loop (holds.release_job) its pipeline."""
    channel = dispatcher.adapter.channel
    runtime.extras["release"] = dispatcher.release
    install_case_states(runtime, channel, withdrawer(channel, dispatcher.clock), _observer(dispatcher.clock))
    follow_clock(runtime, channel, dispatcher.clock)
    subscribe(runtime.broker, runtime.settings, topic=topics.contact_commands(channel),
              group_id=f"dispatch-{channel}", adapter=CONTACT_REQUESTED, handler=dispatcher.handle)


def _observer(clock: Clock) -> Callable[[datetime], None]:
    return lambda at: observe(clock, at)


def withdrawer(channel: str, clock: Clock) -> cases.OnBlocked:
    """What a text channel does when cases stop or pause: withdraw the held messages about them."""

    async def on_blocked(conn: asyncpg.Connection, blocked: list[cases.Blocked], at: datetime) -> None:
        await holds.withdraw(conn, channel, [b.invoice_id for b in blocked], max(at, clock.now()))

    return on_blocked
