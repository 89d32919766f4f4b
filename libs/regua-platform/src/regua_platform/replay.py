"""Replays a dead-letter topic after a fix: ``python -m regua_platform.replay regua.invoices.v1.dlq``.

Each dead letter goes back to the topic it came from (its ``x-dlq-topic`` header) with its original key, value
and headers (the ``x-dlq-*`` ones dropped, ``x-replayed-from`` added). Consumers are idempotent, so a record
that was handled meanwhile changes nothing. The replay reads as a consumer group (``--group``) and commits
after each batch it re-published, so running it again replays only what was dead-lettered since. A dead
letter too large to have been copied (``x-dlq-original-bytes``) is reported, not replayed: its original is
still on its topic at ``x-dlq-partition``/``x-dlq-offset``. Secrets never travel into dead letters: add them
back with ``--header`` where the original consumer needs them (a client company's ``x-api-key``)."""

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from regua_platform.kafka_security import client_options
from regua_platform.settings import Settings


@dataclass
class ReplayReport:
    replayed: int = 0
    skipped: list[str] = field(default_factory=list)


def _headers(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in (record.headers or ())}


async def replay(bootstrap: str, dlq: str, *, group: str = "regua-dlq-replay", reason_contains: str = "",
                 extra_headers: dict[str, str] | None = None, idle_seconds: float = 2.0,
                 security: dict[str, Any] | None = None) -> ReplayReport:
    """Re-publishes every dead letter of ``dlq`` not replayed by ``group`` yet; stops once the topic has been
    idle for ``idle_seconds``. Records keep their producer's signature headers: consumers verify them again.
    ``security``: SASL/TLS options of the ``replay`` Kafka user (kafka_security.client_options)."""
    consumer = AIOKafkaConsumer(dlq, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=16 * 1024 * 1024,
                                **(security or {}))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=16 * 1024 * 1024, acks="all",
                                **(security or {}))
    await consumer.start()
    await producer.start()
    report = ReplayReport()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=int(idle_seconds * 1000), max_records=500)
            if not batch:
                return report
            sent = []
            for records in batch.values():
                for record in records:
                    h = _headers(record)
                    where = f"{dlq}:{record.partition}:{record.offset}"
                    if "x-dlq-original-bytes" in h:
                        report.skipped.append(f"{where}: too large to copy; the original is at {h.get('x-dlq-topic')}"
                                              f":{h.get('x-dlq-partition')}:{h.get('x-dlq-offset')}")
                        continue
                    if reason_contains not in h.get("x-dlq-reason", "") or "x-dlq-topic" not in h:
                        continue
                    kept = {k: v for k, v in h.items() if not k.startswith("x-dlq-")}
                    headers = {**kept, **(extra_headers or {}), "x-replayed-from": where}
                    sent.append(await producer.send(h["x-dlq-topic"], record.value, key=record.key,
                                                    headers=[(k, v.encode()) for k, v in headers.items()]))
            await asyncio.gather(*sent)
            report.replayed += len(sent)
            await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dlq", help="the dead-letter topic, e.g. regua.invoices.v1.dlq")
    parser.add_argument("--bootstrap", default=os.environ.get("REGUA_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--group", default="regua-dlq-replay", help="replays are remembered per group")
    parser.add_argument("--reason-contains", default="", help="replay only dead letters whose reason holds this")
    parser.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                        help="add a header to every replayed record (e.g. x-api-key=...)")
    args = parser.parse_args()
    if not args.dlq.endswith(".dlq"):
        sys.exit("not a dead-letter topic (its name ends in .dlq)")
    extra = dict(h.split("=", 1) for h in args.header)
    # REGUA_KAFKA_SASL_* / REGUA_KAFKA_SSL* as for the services, with the `replay` user in production.
    report = asyncio.run(replay(args.bootstrap, args.dlq, group=args.group, reason_contains=args.reason_contains,
                                extra_headers=extra, security=client_options(Settings())))
    print(f"replayed {report.replayed} record(s) from {args.dlq}")
    for line in report.skipped:
        print(f"skipped {line}")


if __name__ == "__main__":
    main()
