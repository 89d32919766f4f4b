"""`python -m bench.ruler [--invoices N]`: the collection ruler at scale (issue 3), in one run.

1. Migration-in of an open portfolio: N invoices planned with the real domain functions (choose_segment +
   plan_steps on the default ruler, memoized per distinct planning input) and bulk-loaded with COPY into
   cases, case_steps and debtor_facts, indexes built after the COPY (--defer), then VACUUM ANALYZE.
2. One day of due steps fired with handlers.fire_due_steps, as the ticker does, until nothing is due.
3. Tick cost: one fire_due_steps call with exactly 1,000 due steps over a small portfolio and over the
   N-invoice one, interleaved, median of --ticks.

Everything happens in a scratch database created here and dropped at the end (schemas `ruler` and
`ruler_small`, migrated with the service's own migrations).
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from bisect import bisect_right
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import asyncpg
import psutil

from regua_compliance import ContactPolicy
from regua_contracts.common import Creditor, InvoiceSummary
from regua_contracts.contacts import Recipient
from regua_platform.db import create_pool
from regua_platform.migrations import migrate
from regua_platform.settings import Settings
from regua_ruler.domain.planning import Schedule, choose_segment, plan_steps
from regua_ruler.domain.profiles import CaseFacts
from regua_ruler.domain.rulers import Condition, RulerDefinition
from regua_ruler.handlers import RULER_NAME, fire_due_steps
from regua_ruler.store.rulers import DEFAULT_RULER, DEFAULT_SOURCE

TARGET_SECONDS = 60.0  # plan + load + fire one day, 1,000,000 invoices
TARGET_RATIO = 1.5  # tick over the big portfolio / tick over the small one
DUE_PER_TICK = 1_000
CLAIM_BATCH = 1_000  # REGUA_RULER_CLAIM_BATCH
SCHEDULE = Schedule(10, timedelta(days=1), ContactPolicy())  # as app.py with the default settings

# A Wednesday with no national or state holiday. The cases open (are migrated in) at 12:00 UTC.
TODAY = date(2025, 10, 22)
OPENED_AT = datetime(2025, 10, 22, 12, tzinfo=UTC)
# Steps are planned for 10:00 in the debtor's zone (13:00-15:00 UTC across Brazil), so at 12:00 UTC most of
# the day is not due yet. 18:00 UTC (15:00 in Brasília, 13:00 in Acre) has all of the day's steps due while
# every zone is still inside its contact hours (RJ and ES close at 19:00 local), so the gate lets them pass.
FIRE_NOW = datetime(2025, 10, 22, 18, tzinfo=UTC)
DAY_START = datetime(2025, 10, 22, tzinfo=ZoneInfo("America/Sao_Paulo"))  # the earliest zone's midnight

STATES = {"SP": 40, "MG": 10, "RJ": 9, "BA": 6, "PR": 6, "RS": 6, "PE": 4, "CE": 4, "SC": 3, "GO": 3, "ES": 2,
          "PA": 2, "AM": 2, "MA": 1, "AL": 1, "MT": 1}
CONTACTS = {(True, True): 75, (False, True): 15, (True, False): 10}  # (has e-mail, has phone)
DEBTORS_PER_INVOICE = 0.8  # about a fifth of the debtors owe more than one invoice
TENANTS = 5

CASE_COLUMNS = ("invoice_id", "tenant_id", "debtor_id", "status", "ruler_name", "ruler_version", "segment",
                "variant", "behaviour", "score_band", "profile_fallback", "amount_cents", "due_date", "recipient",
                "creditor", "invoice", "tags", "opened_at")
# The columns of store.cases.insert_case, the per-case ones first so a row is one tuple concatenation.
STEP_COLUMNS = ("invoice_id", "tenant_id", "debtor_id", "step_key", "slot", "channels", "template", "tone",
                "offset_days", "fire_at", "status", "reason")
FACT_COLUMNS = ("tenant_id", "debtor_id", "state")


# ---------------------------------------------------------------------------------------------- measuring

def cpu_seconds(pid: int) -> float:
    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(t.user + t.system)


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds: this process, our backends


class Meter:
    """Wall and CPU seconds per phase. On two cores the CPU split says who the bottleneck was: this
    process (planning, row building, COPY encoding) or our PostgreSQL backends (parsing, heap, indexes)."""

    def __init__(self) -> None:
        self.backends: set[int] = set()

    async def watch(self, conn: Any) -> None:
        self.backends.add(await conn.fetchval("SELECT pg_backend_pid()"))

    async def watch_pool(self, pool: asyncpg.Pool) -> list[int]:
        conns = [await pool.acquire() for _ in range(pool.get_min_size())]
        pids = [await conn.fetchval("SELECT pg_backend_pid()") for conn in conns]
        for conn in conns:
            await pool.release(conn)
        self.backends.update(pids)
        return pids

    def _cpu(self) -> dict[str, float]:
        return {"bench": cpu_seconds(os.getpid()), "postgres": sum(cpu_seconds(p) for p in self.backends)}

    @contextmanager
    def phase(self, name: str) -> Iterator[Phase]:
        phase = Phase(name)
        cpu, started = self._cpu(), time.perf_counter()
        try:
            yield phase
        finally:
            phase.seconds = time.perf_counter() - started
            phase.cpu = {k: v - cpu[k] for k, v in self._cpu().items()}


# ------------------------------------------------------------------------------------ synthetic portfolio

@dataclass(frozen=True)
class Tenant:
    id: str
    creditor_json: str


@dataclass
class Portfolio:
    """The source a migration-in reads: open invoices and their debtors (plain lists, cheap to walk)."""

    tenants: list[Tenant]
    debtor_ids: list[uuid.UUID]
    debtor_tenant: list[int]
    debtor_state: list[str]
    debtor_email: list[str | None]
    debtor_phone: list[str | None]
    invoices: list[tuple[uuid.UUID, int, int, date]]  # invoice id, debtor, amount in cents, due date


def synthesize(n: int, seed: int) -> Portfolio:
    rng = random.Random(seed)
    tenants = [Tenant(f"tn_{rng.getrandbits(48):012x}", Creditor(
        name=f"Loja Exemplo {t} Ltda", cnpj="11222333000181", address="Av. Paulista, 1000, São Paulo - SP",
    ).model_dump_json()) for t in range(TENANTS)]
    debtors = max(1, int(n * DEBTORS_PER_INVOICE))
    states = rng.choices(list(STATES), weights=list(STATES.values()), k=debtors)
    contacts = rng.choices(list(CONTACTS), weights=list(CONTACTS.values()), k=debtors)
    due_dates = [TODAY + timedelta(days=d) for d in range(-45, 46)]
    invoices = []
    for i in range(n):
        debtor = i if i < debtors else rng.randrange(debtors)
        # Mostly below R$ 1,000 (the default ruler's D-5 threshold), a long tail above it.
        amount = rng.randint(5_000, 99_999) if rng.random() < 0.8 else rng.randint(100_000, 2_000_000)
        invoices.append((uuid.UUID(int=rng.getrandbits(128), version=4), debtor, amount, rng.choice(due_dates)))
    rng.shuffle(invoices)  # a real portfolio does not arrive grouped by debtor
    return Portfolio(
        tenants=tenants,
        debtor_ids=[uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(debtors)],
        debtor_tenant=[rng.randrange(TENANTS) for _ in range(debtors)],
        debtor_state=states,
        debtor_email=[f"devedor{d}@exemplo.com.br" if c[0] else None for d, c in enumerate(contacts)],
        debtor_phone=[f"+55119{d % 10**8:08d}" if c[1] else None for d, c in enumerate(contacts)],
        invoices=invoices,
    )


def _json(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'  # synthetic values need no escaping


def recipient_json(p: Portfolio, debtor: int) -> str:
    """Recipient(...).model_dump_json(), as open_case stores it, without pydantic per row."""
    return (f'{{"debtor_id":"{p.debtor_ids[debtor]}","name":"Devedor {debtor}","email":{_json(p.debtor_email[debtor])},'
            f'"phone":{_json(p.debtor_phone[debtor])},"state":"{p.debtor_state[debtor]}"}}')


def invoice_json(invoice_id: uuid.UUID, amount: int, due: date) -> str:
    return (f'{{"invoice_id":"{invoice_id}","external_id":"NF-{invoice_id.hex[:12]}","amount_cents":{amount},'
            f'"due_date":"{due.isoformat()}"}}')


def check_json(p: Portfolio) -> None:
    """The hand-built JSON must be exactly what the pydantic contracts produce (and read back)."""
    invoice_id, debtor, amount, due = p.invoices[0]
    pairs: list[tuple[str, type[Recipient] | type[InvoiceSummary]]] = [
        (recipient_json(p, debtor), Recipient), (invoice_json(invoice_id, amount, due), InvoiceSummary)]
    for text, model in pairs:
        assert model.model_validate_json(text).model_dump_json() == text, text


# --------------------------------------------------------------------------------------------- planning

@dataclass(frozen=True)
class Plan:
    segment: str
    steps: tuple[tuple[Any, ...], ...]  # the STEP_COLUMNS after the per-case ones
    lines: tuple[str, ...]  # the same in COPY's text format, each to be prefixed with the per-case fields
    pending: int


def _amount_cuts(ruler: RulerDefinition) -> list[int]:
    """Amounts where some condition of the ruler flips: amounts between two cuts plan alike."""
    cuts: set[int] = set()

    def walk(c: Condition | None) -> None:
        if c is None:
            return
        if c.min_amount_cents is not None:
            cuts.add(c.min_amount_cents)
        if c.max_amount_cents is not None:
            cuts.add(c.max_amount_cents + 1)
        for sub in c.any_of or []:
            walk(sub)

    for segment in ruler.segments:
        walk(segment.when)
        for step in segment.steps:
            walk(step.when)
    return sorted(cuts)


def _text(value: Any) -> str:
    """One field in COPY's text format; planned values never hold tabs, newlines or backslashes."""
    if value is None:
        return r"\N"
    if isinstance(value, list):
        return "{" + ",".join(value) + "}"
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    assert not any(c in text for c in "\t\n\\"), text
    return text


class Planner:
    """choose_segment + plan_steps, once per distinct (due date, state, amount class, reachable channels):
    the plan depends on nothing else for a case opened at OPENED_AT with an unknown profile."""

    def __init__(self, ruler: RulerDefinition) -> None:
        assert all(s.challenger is None for s in ruler.segments), "variants would need the debtor's hash"
        self.ruler = ruler
        self.cuts = _amount_cuts(ruler)
        self.memo: dict[tuple[date, str, int, bool, bool], Plan] = {}
        self.domain_seconds = 0.0

    def plan(self, due: date, state: str, amount: int, email: str | None, phone: str | None) -> Plan:
        key = (due, state, bisect_right(self.cuts, amount), email is not None, phone is not None)
        plan = self.memo.get(key)
        if plan is None:
            started = time.perf_counter()
            facts = CaseFacts(amount)  # behaviour and score band unknown: credit analysis not asked
            segment = choose_segment(self.ruler, facts)
            steps = plan_steps(segment, due=due, facts=facts, email=email, phone=phone, state=state,
                               opened_at=OPENED_AT, schedule=SCHEDULE)
            self.domain_seconds += time.perf_counter() - started
            # fire_at in UTC: the same instant, and asyncpg encodes it faster than a zoneinfo datetime.
            rows = tuple((s.step_key, s.slot, list(s.channels), s.template, s.tone, s.offset_days,
                          s.fire_at.astimezone(UTC), s.status, s.reason) for s in steps)
            plan = self.memo[key] = Plan(segment.name, rows, tuple("\t".join(map(_text, r)) + "\n" for r in rows),
                                         sum(s.status == "pending" for s in steps))
        return plan


# ------------------------------------------------------------------------------------------------ loading

@dataclass
class Load:
    invoices: int
    debtors: int
    step_rows: int = 0
    pending: int = 0
    distinct_plans: int = 0
    plan_domain_seconds: float = 0.0
    phases: list[Phase] = field(default_factory=list)
    statements: list[tuple[str, float]] = field(default_factory=list)  # index builds, one by one
    sizes: dict[str, int] = field(default_factory=dict)  # bytes with indexes, per table

    def seconds(self, *names: str) -> float:
        return sum(p.seconds for p in self.phases if p.name in names)


TABLES = ("cases", "case_steps", "debtor_facts")


async def _deferred(conn: Any, defer: str) -> tuple[list[str], list[list[str]], list[str]]:
    """What bulk loading takes off the tables during COPY and puts back after: the foreign key, the secondary
    indexes ("secondary") and the primary keys too ("all"). Returns the drops, the builds (each a list of
    statements run in order) and what must wait for every build (the foreign key needs the cases' key)."""
    if defer == "none":
        return [], [], []
    fks = await conn.fetch("SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint "
                           "WHERE conrelid = 'case_steps'::regclass AND contype = 'f'")
    indexes = await conn.fetch(
        "SELECT i.tablename, i.indexname, i.indexdef, c.conname IS NOT NULL AS pk FROM pg_indexes i "
        "LEFT JOIN pg_constraint c ON c.conname = i.indexname AND c.contype = 'p' "
        "AND c.connamespace = to_regnamespace(current_schema())::oid "
        "WHERE i.schemaname = current_schema() AND i.tablename = ANY($1::text[]) "
        "ORDER BY i.tablename = 'case_steps' DESC, c.conname IS NOT NULL DESC", list(TABLES))
    drop = [f"ALTER TABLE case_steps DROP CONSTRAINT {r['conname']}" for r in fks]
    builds = []
    for r in indexes:
        if not r["pk"]:
            drop.append(f"DROP INDEX {r['indexname']}")
            builds.append([r["indexdef"]])
        elif defer == "all":
            # Rebuilt as a plain unique index first (it does not lock out the other builds on the table).
            drop.append(f"ALTER TABLE {r['tablename']} DROP CONSTRAINT {r['indexname']}")
            builds.append([r["indexdef"], f"ALTER TABLE {r['tablename']} ADD CONSTRAINT {r['indexname']} "
                                          f"PRIMARY KEY USING INDEX {r['indexname']}"])
    after = [f"ALTER TABLE case_steps ADD CONSTRAINT {r['conname']} {r['def']}" for r in fks]
    return drop, builds, after


async def _build(conns: list[Any], builds: list[list[str]], after: list[str], load: Load) -> None:
    queue = list(reversed(builds))  # case_steps and primary keys first (popped from the end)

    async def timed(conn: Any, statement: str) -> None:
        started = time.perf_counter()
        await conn.execute(statement)
        load.statements.append((statement.split(" ON ")[0].split(" USING INDEX")[0], time.perf_counter() - started))

    async def worker(conn: Any) -> None:
        await conn.execute("SET maintenance_work_mem = '256MB'")  # a session setting: sorts stay in memory
        while queue:
            for statement in queue.pop():
                await timed(conn, statement)

    await asyncio.gather(*(worker(c) for c in conns))  # one builder per core
    for statement in after:
        await timed(conns[0], statement)


async def _chunks(lines: Iterator[str], size: int = 1 << 18) -> AsyncIterator[bytes]:
    buffer, length = [], 0
    for line in lines:
        buffer.append(line)
        length += len(line)
        if length >= size:
            yield "".join(buffer).encode()
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer).encode()


async def load_portfolio(dsn: str, schema: str, p: Portfolio, meter: Meter, *, defer: str, steps_copy: str) -> Load:
    load = Load(len(p.invoices), len(p.debtor_ids))
    planner = Planner(DEFAULT_RULER)
    conns = [await asyncpg.connect(dsn, server_settings={"search_path": schema}) for _ in range(3)]
    for conn in conns:
        await meter.watch(conn)
    try:
        await conns[0].executemany(
            "INSERT INTO rulers (tenant_id, name, version, definition, source) VALUES ($1, $2, 1, $3, $4)",
            [(t.id, RULER_NAME, DEFAULT_RULER.model_dump_json(), DEFAULT_SOURCE) for t in p.tenants])
        drop, builds, after = await _deferred(conns[0], defer)

        with meter.phase("plan") as phase:
            plans = [planner.plan(due, p.debtor_state[d], amount, p.debtor_email[d], p.debtor_phone[d])
                     for _, d, amount, due in p.invoices]
        load.phases.append(phase)
        load.distinct_plans, load.plan_domain_seconds = len(planner.memo), planner.domain_seconds
        load.step_rows = sum(len(plan.steps) for plan in plans)
        load.pending = sum(plan.pending for plan in plans)

        if drop:
            with meter.phase("drop indexes") as phase:
                for statement in drop:
                    await conns[0].execute(statement)
            load.phases.append(phase)

        tenant_ids = [t.id for t in p.tenants]
        creditors = [t.creditor_json for t in p.tenants]

        def case_rows() -> Iterator[tuple[Any, ...]]:
            for (invoice_id, d, amount, due), plan in zip(p.invoices, plans, strict=True):
                t = p.debtor_tenant[d]
                # Opened on a fallback profile, as open_case does when credit analysis does not answer.
                yield (invoice_id, tenant_ids[t], p.debtor_ids[d], "active", RULER_NAME, 1, plan.segment, "champion",
                       "unknown", "unknown", True, amount, due, recipient_json(p, d), creditors[t],
                       invoice_json(invoice_id, amount, due), [], OPENED_AT)

        def step_rows() -> Iterator[tuple[Any, ...]]:
            for (invoice_id, d, _, _), plan in zip(p.invoices, plans, strict=True):
                head = (invoice_id, tenant_ids[p.debtor_tenant[d]], p.debtor_ids[d])
                for tail in plan.steps:
                    yield head + tail

        def step_lines() -> Iterator[str]:
            for (invoice_id, d, _, _), plan in zip(p.invoices, plans, strict=True):
                head = f"{invoice_id}\t{tenant_ids[p.debtor_tenant[d]]}\t{p.debtor_ids[d]}\t"
                yield "".join([head + line for line in plan.lines])

        def fact_rows() -> Iterator[tuple[Any, ...]]:
            for d, debtor_id in enumerate(p.debtor_ids):
                yield tenant_ids[p.debtor_tenant[d]], debtor_id, p.debtor_state[d]

        # Rows are built lazily inside the COPY stream, so this process encodes while PostgreSQL inserts.
        # Binary COPY costs this process ~3-4 us a step row (asyncpg encodes text[] and timestamptz slowly);
        # text COPY of pre-rendered lines moves the parsing to PostgreSQL (on the other core).
        steps = (conns[1].copy_records_to_table("case_steps", records=step_rows(), columns=STEP_COLUMNS)
                 if steps_copy == "records" else
                 conns[1].copy_to_table("case_steps", source=_chunks(step_lines()), columns=STEP_COLUMNS))
        copies = [conns[0].copy_records_to_table("cases", records=case_rows(), columns=CASE_COLUMNS), steps,
                  conns[2].copy_records_to_table("debtor_facts", records=fact_rows(), columns=FACT_COLUMNS)]
        with meter.phase("COPY") as phase:
            if defer == "none":  # the foreign key needs the cases committed before their steps
                for copy in copies:
                    await copy
            else:  # two backends insert at once whenever this process is not the bottleneck
                await asyncio.gather(*copies)
        load.phases.append(phase)

        if builds or after:
            with meter.phase("build indexes + FK") as phase:
                await _build(conns[:2], builds, after, load)
            load.phases.append(phase)

        # After a bulk load: statistics for the planner, and hint bits and the visibility map set now rather
        # than by the first firing or by autovacuum in the middle of the tick measurements.
        with meter.phase("VACUUM ANALYZE") as phase:
            await conns[0].execute("VACUUM (ANALYZE) cases, case_steps, debtor_facts")
        load.phases.append(phase)
        load.sizes = {t: await conns[0].fetchval("SELECT pg_total_relation_size($1::regclass)", t) for t in TABLES}
    finally:
        for conn in conns:
            await conn.close()
    return load


# ------------------------------------------------------------------------------------------------- firing

@dataclass
class Day:
    before_day: int = 0  # pending steps earlier than the day, closed by one UPDATE first
    due: int = 0
    due_debtors: int = 0
    calls: int = 0
    debtors: int = 0
    fired: int = 0
    skipped: int = 0
    rescheduled: int = 0
    messages: int = 0
    exhausted: int = 0
    phase: Phase = field(default_factory=lambda: Phase("fire"))


async def outcome(conn: Any, now: datetime) -> dict[str, int]:
    """What the calls at ``now`` did: step slots fired or skipped, held by the gate, messages produced."""
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM case_steps WHERE fired_at = $1 AND status = 'fired') AS fired, "
        "(SELECT count(*) FROM case_steps WHERE fired_at = $1 AND status = 'skipped') AS skipped, "
        "(SELECT count(*) FROM gate_blocks WHERE at = $1 AND retry_at IS NOT NULL) AS rescheduled, "
        "(SELECT count(*) FROM outbox WHERE topic LIKE '%contact-commands%' OR topic = 'regua.offer-commands.v1') "
        "AS messages, "
        "(SELECT count(*) FROM cases WHERE status = 'exhausted') AS exhausted", now)
    return dict(row)


async def fire_day(pool: asyncpg.Pool, meter: Meter, tickers: int) -> Day:
    day = Day()
    async with pool.acquire() as conn:
        # Steps before the day went out on earlier days in a running system; only this day's remain due.
        status = await conn.execute(
            "UPDATE case_steps SET status = 'skipped', reason = 'bench: before the simulated day', "
            "fired_at = fire_at WHERE status = 'pending' AND fire_at < $1", DAY_START)
        day.before_day = int(status.split()[-1])
        row = await conn.fetchrow(
            "SELECT count(*) AS due, count(DISTINCT (tenant_id, debtor_id)) AS debtors FROM case_steps "
            "WHERE status = 'pending' AND fire_at <= $1", FIRE_NOW)
        day.due, day.due_debtors = row["due"], row["debtors"]
    async def ticker() -> None:  # the ticker's loop while a full batch keeps coming, without its sleep
        while handled := await fire_due_steps(pool, FIRE_NOW, SCHEDULE, CLAIM_BATCH):
            day.calls += 1
            day.debtors += handled

    with meter.phase("fire one day") as day.phase:
        # Several tickers stand for ruler replicas (claims lock per debtor): one's Python work overlaps
        # the other's database work.
        await asyncio.gather(*(ticker() for _ in range(tickers)))
    async with pool.acquire() as conn:
        o = await outcome(conn, FIRE_NOW)
        await conn.execute("ANALYZE case_steps, cases")  # both portfolios enter the ticks alike
    day.fired, day.skipped, day.rescheduled = o["fired"], o["skipped"], o["rescheduled"]
    day.messages, day.exhausted = o["messages"], o["exhausted"]
    return day


@dataclass
class Tick:
    seconds: float
    cpu: float  # this process and the pool's backends: what the tick costs whatever else runs on the machine
    debtors: int
    fired: int
    skipped: int
    rescheduled: int


async def one_tick(pool: asyncpg.Pool, backends: list[int], now: datetime) -> Tick:
    """Makes exactly DUE_PER_TICK steps due at ``now`` (the next pending ones, moved to just before it),
    then times one fire_due_steps call, which must take them all."""
    async with pool.acquire() as conn:
        moved = await conn.execute(
            "UPDATE case_steps s SET fire_at = $1 FROM (SELECT invoice_id, step_key, slot FROM case_steps "
            "  WHERE status = 'pending' AND fire_at > $2 ORDER BY fire_at LIMIT $3) n "
            "WHERE (s.invoice_id, s.step_key, s.slot) = (n.invoice_id, n.step_key, n.slot)",
            now - timedelta(seconds=1), now, DUE_PER_TICK)
        assert moved == f"UPDATE {DUE_PER_TICK}", moved
        before = await outcome(conn, now)
    cpu, started = time.process_time() + sum(map(cpu_seconds, backends)), time.perf_counter()
    debtors = await fire_due_steps(pool, now, SCHEDULE, CLAIM_BATCH)
    seconds = time.perf_counter() - started
    cpu = time.process_time() + sum(map(cpu_seconds, backends)) - cpu
    async with pool.acquire() as conn:
        after = await outcome(conn, now)
        left = await conn.fetchval("SELECT count(*) FROM case_steps WHERE status = 'pending' AND fire_at <= $1", now)
    tick = Tick(seconds, cpu, debtors, *(after[k] - before[k] for k in ("fired", "skipped", "rescheduled")))
    assert left == 0 and tick.fired + tick.skipped + tick.rescheduled == DUE_PER_TICK, (left, tick)
    return tick


async def due_scan_buffers(pool: asyncpg.Pool, now: datetime) -> int:
    """Buffers the claim's candidate scan touches when nothing is due: index entries of steps that stopped
    being pending (fired, skipped, moved) stay in the partial due index, dead, until VACUUM."""
    async with pool.acquire() as conn, conn.transaction():
        plan = await conn.fetchval(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT tenant_id, debtor_id FROM case_steps "
            "WHERE status = 'pending' AND fire_at <= $1 ORDER BY fire_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            now, CLAIM_BATCH)
        top = json.loads(plan)[0]["Plan"]
        return int(top["Shared Hit Blocks"] + top["Shared Read Blocks"])


# ----------------------------------------------------------------------------------------------- the run

def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ruler", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=1_000_000, help="the big portfolio (default 1,000,000)")
    parser.add_argument("--small", type=int, default=None,
                        help="the small portfolio of the tick comparison (default: a tenth of --invoices, "
                             "at most 100,000)")
    parser.add_argument("--ticks", type=int, default=11, help="timed ticks per portfolio (median taken)")
    parser.add_argument("--defer", choices=("none", "secondary", "all"), default="all",
                        help="indexes taken off during COPY and built after: none, the secondary ones and the "
                             "foreign key, or also the primary keys (default)")
    parser.add_argument("--steps-copy", choices=("records", "text"), default="records",
                        help="case_steps by copy_records_to_table (binary, default) or as pre-rendered text lines")
    parser.add_argument("--tickers", type=int, default=1,
                        help="concurrent fire_due_steps loops for the day, like ruler replicas (default 1)")
    parser.add_argument("--dsn", default=Settings().database_url,
                        help="any database on the server; a scratch database is created next to it")
    parser.add_argument("--seed", type=int, default=3)
    return parser.parse_args()


def _with_database(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


LOAD_PHASES = ("plan", "drop indexes", "COPY", "build indexes + FK")


def report(load: Load, day: Day, small_load: Load, small_day: Day, ticks: dict[str, list[Tick]],
           scans: dict[str, int]) -> str:
    rows = ["| stage | items | seconds | items/s | CPU s: bench, postgres backends |",
            "| --- | ---: | ---: | ---: | --- |"]
    for ld, dy in ((load, day), (small_load, small_day)):
        stages = [(p, {"plan": ld.invoices, "COPY": ld.invoices + ld.step_rows + ld.debtors}.get(p.name))
                  for p in ld.phases]
        stages.append((dy.phase, dy.fired + dy.skipped + dy.rescheduled))
        for phase, items in stages:
            rate = f"{items / phase.seconds:,.0f}" if items else ""
            cpu = ", ".join(f"{v:.1f}" for v in phase.cpu.values())
            rows.append(f"| {ld.invoices:,}: {phase.name} | {f'{items:,}' if items else ''} | {phase.seconds:.2f} "
                        f"| {rate} | {cpu} |")
    total = load.seconds(*LOAD_PHASES) + day.phase.seconds
    wall = {k: statistics.median(t.seconds for t in v) for k, v in ticks.items()}
    tick_cpu = {k: statistics.median(t.cpu for t in v) for k, v in ticks.items()}
    ratio = wall["big"] / wall["small"]
    out = ["\n".join(rows), "",
           f"{load.invoices:,} invoices -> {load.step_rows:,} step slots ({load.pending:,} pending), "
           f"{load.debtors:,} debtors; {load.distinct_plans:,} distinct plans ({load.plan_domain_seconds:.2f} s "
           f"in choose_segment + plan_steps)",
           "sizes with indexes: " + ", ".join(f"{t} {b / 2**20:,.0f} MiB" for t, b in load.sizes.items()),
           "index builds: " + ", ".join(f"{s} {t:.1f} s" for s, t in load.statements),
           f"day {TODAY} fired at {FIRE_NOW:%H:%M} UTC: {day.before_day:,} pending steps before the day closed "
           f"first; {day.due:,} step slots of {day.due_debtors:,} debtors due -> {day.fired:,} fired, "
           f"{day.skipped:,} skipped, {day.rescheduled:,} held by the gate; {day.messages:,} messages; "
           f"{day.exhausted:,} cases exhausted; {day.calls} calls",
           f"plan + load + fire one day: {total:.1f} s (target {TARGET_SECONDS:.0f} s: "
           f"{'met' if total <= TARGET_SECONDS else f'missed by {total - TARGET_SECONDS:.1f} s'}); "
           f"{total + load.seconds('VACUUM ANALYZE'):.1f} s with the VACUUM ANALYZE after the load", ""]
    for key, ld in (("small", small_load), ("big", load)):
        samples = ", ".join(f"{t.seconds * 1000:.0f}" for t in ticks[key])
        t0 = ticks[key][0]
        out.append(f"tick of {DUE_PER_TICK:,} due steps over {ld.invoices:,} invoices: median "
                   f"{wall[key] * 1000:.0f} ms (samples {samples}), CPU median {tick_cpu[key] * 1000:.0f} ms; "
                   f"first: {t0.debtors} debtors, {t0.fired} fired, {t0.skipped} skipped, "
                   f"{t0.rescheduled} held by the gate")
    verdict = "met" if ratio <= TARGET_RATIO else "missed"
    out.append(f"ratio big/small: {ratio:.2f} (target <= {TARGET_RATIO}: {verdict}); "
               f"CPU ratio {tick_cpu['big'] / tick_cpu['small']:.2f}")
    out.append(f"the claim's due-index scan with nothing due touches {scans['small']:,} buffers over "
               f"{small_load.invoices:,} invoices, {scans['big']:,} over {load.invoices:,}")
    return "\n".join(out)


async def main() -> None:
    args = _arguments()
    n = args.invoices
    small_n = args.small or max(1, min(100_000, n // 10))
    name = f"regua_bench_ruler_{uuid.uuid4().hex[:8]}"
    dsn = _with_database(args.dsn, name)
    options = {"defer": args.defer, "steps_copy": args.steps_copy}
    admin = await asyncpg.connect(_with_database(args.dsn, "postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    meter = Meter()
    load_before = os.getloadavg()[0]
    try:
        for schema in ("ruler", "ruler_small"):
            await migrate(dsn, schema, "regua_ruler")
        started = time.perf_counter()
        big_p = synthesize(n, args.seed)
        check_json(big_p)
        print(f"synthesized {n:,} invoices in {time.perf_counter() - started:.1f} s (the input; not counted)",
              flush=True)
        load = await load_portfolio(dsn, "ruler", big_p, meter, **options)
        del big_p
        print(f"loaded: {', '.join(f'{p.name} {p.seconds:.1f} s' for p in load.phases)}", flush=True)
        # Two connections each, both created now so the meter sees every backend that works.
        size = max(2, args.tickers)
        big = await create_pool(dsn, "ruler", min_size=size, max_size=size)
        small = await create_pool(dsn, "ruler_small", min_size=size, max_size=size)
        try:
            backends = {"big": await meter.watch_pool(big)}
            day = await fire_day(big, meter, args.tickers)
            print(f"fired one day: {day.phase.seconds:.1f} s", flush=True)
            small_load = await load_portfolio(dsn, "ruler_small", synthesize(small_n, args.seed + 1), meter, **options)
            backends["small"] = await meter.watch_pool(small)
            small_day = await fire_day(small, meter, args.tickers)
            ticks: dict[str, list[Tick]] = {"small": [], "big": []}
            # Interleaved, so other work on the machine hits both portfolios alike; one warm-up tick each.
            for i in range(args.ticks + 1):
                now = FIRE_NOW + timedelta(minutes=1 + i)
                for key, pool in (("small", small), ("big", big)):
                    tick = await one_tick(pool, backends[key], now)
                    if i:
                        ticks[key].append(tick)
            scans = {key: await due_scan_buffers(pool, now) for key, pool in (("small", small), ("big", big))}
        finally:
            await big.close()
            await small.close()
        print(f"\ncommand: python -m bench.ruler {' '.join(sys.argv[1:])}; machine: {os.cpu_count()} cores, "
              f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; PostgreSQL "
              f"{await admin.fetchval('SHOW server_version')}, shared_buffers "
              f"{await admin.fetchval('SHOW shared_buffers')}; defer {args.defer}, case_steps COPY "
              f"{args.steps_copy}, {args.tickers} ticker(s)\n")
        print(report(load, day, small_load, small_day, ticks, scans))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
