"""The consumer wrapper continues each record's trace (real broker, real PostgreSQL): a consumer span per record,
a child of the producer's traceparent, and the outbox rows written for a record carry that record's trace, whether
the handler writes them one record at a time (``Delivery.traced``) or together (``OutboxMessage.trace``)."""

import asyncio
import json
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel, TypeAdapter

from regua_localstack.infra import start_broker
from regua_platform import outbox
from regua_platform.kafka import Delivery, Rejection, create_broker, ensure_topics, subscribe
from regua_platform.outbox import OutboxMessage
from regua_platform.settings import Settings
from regua_platform.telemetry import configure_tracing


class Note(BaseModel):
    n: int


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    process, address = start_broker(Path(tempfile.mkdtemp(prefix="regua-traces-test-")))
    try:
        yield address
    finally:
        process.stop()


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    configure_tracing("platform-tests", None)  # the process's provider, as a service sets it up
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def _traceparent(trace_id: int, span_id: int) -> bytes:
    return f"00-{trace_id:032x}-{span_id:016x}-01".encode()


@pytest.mark.parametrize("writes", ["per record", "together"])
async def test_each_records_trace_continues_in_its_consumer_span_and_its_outbox_rows(
        bootstrap: str, pool: asyncpg.Pool, spans: InMemorySpanExporter, writes: str) -> None:
    topic = f"t-{uuid.uuid4().hex[:8]}"
    settings = Settings(kafka_bootstrap_servers=bootstrap, kafka_partitions=1, kafka_session_timeout_ms=2000,
                        kafka_heartbeat_interval_ms=500)
    await ensure_topics(settings, [topic])

    async def handler(deliveries: list[Delivery[Note]]) -> list[Rejection]:
        async with pool.acquire() as conn, conn.transaction():
            if writes == "per record":
                for d in deliveries:
                    with d.traced():
                        await outbox.add(conn, [OutboxMessage("out", str(d.event.n), d.event)])
            else:
                await outbox.add(conn, [OutboxMessage("out", str(d.event.n), d.event, trace=d.trace_headers())
                                        for d in deliveries])
        return []

    broker = create_broker(settings)
    subscribe(broker, settings, topic=topic, group_id=f"g-{topic}", adapter=TypeAdapter(Note), handler=handler)
    # Three records of three traces, produced before the consumer starts: they come in one batch.
    sent = {n: (uuid.uuid4().int >> 1, uuid.uuid4().int >> 65) for n in range(3)}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for n, (trace_id, span_id) in sent.items():
            await producer.send_and_wait(topic, json.dumps({"n": n}).encode(),
                                         headers=[("traceparent", _traceparent(trace_id, span_id))])
    finally:
        await producer.stop()
    await broker.start()
    try:
        rows: list[Any] = []
        for _ in range(300):  # up to 30 s for the group to join and the batch to be handled
            rows = await pool.fetch("SELECT convert_from(key, 'UTF8') AS key, headers FROM outbox "
                                    "WHERE topic = 'out'")
            if len(rows) >= len(sent):
                break
            await asyncio.sleep(0.1)
    finally:
        await broker.stop()
    assert len(rows) == len(sent)

    consumer_spans = {s.context.span_id: s for s in spans.get_finished_spans() if s.name == f"{topic} process"}
    for row in rows:
        trace_id, producer_span = sent[int(row["key"])]
        _, row_trace, row_parent, _ = json.loads(row["headers"])["traceparent"].split("-")
        assert int(row_trace, 16) == trace_id  # the row continues its own record's trace
        span = consumer_spans[int(row_parent, 16)]  # under that record's consumer span ...
        assert span.parent is not None and span.parent.span_id == producer_span  # ... a child of the producer's
        assert span.kind is trace.SpanKind.CONSUMER and span.context.trace_id == trace_id

