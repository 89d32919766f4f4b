"""`python -m bench [--invoices N]`: raw Kafka and PostgreSQL rates, then the ingestion service, in one run.
`python -m bench credit [...]`: the credit-analysis gRPC service (bench/credit.py).
`python -m bench dispatch [...]`: the SMS and WhatsApp dispatchers against the local providers (bench/dispatch.py).

Everything runs on this machine at once (broker, PostgreSQL, the service, this process), as in `make demo`.
"""

import argparse
import asyncio
import os
import sys
import tempfile
import uuid
from pathlib import Path

import asyncpg

from bench import cpu, ingestion, kafka, postgres
from bench.report import Line, table
from bench.workload import Workload, build
from regua_localstack.stack import LocalStack
from regua_platform.settings import Settings

TARGET = 0.5  # ingestion must reach half the raw Kafka->PostgreSQL rate


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--invoices", type=int, default=200_000, help="records per stage (default 200,000)")
    parser.add_argument("--batch", type=int, default=Settings().kafka_max_batch,
                        help="records per consumer batch, raw and service alike (REGUA_KAFKA_MAX_BATCH)")
    parser.add_argument("--env", action="append", default=[], metavar="REGUA_X=VALUE",
                        help="a setting for the service, e.g. --env REGUA_OUTBOX_BATCH=100 (repeatable)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the service")
    return parser.parse_args()


def _service_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(item.split("=", 1) for item in args.env)
    return {"REGUA_KAFKA_MAX_BATCH": str(args.batch), **env}


def _groups(stack: LocalStack) -> cpu.Groups:
    def pids(name: str) -> list[int]:
        procs = [p for p in (*stack.processes, *stack.services.values()) if p.name == name]
        return [p.popen.pid for p in procs if p.popen is not None]

    return {"bench": lambda: [os.getpid()], "broker": lambda: pids("broker"), "ingestion": lambda: pids("ingestion"),
            "postgres": lambda: cpu.postgres_pids(stack.database_name)}


async def _raw(stack: LocalStack, conn: asyncpg.Connection, work: Workload, tenant: tuple[str, str],
               batch: int) -> list[Line]:
    """The physical limit: the same records through the bare clients, one stage at a time."""
    assert stack.bootstrap is not None
    bootstrap, n, mb, groups = stack.bootstrap, work.count, work.value_bytes / 1e6, _groups(stack)
    tenant_id, api_key = tenant
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    await kafka.create_topic(bootstrap, topic, Settings().kafka_partitions)  # as many partitions as the service's
    lines: list[Line] = []
    with cpu.measure(groups) as use:
        seconds = await kafka.produce(bootstrap, topic, work.records, headers=[("x-api-key", api_key.encode())])
    lines.append(Line("raw aiokafka produce", n, seconds, mb, use.seconds))
    with cpu.measure(groups) as use:
        seconds = await kafka.consume(bootstrap, topic, n, batch)
    lines.append(Line("raw aiokafka consume", n, seconds, mb, use.seconds))
    decoded = postgres.rows(tenant_id, (r.value for r in work.records))
    with cpu.measure(groups) as use:
        seconds = await postgres.copy_all(conn, decoded, batch)
    lines.append(Line(f"raw asyncpg COPY ({batch} rows per COPY)", n, seconds, None, use.seconds))
    del decoded
    with cpu.measure(groups) as use:
        seconds = await postgres.kafka_to_postgres(conn, bootstrap, topic, tenant_id, n, batch)
    lines.append(Line("raw Kafka -> PostgreSQL (consume, json.loads, COPY)", n, seconds, mb, use.seconds))
    return lines


async def _service(stack: LocalStack, conn: asyncpg.Connection, work: Workload, api_key: str,
                   timeout: float) -> list[Line]:
    assert stack.bootstrap is not None
    n, mb = work.count, work.value_bytes / 1e6
    with cpu.measure(_groups(stack)) as use:
        run = await ingestion.run(conn, stack.bootstrap, api_key, work.records, timeout)
    return [
        Line("service: produce RegisterInvoice", n, run.produce_seconds, mb),
        Line("service: first produce -> all rows in ingestion.invoices", n, run.ingest_seconds, mb),
        Line("service: first produce -> outbox drained (all published)", n, run.drain_seconds, None, use.seconds),
    ]


async def _measure(stack: LocalStack, work: Workload, batch: int, timeout: float) -> tuple[list[Line], list[Line]]:
    tenant = ingestion.new_tenant(stack)
    conn = await asyncpg.connect(stack.database_url)  # open throughout: its backend's CPU is counted
    try:
        return await _raw(stack, conn, work, tenant, batch), await _service(stack, conn, work, tenant[1], timeout)
    finally:
        await conn.close()


def main() -> int:
    if sys.argv[1:2] == ["credit"]:
        from bench import credit

        return credit.main(sys.argv[2:])
    if sys.argv[1:2] == ["dispatch"]:
        from bench import dispatch

        return dispatch.main(sys.argv[2:])
    args = _arguments()
    env = _service_env(args)
    workdir = Path(tempfile.mkdtemp(prefix="regua-bench-"))
    stack = LocalStack(workdir=workdir, extra_env=env)
    load_before = os.getloadavg()[0]  # other work on the machine shows here and skews every figure
    try:
        work = build(args.invoices)
        print(f"built {work.count:,} RegisterInvoice commands, {work.value_bytes / work.count:.0f} bytes each "
              f"on average, in {work.seconds_to_build:.1f}s; service settings {env}", flush=True)
        stack.start_infra()
        stack.start_service("ingestion")
        raw, service = asyncio.run(_measure(stack, work, args.batch, args.timeout))
    finally:
        stack.stop()
    print(table(raw + service))
    limit, ingested = raw[-1].rate, service[1].rate  # raw Kafka -> PostgreSQL; first produce -> all rows in
    ratio = ingested / limit
    print(f"\ningestion / raw Kafka->PostgreSQL = {ingested:,.0f} / {limit:,.0f} = {ratio:.0%} "
          f"(target >= {TARGET:.0%}: {'met' if ratio >= TARGET else 'NOT met'})")
    print(f"CPU seconds: per process group during the stage; {os.cpu_count()} cores; load average "
          f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after; logs in {workdir / 'logs'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
