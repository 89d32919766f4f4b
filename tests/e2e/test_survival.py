"""Services outlive their database and their broker (real processes, a private embedded PostgreSQL that the
test stops and starts, a Tansu broker that it kills and replaces with an empty one on the same port).

These tests have their own stack: stopping PostgreSQL or the broker must not touch the shared session stack."""

import asyncio
import collections
import os
import random
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from regua_localstack.infra import start_broker
from regua_localstack.portfolio import invoice
from regua_localstack.processes import Process
from regua_localstack.stack import LocalStack
from regua_ruler.domain.planning import message_id
from tests.conftest import session_start
from tests.support.client import Platform, eventually

SERVICES = ["ingestion", "ruler", "credit", "dispatch-email"]


@pytest.fixture(scope="module")
def survival() -> Iterator[Platform]:
    workdir = Path(tempfile.mkdtemp(prefix="regua-survival-"))
    stack = LocalStack(workdir=workdir, embedded_only=True, extra_env={
        "REGUA_CLOCK_MODE": "simulated", "REGUA_RULER_TICK_SECONDS": "0.2", "REGUA_RULER_CLAIM_BATCH": "100",
        "REGUA_CONSUMER_RETRY_BASE_SECONDS": "0.05"})
    try:
        stack.start_infra()
        stack.start_services(SERVICES)
        platform = Platform(stack)
        platform.set_clock(session_start(datetime.now(UTC)))
        yield platform
    finally:
        stack.stop()
        print(f"\nlogs of the survival stack: {workdir / 'logs'}")


def _ready(stack: LocalStack, name: str) -> int:
    try:
        return httpx.get(f"{stack.url(name)}/readyz", timeout=15).status_code
    except httpx.HTTPError:
        return 0


def _pids(stack: LocalStack) -> dict[str, int]:
    return {name: s.popen.pid for name, s in stack.services.items() if s.popen is not None and s.alive}


class Load:
    """Posts small batches of invoices until stopped; keeps the ids of those ingestion accepted (201)."""

    def __init__(self, platform: Platform, api_key: str, due: Any, prefix: str) -> None:
        self.platform, self.api_key, self.due, self.prefix = platform, api_key, due, prefix
        self.accepted: list[str] = []
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._rng = random.Random(prefix)

    def __enter__(self) -> "Load":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        n = 0
        with self.platform.api(self.api_key) as api:
            while not self._stop.is_set():
                batch = [invoice(self._rng, f"{self.prefix}-{n + i:05d}", self.due) for i in range(10)]
                n += 10
                try:
                    r = api.post("/v1/invoices", json={"invoices": batch}, timeout=10)
                except httpx.HTTPError:
                    self.refused += 1
                else:
                    if r.status_code == 201:
                        self.accepted += [i["id"] for i in r.json()["invoices"]]
                    else:
                        self.refused += 1
                time.sleep(0.05)


def _query(stack: LocalStack, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(stack.database_url)
        try:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows
        finally:
            await conn.close()

    return asyncio.run(run())


def _cases_opened(stack: LocalStack, invoice_ids: list[str]) -> int:
    rows = _query(stack, "SELECT count(*) AS n FROM ruler.cases WHERE invoice_id = ANY($1::uuid[])", invoice_ids)
    return int(rows[0]["n"])


def _dead_letters(stack: LocalStack, name: str) -> float:
    text = httpx.get(f"{stack.url(name)}/metrics/", timeout=5, follow_redirects=True).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("regua_dead_lettered_total{"))


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_services_ride_out_a_postgres_outage(survival: Platform, mode: str) -> None:
    stack = survival.stack
    assert stack.embedded is not None
    _, api_key = survival.new_tenant("Provedor Resiliente", "11222333000181")
    due = (survival.now() + timedelta(days=20)).date()
    pids = _pids(stack)
    with Load(survival, api_key, due, f"PG-{mode}") as load:
        eventually(lambda: len(load.accepted) >= 50, 60, what="invoices accepted before the outage")
        stack.embedded.stop_server(mode)
        down_at = time.monotonic()
        eventually(lambda: all(_ready(stack, n) == 503 for n in SERVICES), 30, what="readiness to go false")
        time.sleep(max(0.0, 10 - (time.monotonic() - down_at)))
        assert all(_ready(stack, n) == 503 for n in SERVICES)
        stack.embedded.start_server()
        eventually(lambda: all(_ready(stack, n) == 200 for n in SERVICES), 90, what="readiness to come back")
        accepted_before = len(load.accepted)
        eventually(lambda: len(load.accepted) >= accepted_before + 50, 60, what="invoices accepted after it")
    assert _pids(stack) == pids  # nothing exited: every service rode it out
    accepted = load.accepted
    eventually(lambda: _cases_opened(stack, accepted) == len(accepted), 120,
               what=f"a case for each of the {len(accepted)} accepted invoices")
    assert all(_dead_letters(stack, n) == 0 for n in SERVICES)  # no good record dead-lettered


def test_a_stuck_sending_email_is_resolved_at_start_up_without_a_second_send(survival: Platform) -> None:
    """A process died after the end of DATA and before its commit (or the database went away then): the row
    stays 'sending'. The restarted dispatcher records it as sent-unconfirmed and never sends it again."""
    stack = survival.stack
    _, api_key = survival.new_tenant("Loja Sem Reenvio", "11222333000181")
    domain = f"stuck-{uuid.uuid4().hex[:6]}.example.com"
    due = survival.due_date_for((-1,), after_days=3)
    rng = random.Random(7)
    with survival.api(api_key) as api:
        r = api.post("/v1/invoices", json={"invoices": [invoice(rng, "STUCK-1", due, email_domain=domain)]})
        assert r.status_code == 201, r.text
        invoice_id = r.json()["invoices"][0]["id"]
    eventually(lambda: _cases_opened(stack, [invoice_id]) == 1, 60, what="the case")
    step = _query(stack, "SELECT invoice_id, slot, debtor_id, tenant_id FROM ruler.case_steps "
                         "WHERE invoice_id = $1 AND step_key = 'D-1' AND 'email' = ANY(channels)", invoice_id)[0]
    step_id = message_id([(step["invoice_id"], "D-1", step["slot"])])  # the ruler's idempotency key of it
    # What a dispatcher killed between the end of DATA and its commit leaves behind, claimed long ago.
    _query(stack, "INSERT INTO dispatch_email.dispatch_attempts (step_id, tenant_id, debtor_id, channel, "
                  "step_key, status, claimed_by, claimed_at) "
                  "VALUES ($1, $2, $3, 'email', 'D-1', 'sending', $4, now() - interval '1 hour')",
           step_id, step["tenant_id"], step["debtor_id"], uuid.uuid4())
    stack.services["dispatch-email"].kill(signal.SIGKILL)
    stack.start_service("dispatch-email")

    row = eventually(lambda: [r for r in _query(stack, "SELECT status, reason FROM dispatch_email.dispatch_attempts "
                                                       "WHERE step_id = $1", step_id) if r["status"] != "sending"],
                     60, what="the stuck attempt to be resolved")[0]
    assert row["status"] == "sent" and "unconfirmed" in row["reason"]
    survival.set_clock(datetime.combine(due - timedelta(days=1), clock_time(12, 1),
                                        ZoneInfo("America/Sao_Paulo")).astimezone(UTC))
    survival.wait_no_due_steps()
    time.sleep(2)  # a second send would arrive now
    assert [m for m in survival.mail() if m["to"][0].endswith("@" + domain)] == []  # never sent again


def test_a_broker_thrown_away_mid_run_is_rebuilt_and_nothing_is_lost(survival: Platform) -> None:
    stack = survival.stack
    _, api_key = survival.new_tenant("Loja Do Broker", "11222333000181")
    domain = f"broker-{uuid.uuid4().hex[:6]}.example.com"
    due = survival.due_date_for((-1,), after_days=3)
    rng = random.Random(11)
    before = [invoice(rng, f"BR-A-{i:03d}", due, email_domain=domain) for i in range(40)]
    with survival.api(api_key) as api:
        accepted = [i["id"] for i in api.post("/v1/invoices", json={"invoices": before}).json()["invoices"]]
    eventually(lambda: _cases_opened(stack, accepted) == len(accepted), 60, what="the first cases")
    # The D-1 e-mails of the first invoices go out before the broker is lost.
    survival.set_clock(datetime.combine(due - timedelta(days=1), clock_time(12, 1),
                                        ZoneInfo("America/Sao_Paulo")).astimezone(UTC))
    eventually(lambda: len(_mine(survival, domain)) >= len(accepted), 60, what="the first e-mails")

    # Invoices the broker acknowledged but the ruler had not read when the broker was lost: only the
    # rebuild from ingestion's outbox brings them back.
    ruler = stack.services["ruler"]
    assert ruler.popen is not None
    os.kill(ruler.popen.pid, signal.SIGSTOP)
    unread = [invoice(rng, f"BR-U-{i:03d}", due, email_domain=domain) for i in range(20)]
    with survival.api(api_key) as api:
        r = api.post("/v1/invoices", json={"invoices": unread})
        assert r.status_code == 201, r.text
        unread_ids = [i["id"] for i in r.json()["invoices"]]
    eventually(lambda: _published(stack, unread_ids), 30, what="ingestion to publish the unread invoices")
    accepted += unread_ids

    broker = next(p for p in stack.processes if p.name == "broker")
    assert stack.bootstrap is not None
    port = int(stack.bootstrap.rsplit(":", 1)[1])
    pids = _pids(stack)
    lines = _log_lines(stack)
    broker.kill(signal.SIGKILL)
    os.kill(ruler.popen.pid, signal.SIGCONT)
    eventually(lambda: all(_ready(stack, n) == 503 for n in SERVICES), 30, what="readiness to go false")
    during = [invoice(rng, f"BR-B-{i:03d}", due, email_domain=domain) for i in range(20)]
    with survival.api(api_key) as api:  # ingestion still accepts: its outbox holds the events
        r = api.post("/v1/invoices", json={"invoices": during})
        assert r.status_code == 201, r.text
        accepted += [i["id"] for i in r.json()["invoices"]]
    time.sleep(3)
    fresh, _ = start_broker(stack.workdir / "logs", port)  # an empty broker on the same port
    stack.processes[stack.processes.index(broker)] = fresh
    eventually(lambda: all(_ready(stack, n) == 200 for n in SERVICES), 120, what="readiness to come back")
    grown = {n: c - lines[n] for n, c in _log_lines(stack).items()}
    assert all(c < 300 for c in grown.values()), grown  # no log storm while the broker was away
    after = [invoice(rng, f"BR-C-{i:03d}", due, email_domain=domain) for i in range(20)]
    with survival.api(api_key) as api:
        r = api.post("/v1/invoices", json={"invoices": after})
        assert r.status_code == 201, r.text
        accepted += [i["id"] for i in r.json()["invoices"]]

    eventually(lambda: _cases_opened(stack, accepted) == len(accepted), 120,
               what=f"a case for each of the {len(accepted)} accepted invoices")
    eventually(lambda: len({m["to"][0] for m in _mine(survival, domain) if m["step"] == "D-1"}) >= len(accepted),
               120, what="a D-1 e-mail for every invoice (one debtor each)")
    survival.wait_no_due_steps()
    time.sleep(3)  # re-published commands would arrive now
    per_step = collections.Counter(m["step_id"] for m in _mine(survival, domain))
    assert len({m["to"][0] for m in _mine(survival, domain) if m["step"] == "D-1"}) == len(accepted)
    assert {s: n for s, n in per_step.items() if n > 1} == {}  # no debtor contacted twice
    assert _pids(stack) == pids  # no service exited
    assert isinstance(fresh, Process)


def _published(stack: LocalStack, invoice_ids: list[str]) -> bool:
    rows = _query(stack, "SELECT count(*) AS n FROM ingestion.outbox_published "
                         "WHERE convert_from(payload, 'UTF8')::jsonb ->> 'invoice_id' = ANY($1::text[])", invoice_ids)
    return int(rows[0]["n"]) >= len(invoice_ids)


def _log_lines(stack: LocalStack) -> dict[str, int]:
    return {n: len(s.log_path.read_bytes().splitlines()) for n, s in stack.services.items()}


def _mine(platform: Platform, domain: str) -> list[dict[str, Any]]:
    return [m for m in platform.mail() if m["to"][0].endswith("@" + domain)]
