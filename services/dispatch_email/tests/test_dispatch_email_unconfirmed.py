"""E-mail attempts left 'sending' are resolved without a second send (integration: real PostgreSQL, a real
SMTP server in-process). The database goes away between the end of DATA and the commit (it refuses
connections and its backends are terminated), as a PostgreSQL stopped at that moment does."""

import json
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from regua_contracts.common import Creditor, InvoiceSummary
from regua_contracts.contacts import ContactRequested, Recipient
from regua_dispatch.ledger import NOBODY
from regua_dispatch_email.handlers import UNCONFIRMED_COMMIT, Dispatcher
from regua_dispatch_email.rendering import EmailRenderer
from regua_dispatch_email.smtp import Commit, SmtpSender
from regua_dispatch_email.unconfirmed import ABANDONED, resolve_abandoned
from regua_localstack.testing import migrated_pool, scratch_database, with_database
from regua_platform.clock import SimulatedClock
from regua_platform.settings import Settings

NOON = datetime(2027, 3, 9, 11, tzinfo=ZoneInfo("America/Sao_Paulo")).astimezone(UTC)  # a Tuesday


class Inbox:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(bytes(envelope.original_content or b""))
        return "250 2.0.0 accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture(scope="session")
async def email_dsn() -> AsyncIterator[str]:
    async with scratch_database("regua_email_test") as dsn:
        yield dsn


@pytest.fixture
async def pool(email_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_pool(email_dsn, "regua_dispatch_email", ["regua_dispatch"]) as pool:
        yield pool


class CutAtCommit(SmtpSender):
    """The real SMTP client; right before COMMIT (after the end of DATA went out beside it) the database goes
    away: it refuses new connections and every connection of the dispatcher is terminated."""

    def __init__(self, settings: Settings, dsn: str) -> None:
        super().__init__(settings)
        self.dsn = dsn
        self.cut = True

    async def send(self, message: EmailMessage, sender: str, recipient: str, commit: Commit) -> None:
        async def cut_then_commit() -> None:
            if self.cut:
                await outage(self.dsn, True)
            await commit()

        await super().send(message, sender, recipient, cut_then_commit)


async def outage(dsn: str, down: bool) -> None:
    name = urlsplit(dsn).path.lstrip("/")
    admin = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(not down).lower()}')
        if down:
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
    finally:
        await admin.close()


def _dispatcher(pool: asyncpg.Pool, port: int, dsn: str) -> Dispatcher:
    return Dispatcher(pool=pool, sender=CutAtCommit(Settings(smtp_port=port), dsn), renderer=EmailRenderer(),
                      sender_address="cobranca@regua.local", public_base_url="http://127.0.0.1:1",
                      link_secret="test-link-secret", instance=uuid.uuid4(), clock=SimulatedClock(NOON))


def _command() -> ContactRequested:
    return ContactRequested(
        occurred_at=NOON, tenant_id="acme", step_id=uuid.uuid4(), step_key="D-1", channel="email",
        template="notice", tone="friendly",
        recipient=Recipient(debtor_id=uuid.uuid4(), name="Ana Souza", email="ana@example.com", state="SP"),
        creditor=Creditor(name="Loja", cnpj="11222333000181", address="Rua Augusta, 500"),
        invoices=[InvoiceSummary(invoice_id=uuid.uuid4(), external_id="X1", amount_cents=10_000,
                                 due_date=date(2027, 3, 10))],
        scheduled_for=NOON)


async def _attempted(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    events = [json.loads(r["payload"]) for r in await pool.fetch("SELECT payload FROM outbox ORDER BY id")]
    return [(e["outcome"], e["reason"]) for e in events if e["type"] == "contact.attempted.v1"]


async def test_a_commit_lost_after_the_end_of_data_is_recorded_unconfirmed_and_never_sent_again(
        pool: asyncpg.Pool, smtp: tuple[Inbox, int], email_dsn: str) -> None:
    inbox, port = smtp
    dispatcher = _dispatcher(pool, port, email_dsn)
    command = _command()
    try:
        with pytest.raises(Exception):  # noqa: B017 - whatever the database's absence raises
            await dispatcher.dispatch(command)
        assert len(inbox.received) == 1  # the server accepted it
        with pytest.raises(Exception):  # noqa: B017
            await dispatcher.record_unconfirmed()  # the resolver loop, while the database is still away
    finally:
        await outage(email_dsn, False)
    assert isinstance(dispatcher.sender, CutAtCommit)
    dispatcher.sender.cut = False
    await dispatcher.dispatch(command)  # the command redelivered once the database is back: not sent again

    await dispatcher.record_unconfirmed()  # the resolver loop's next round

    row = await pool.fetchrow("SELECT status, reason FROM dispatch_attempts WHERE step_id = $1", command.step_id)
    assert (row["status"], row["reason"]) == ("sent", UNCONFIRMED_COMMIT)
    assert await _attempted(pool) == [("sent", UNCONFIRMED_COMMIT)]
    await _dispatcher(pool, port, email_dsn).dispatch(command)  # delivered to a restarted process
    assert len(inbox.received) == 1


async def test_an_own_try_that_failed_before_transmitting_is_sent_on_redelivery(
        pool: asyncpg.Pool, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    dispatcher = _dispatcher(pool, port, "")
    command = _command()
    # This process claimed it, then the database went away before the send: 'sending', claimed by us.
    await pool.execute("INSERT INTO dispatch_attempts (step_id, tenant_id, debtor_id, channel, step_key, status, "
                       "claimed_by) VALUES ($1, 'acme', $2, 'email', 'D-1', 'sending', $3)",
                       command.step_id, command.recipient.debtor_id, dispatcher.instance)
    assert isinstance(dispatcher.sender, CutAtCommit)
    dispatcher.sender.cut = False

    await dispatcher.dispatch(command)

    assert len(inbox.received) == 1  # not left 'sending' forever
    assert await pool.fetchval("SELECT status FROM dispatch_attempts WHERE step_id = $1", command.step_id) == "sent"


async def test_abandoned_attempts_are_resolved_and_nothing_else(pool: asyncpg.Pool, smtp: tuple[Inbox, int]) -> None:
    dispatcher = _dispatcher(pool, smtp[1], "")
    dead, ago = uuid.uuid4(), timedelta(hours=1)
    rows = {"abandoned": (dead, "sending", ago), "released-for-retry": (NOBODY, "sending", ago),
            "just-claimed": (dead, "sending", timedelta(0)), "mine": (dispatcher.instance, "sending", ago),
            "held": (dead, "sending", ago), "sent": (dead, "sent", ago)}
    steps = {name: uuid.uuid4() for name in rows}
    for name, (claimed_by, status, age) in rows.items():
        await pool.execute("INSERT INTO dispatch_attempts (step_id, tenant_id, debtor_id, channel, step_key, status, "
                           "claimed_by, claimed_at) "
                           "VALUES ($1, 'acme', $2, 'email', 'D-1', $3, $4, now() - $5::interval)",
                           steps[name], uuid.uuid4(), status, claimed_by, age)
    await pool.execute("INSERT INTO held_messages (step_id, tenant_id, debtor_id, invoice_ids, command, rule, "
                       "release_at, held_at, leased_until) VALUES ($1, 'acme', $2, '{}', '{}', 'night', now(), now(), "
                       "now() + interval '1 minute')", steps["held"], uuid.uuid4())

    assert await resolve_abandoned(pool, dispatcher, timedelta(minutes=2)) == 1

    status = {name: await pool.fetchval("SELECT status FROM dispatch_attempts WHERE step_id = $1", step)
              for name, step in steps.items()}
    assert status == {"abandoned": "sent", "released-for-retry": "sending", "just-claimed": "sending",
                      "mine": "sending", "held": "sending", "sent": "sent"}
    assert await _attempted(pool) == [("sent", ABANDONED)]
    assert smtp[0].received == []  # resolved, never sent
    assert await resolve_abandoned(pool, dispatcher, timedelta(minutes=2)) == 0
