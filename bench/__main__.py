"""`python -m bench [--invoices N]`: raw Kafka and PostgreSQL rates, then the ingestion service, in one run.

Everything runs on this machine at once (broker, PostgreSQL, the service, this process), as in `make demo`.
"""

import argparse
import asyncio
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
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the service")
    return parser.parse_args()


def _groups(stack: LocalStack) -> cpu.Groups:
    def pids(name: str) -> list[int]:
        procs = [p for p in stack.processes if p.name == name] + [s for s in stack.services.values()
                                                                   if s.name == name]
        return [p.popen.pid for p in procs if p.popen is not None]

    return {"bench": lambda: [__import__("os").getpid()], "broker": lambda: pids("broker"),
            "ingestion": lambda: pids("ingestion"), "postgres": cpu.postgres_pids}


async def _measure(stack: LocalStack, work: Workload, batch: int, timeout: float) -> tuple[list[Line], float]:
    assert stack.bootstrap is not None
    bootstrap, n, mb = stack.bootstrap, work.count, work.value_bytes / 1e6
    groups = _groups(stack)
    tenant_id, api_key = ingestion.new_tenant(stack)
    raw_topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    await kafka.create_topic(bootstrap, raw_topic, Settings().kafka_partitions)
    lines: list[Line] = []
    conn = await asyncpg.connect(stack.database_url)
    try:
        with cpu.measure(groups) as use:
            seconds = await kafka.produce(bootstrap, raw_topic, work.records,
                                          headers=[("x-api-key", api_key.encode())])
        lines.append(Line("raw aiokafka produce", n, seconds, mb, use.seconds))
        with cpu.measure(groups) as use:
            seconds = await kafka.consume(bootstrap, raw_topic, n, batch)
        lines.append(Line("raw aiokafka consume", n, seconds, mb, use.seconds))
        decoded = postgres.rows(tenant_id, (r.value for r in work.records))
        with cpu.measure(groups) as use:
            seconds = await postgres.copy_all(conn, decoded, batch)
        lines.append(Line(f"raw asyncpg COPY ({batch}-row batches)", n, seconds, None, use.seconds))
        del decoded
        with cpu.measure(groups) as use:
            seconds = await postgres.kafka_to_postgres(conn, bootstrap, raw_topic, tenant_id, n, batch)
        lines.append(raw := Line("raw Kafka -> PostgreSQL (consume, decode, COPY)", n, seconds, mb, use.seconds))
        with cpu.measure(groups) as use:
            run = await ingestion.run(conn, bootstrap, api_key, work.records, timeout)
        lines += [
            Line("service: produce RegisterInvoice", n, run.produce_seconds, mb),
            service := Line("service: first produce -> all rows in ingestion.invoices", n, run.ingest_seconds,
                            mb, use.seconds),
            Line("service: first produce -> outbox drained", n, run.drain_seconds),
        ]
    finally:
        await conn.close()
    return lines, service.rate / raw.rate


def main() -> int:
    args = _arguments()
    workdir = Path(tempfile.mkdtemp(prefix="regua-bench-"))
    stack = LocalStack(workdir=workdir, extra_env={"REGUA_KAFKA_MAX_BATCH": str(args.batch)})
    try:
        work = build(args.invoices)
        print(f"built {work.count:,} RegisterInvoice commands, {work.value_bytes / work.count:.0f} bytes each "
              f"on average, in {work.seconds_to_build:.1f}s", flush=True)
        stack.start_infra()
        stack.start_service("ingestion")
        lines, ratio = asyncio.run(_measure(stack, work, args.batch, args.timeout))
    finally:
        stack.stop()
    print(table(lines))
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(f"\ningestion / raw Kafka->PostgreSQL = {ratio:.0%} (target >= {TARGET:.0%}: {verdict})")
    print(f"batch {args.batch} records; logs in {workdir / 'logs'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
