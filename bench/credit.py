"""`python -m bench credit`: the credit-analysis service over gRPC on loopback.

A portfolio of debtors (1-5 invoices each, paid on time, late or not at all) is published on
regua.invoices.v1 as ingestion would; once the service's read model holds it, this process (the client,
separate from the service's) calls GetDebtorProfile through regua_credit_client with 50 concurrent callers:

- closed loop: each caller calls again as soon as it has its answer (the most the setup can do; latency is
  then mostly queueing, 50 callers / rate);
- open loop: the callers together send at a fixed rate (the 3,000/s target, and half the closed-loop rate),
  latency measured from when each call was due, so a backlog shows up in it;

then BatchGetDebtorProfiles for 10,000 debtors at once. For scale, the same closed loop against a bare
grpc.aio server (constant answer, no interceptors, no database) on the same machine. Targets: >= 3,000
lookups/s and p99 <= 10 ms.
"""

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
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
from regua_localstack.processes import Process, free_port, wait_for_port
from regua_localstack.stack import LocalStack
from regua_platform.service_tokens import TokenIssuer

TENANT = "tn_bench_credit"
CREDITOR = Creditor(name="Bench Comércio Ltda", cnpj="11222333000181", address="Av. Paulista, 1000, São Paulo - SP")
TARGET_RATE, TARGET_P99_MS = 3_000, 10.0
REPOSITORY = Path(__file__).resolve().parents[1]


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
        await kafka.produce(stack.bootstrap, topics.INVOICES, work.records, signer=stack.signer("ingestion"))
        while await conn.fetchval("SELECT count(*) FROM credit.processed_events") < len(work.records):
            if time.perf_counter() - started > timeout:
                raise TimeoutError("the credit service did not apply the portfolio in time; see its log")
            await asyncio.sleep(0.25)
        return time.perf_counter() - started
    finally:
        await conn.close()


@dataclass(frozen=True)
class Phase:
    name: str
    latencies: list[float]
    seconds: float
    cpu: dict[str, float]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def line(self) -> str:
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in self.cpu.items() if v >= 0.05)
        return (f"| {self.name} | {len(self.latencies):,} | {self.rate:,.0f} | {self.ms(0.5):.1f} | "
                f"{self.ms(0.99):.1f} | {cpu} |")


Lookup = Callable[[uuid.UUID], Awaitable[object]]


async def _callers(lookup: Lookup, debtors: list[uuid.UUID], callers: int, seconds: float,
                   rate: float | None) -> tuple[list[float], float]:
    """``callers`` concurrent loops for ``seconds``: back to back (closed loop), or together at ``rate``
    calls/s (open loop, latency from when each call was due). Returns the latencies and the elapsed time."""
    latencies: list[float] = []
    started = time.perf_counter()
    ends = started + seconds

    async def caller(n: int) -> None:
        rng = random.Random(n)
        interval = callers / rate if rate else 0.0
        due = started + n * interval / callers
        while due < ends and time.perf_counter() < ends:  # calls still due at the end are not sent
            if rate:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            begun = due if rate else time.perf_counter()
            await lookup(rng.choice(debtors))
            latencies.append(time.perf_counter() - begun)
            due = due + interval if rate else time.perf_counter()

    await asyncio.gather(*(caller(n) for n in range(callers)))
    return latencies, time.perf_counter() - started


async def _phase(name: str, lookup: Lookup, debtors: list[uuid.UUID], args: argparse.Namespace, groups: cpu.Groups,
                 rate: float | None = None, callers: int | None = None) -> Phase:
    with cpu.measure(groups) as use:
        latencies, seconds = await _callers(lookup, debtors, callers or args.callers, args.seconds, rate)
    return Phase(name, latencies, seconds, use.seconds)


def serve_bare(port: int) -> None:
    """A bare grpc.aio CreditAnalysisService with a constant answer: what gRPC alone costs here."""
    import grpc
    from regua.credit.v1 import credit_analysis_pb2 as pb
    from regua.credit.v1 import credit_analysis_pb2_grpc as pb_grpc

    class Bare(pb_grpc.CreditAnalysisServiceServicer):
        async def GetDebtorProfile(self, request: pb.GetDebtorProfileRequest,
                                   context: object) -> pb.GetDebtorProfileResponse:
            return pb.GetDebtorProfileResponse(profile=pb.DebtorProfile(debtor_id=request.debtor_id))

        async def BatchGetDebtorProfiles(self, request: pb.BatchGetDebtorProfilesRequest,
                                         context: object) -> pb.BatchGetDebtorProfilesResponse:
            return pb.BatchGetDebtorProfilesResponse()

        async def GetOfferLimits(self, request: pb.GetOfferLimitsRequest,
                                 context: object) -> pb.GetOfferLimitsResponse:
            return pb.GetOfferLimitsResponse()

    async def run() -> None:
        server = grpc.aio.server()
        pb_grpc.add_CreditAnalysisServiceServicer_to_server(Bare(), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        await server.wait_for_termination()

    asyncio.run(run())


async def _bare(args: argparse.Namespace, debtors: list[uuid.UUID], logs: Path) -> Phase:
    import grpc
    from regua.credit.v1 import credit_analysis_pb2 as pb
    from regua.credit.v1 import credit_analysis_pb2_grpc as pb_grpc

    port = free_port()
    code = f"from bench.credit import serve_bare; serve_bare({port})"
    server = Process("bare-grpc", [sys.executable, "-c", code], logs / "bare-grpc.log",
                     env={"PYTHONPATH": str(REPOSITORY)}).start()
    try:
        wait_for_port(port)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.CreditAnalysisServiceStub(channel)

            async def lookup(debtor: uuid.UUID) -> object:
                return await stub.GetDebtorProfile(pb.GetDebtorProfileRequest(debtor_id=str(debtor)), timeout=5)

            assert server.popen is not None
            pid = server.popen.pid
            groups: cpu.Groups = {"bench": lambda: [os.getpid()], "server": lambda: [pid]}
            await _callers(lookup, debtors, args.callers, 1.0, None)
            return await _phase("bare grpc.aio server and stub, closed loop", lookup, debtors, args, groups)
    finally:
        server.stop()


async def _measure(stack: LocalStack, work: Portfolio, args: argparse.Namespace) -> list[str]:
    service = stack.services["credit"]
    groups: cpu.Groups = {"bench": lambda: [os.getpid()], "credit": lambda: [service.popen.pid] if service.popen
                          else [], "postgres": cpu.postgres_pids}
    out = [f"portfolio: {len(work.debtors):,} debtors, {work.invoices:,} invoices, {len(work.records):,} events, "
           f"applied in {await _loaded(stack, work, args.timeout):.1f}s", "",
           f"{args.callers} concurrent callers unless said, {args.seconds:.0f}s per line; CPU seconds per process "
           "group (postgres: every PostgreSQL process of the machine)", "",
           "| GetDebtorProfile | calls | calls/s | p50 ms | p99 ms | CPU seconds |",
           "| --- | ---: | ---: | ---: | ---: | --- |"]
    # Generous deadlines: this measures the service; a fallback would be an error here.
    async with CreditClient(stack.grpc_target("credit"), deadline=5.0, batch_deadline=60.0,
                            credentials=TokenIssuer(stack.signer("ruler"))) as client:

        async def lookup(debtor: uuid.UUID) -> object:
            profile = await client.debtor_profile(TENANT, debtor)
            assert profile.found and not profile.fallback, profile
            return profile

        await _callers(lookup, work.debtors, args.callers, 1.0, None)  # warm-up: connections, statements
        closed = await _phase("service via regua_credit_client, closed loop", lookup, work.debtors, args, groups)
        phases = [closed]
        for rate in (TARGET_RATE, closed.rate / 2):
            phases.append(await _phase(f"same, open loop at {rate:,.0f}/s", lookup, work.debtors, args, groups, rate))
        phases.append(await _phase("same, one caller, closed loop", lookup, work.debtors, args, groups, callers=1))
        batch = work.debtors[:args.batch]
        timings = []
        for _ in range(args.batch_runs):
            started = time.perf_counter()
            profiles = await client.debtor_profiles(TENANT, batch)
            timings.append(time.perf_counter() - started)
            assert len(profiles) == len(batch) and all(p.found and not p.fallback for p in profiles.values())
    phases.append(await _bare(args, work.debtors, stack.workdir / "logs"))
    out += [p.line() for p in phases]
    seconds = statistics.median(timings)
    out += ["", f"BatchGetDebtorProfiles, {len(batch):,} debtors per call: {seconds:.2f}s (median of "
            f"{args.batch_runs}), {len(batch) / seconds:,.0f} debtors/s"]
    at_target = phases[1]
    met = at_target.rate >= 0.99 * TARGET_RATE and at_target.ms(0.99) <= TARGET_P99_MS
    out.append(f"target >= {TARGET_RATE:,}/s with p99 <= {TARGET_P99_MS:.0f} ms: {'met' if met else 'NOT met'} "
               f"({at_target.rate:,.0f}/s, p99 {at_target.ms(0.99):.1f} ms at {TARGET_RATE:,}/s offered)")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench credit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debtors", type=int, default=20_000)
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0, help="per measured line")
    parser.add_argument("--batch", type=int, default=10_000, help="debtors per BatchGetDebtorProfiles call")
    parser.add_argument("--batch-runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    work = portfolio(args.debtors)
    workdir = Path(tempfile.mkdtemp(prefix="regua-bench-credit-"))
    stack = LocalStack(workdir=workdir, extra_env={"REGUA_LOG_LEVEL": "WARNING"})
    load_before = os.getloadavg()[0]  # other work on the machine skews every figure: say how much there was
    try:
        stack.start_infra()
        stack.start_service("credit")
        lines = asyncio.run(_measure(stack, work, args))
    finally:
        stack.stop()
    print("\n".join(lines))
    print(f"load average (1 min) before {load_before:.2f}, after {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"logs in {workdir / 'logs'}")
    return 0
