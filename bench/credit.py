"""`python -m bench credit`: the credit-analysis service over gRPC on loopback.

A portfolio of debtors (1-5 invoices each, paid on time, late or not at all) is published on
regua.invoices.v1 as ingestion would; once the service's read model holds it, this process (the client,
separate from the service's) runs 50 concurrent callers of GetDebtorProfile through regua_credit_client
for a fixed time, then BatchGetDebtorProfiles for 10,000 debtors at once. Targets: >= 3,000 lookups/s and
p99 <= 10 ms.
"""

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import asyncpg

from bench import cpu, kafka
from bench.workload import Record
from regua_contracts import topics
from regua_contracts.common import Creditor, NewInvoice
from regua_contracts.invoices import InvoiceRegistered, PaymentRecorded
from regua_credit_client import CreditClient
from regua_localstack.portfolio import invoice
from regua_localstack.stack import LocalStack

TENANT = "tn_bench_credit"
CREDITOR = Creditor(name="Bench Comércio Ltda", cnpj="11222333000181", address="Av. Paulista, 1000, São Paulo - SP")
TARGET_RATE, TARGET_P99_MS = 3_000, 10.0


@dataclass(frozen=True)
class Portfolio:
    debtors: list[uuid.UUID]
    records: list[Record]
    invoices: int


def portfolio(debtors: int, seed: int = 2027) -> Portfolio:
    """Invoice events for ``debtors`` debtors; due dates in the past year, so every outcome is known."""
    rng = random.Random(seed)
    today = date.today()
    ids, records, count = [], [], 0
    for d in range(debtors):
        debtor_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        ids.append(debtor_id)
        lateness = rng.choice([0, 0, 0, 2, 10, 40])  # this debtor's habit
        for n in range(rng.randint(1, 5)):
            due = today - timedelta(days=rng.randint(10, 360))
            new = NewInvoice.model_validate({**invoice(rng, f"CB-{d:06d}-{n}", due), "due_date": due})
            invoice_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            registered = datetime.combine(due - timedelta(days=20), clock_time(12), UTC)
            events: list[InvoiceRegistered | PaymentRecorded] = [InvoiceRegistered(
                occurred_at=registered, tenant_id=TENANT, invoice_id=invoice_id, debtor_id=debtor_id,
                creditor=CREDITOR, invoice=new)]
            paid_on = due + timedelta(days=max(0, lateness + rng.randint(-3, 3)))
            if paid_on < today and rng.random() < 0.9:
                events.append(PaymentRecorded(
                    occurred_at=registered, tenant_id=TENANT, invoice_id=invoice_id, debtor_id=debtor_id,
                    amount_cents=new.amount_cents, paid_at=datetime.combine(paid_on, clock_time(15), UTC),
                    outstanding_cents=0))
            records += [Record(str(invoice_id).encode(), e.model_dump_json().encode()) for e in events]
            count += 1
    return Portfolio(ids, records, count)


async def _loaded(stack: LocalStack, work: Portfolio, timeout: float) -> float:
    conn = await asyncpg.connect(stack.database_url)
    try:
        started = time.perf_counter()
        assert stack.bootstrap is not None
        await kafka.produce(stack.bootstrap, topics.INVOICES, work.records)
        while await conn.fetchval("SELECT count(*) FROM credit.processed_events") < len(work.records):
            if time.perf_counter() - started > timeout:
                raise TimeoutError("the credit service did not apply the portfolio in time; see its log")
            await asyncio.sleep(0.25)
        return time.perf_counter() - started
    finally:
        await conn.close()


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def lookups(client: CreditClient, debtors: list[uuid.UUID], callers: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    ends = time.perf_counter() + seconds

    async def caller(seed: int) -> None:
        rng = random.Random(seed)
        while time.perf_counter() < ends:
            started = time.perf_counter()
            profile = await client.debtor_profile(TENANT, rng.choice(debtors))
            latencies.append(time.perf_counter() - started)
            assert not profile.fallback, profile.fallback_reason

    await asyncio.gather(*(caller(i) for i in range(callers)))
    return latencies


async def _measure(stack: LocalStack, work: Portfolio, args: argparse.Namespace) -> list[str]:
    groups: cpu.Groups = {"bench (client)": lambda: [os.getpid()], "postgres": cpu.postgres_pids,
                          "credit": lambda: [p.pid for s in [stack.services["credit"]] if (p := s.popen)]}
    out = [f"portfolio: {len(work.debtors):,} debtors, {work.invoices:,} invoices, {len(work.records):,} events, "
           f"applied in {await _loaded(stack, work, args.timeout):.1f}s"]
    # Generous deadlines: the benchmark measures the service, and must not fall back on a slow first call.
    async with CreditClient(stack.grpc_target("credit"), deadline=1.0, batch_deadline=60.0) as client:
        await lookups(client, work.debtors, args.callers, 1.0)  # warm-up: connections, prepared statements
        with cpu.measure(groups) as use:
            latencies = await lookups(client, work.debtors, args.callers, args.seconds)
        rate = len(latencies) / args.seconds
        p50, p99 = _ms(latencies, 0.50), _ms(latencies, 0.99)
        verdict = "met" if rate >= TARGET_RATE and p99 <= TARGET_P99_MS else "NOT met"
        out += ["", "| measure | value |", "| --- | ---: |",
                f"| GetDebtorProfile, {args.callers} concurrent callers, {args.seconds:.0f}s | "
                f"{len(latencies):,} calls |", f"| lookups/s | {rate:,.0f} |",
                f"| p50 latency | {p50:.2f} ms |", f"| p99 latency | {p99:.2f} ms |",
                f"| CPU seconds | {', '.join(f'{k} {v:.1f}' for k, v in use.seconds.items())} |"]
        batch = work.debtors[:args.batch]
        timings = []
        for _ in range(args.batch_runs):
            started = time.perf_counter()
            profiles = await client.debtor_profiles(TENANT, batch)
            timings.append(time.perf_counter() - started)
            assert len(profiles) == len(batch) and not any(p.fallback or not p.found for p in profiles.values())
        seconds = statistics.median(timings)
        out += [f"| BatchGetDebtorProfiles, {len(batch):,} debtors (median of {args.batch_runs}) | "
                f"{seconds:.2f} s |", f"| batch debtors/s | {len(batch) / seconds:,.0f} |"]
    out.append(f"\ntarget >= {TARGET_RATE:,} lookups/s and p99 <= {TARGET_P99_MS:.0f} ms: {verdict}")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench credit", description=__doc__)
    parser.add_argument("--debtors", type=int, default=20_000)
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--batch-runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    work = portfolio(args.debtors)
    workdir = Path(tempfile.mkdtemp(prefix="regua-bench-credit-"))
    stack = LocalStack(workdir=workdir, extra_env={"REGUA_LOG_LEVEL": "WARNING"})
    try:
        stack.start_infra()
        stack.start_service("credit")
        lines = asyncio.run(_measure(stack, work, args))
    finally:
        stack.stop()
    print("\n".join(lines))
    print(f"logs in {workdir / 'logs'}")
    return 0
