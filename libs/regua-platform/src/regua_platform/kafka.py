"""The one Kafka app factory and the one consumer wrapper (retries, dead-letter topic, manual commit).

A subscriber's handler receives a batch of parsed events and returns the ones it rejects for business
reasons; records that do not parse are rejected here. Rejections go to ``<topic>.dlq`` with the reason in
the ``x-dlq-reason`` header and the original bytes as value. Infrastructure errors (database or broker
down) are retried with exponential backoff for as long as it takes; any other error isolates the failing
record by retrying one record at a time, and sends only that record to the dead-letter topic. Offsets are
committed only after the whole batch is handled, so a crash redelivers (consumers are idempotent).
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from opentelemetry import trace
from prometheus_client import REGISTRY, Counter
from pydantic import TypeAdapter, ValidationError

from regua_contracts.topics import dead_letter
from regua_platform.errors import describe
from regua_platform.settings import Settings

log = logging.getLogger(__name__)
E = TypeVar("E")

DEAD_LETTERED = Counter("regua_dead_lettered_total", "Records sent to a dead-letter topic", ["topic"])
RETRIES = Counter("regua_consumer_retries_total", "Handler retries after an error", ["topic", "kind"])


class TransientError(Exception):
    """Raised by a handler for a failure worth retrying until it clears (a provider or server is down)."""


TRANSIENT = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, KafkaError, TimeoutError,
             TransientError)


@dataclass(frozen=True)
class Delivery(Generic[E]):
    event: E
    record: ConsumerRecord[bytes, bytes]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejection:
    record: ConsumerRecord[bytes, bytes]
    reason: str


BatchHandler = Callable[[list[Delivery[E]]], Awaitable[list[Rejection]]]


def create_broker(settings: Settings) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        max_request_size=8 * 1024 * 1024,
        middlewares=[
            KafkaTelemetryMiddleware(tracer_provider=trace.get_tracer_provider()),
            KafkaPrometheusMiddleware(registry=REGISTRY, app_name=settings.service_name),
        ],
        logger=logging.getLogger("regua.kafka"),  # propagates to the JSON handler
        log_level=logging.DEBUG,  # per-message "Received"/"Processed" lines only when debugging
    )


class OutboxPublisher:
    """The outbox relay's producer: a whole relay round goes out in a few large batches and is awaited
    together, without FastStream's per-message publish path (the rows already carry their trace headers)."""

    def __init__(self, settings: Settings) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers, client_id=f"{settings.service_name}-outbox",
            linger_ms=5, max_batch_size=256 * 1024, max_request_size=8 * 1024 * 1024, acks="all",
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, records: list[tuple[str, bytes | None, bytes, dict[str, str]]]) -> None:
        sent = [await self._producer.send(topic, value, key=key, headers=[(k, v.encode()) for k, v in h.items()])
                for topic, key, value, h in records]
        await asyncio.gather(*sent)


async def ensure_topics(settings: Settings, topics: Sequence[str]) -> None:
    """Creates topics explicitly (auto-created ones get the broker's default partition count)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(t, settings.kafka_partitions, 1) for t in topics if t not in existing]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass  # another service created them first
    finally:
        await admin.close()


#: Credentials a producer may attach to a record (a client company's API key): a dead letter is read by
#: operators and replayed by tools, so they never travel into it.
SECRET_HEADERS = frozenset({"x-api-key", "authorization", "x-admin-token", "cookie"})


def _headers(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in (record.headers or ())}


def subscribe(
    broker: KafkaBroker,
    settings: Settings,
    *,
    topic: str,
    group_id: str,
    adapter: TypeAdapter[E],
    handler: BatchHandler[E],
) -> None:
    async def dead_letter_all(rejections: list[Rejection]) -> None:
        for rejection in rejections:
            record = rejection.record
            log.warning("dead-lettered", extra={"topic": topic, "offset": record.offset, "reason": rejection.reason})
            kept = {k: v for k, v in _headers(record).items() if k.lower() not in SECRET_HEADERS}
            headers = {**kept, "x-dlq-reason": rejection.reason[:2000], "x-dlq-topic": topic,
                       "x-dlq-offset": str(record.offset), "x-dlq-partition": str(record.partition)}
            await broker.publish(record.value or b"", dead_letter(topic), key=record.key, headers=headers)
            DEAD_LETTERED.labels(topic).inc()

    async def handle(deliveries: list[Delivery[E]]) -> list[Rejection]:
        attempt = 0
        while True:
            try:
                return await handler(deliveries)
            except TRANSIENT as exc:
                kind, error = "transient", exc
            except Exception as exc:  # noqa: BLE001 - the poison-message boundary: isolate, then dead-letter
                if attempt + 1 >= settings.consumer_retry_attempts:
                    if len(deliveries) == 1:
                        return [Rejection(deliveries[0].record, f"handler error: {exc!r}")]
                    return [r for d in deliveries for r in await handle([d])]
                kind, error = "error", exc
            attempt += 1
            RETRIES.labels(topic, kind).inc()
            log.warning("handler failed; retrying", extra={"topic": topic, "attempt": attempt, "kind": kind},
                        exc_info=error)
            delay = settings.consumer_retry_base_seconds * 2 ** min(attempt, 6)
            await asyncio.sleep(delay * (0.5 + random.random()))

    async def consume(message: KafkaMessage) -> None:
        records: Sequence[ConsumerRecord[bytes, bytes]] = message.raw_message
        deliveries: list[Delivery[E]] = []
        rejected: list[Rejection] = []
        for record in records:
            try:
                event = adapter.validate_json(record.value or b"")
            except ValidationError as exc:
                rejected.append(Rejection(record, describe(exc)))
                continue
            deliveries.append(Delivery(event, record, _headers(record)))
        if deliveries:
            rejected += await handle(deliveries)
        await dead_letter_all(rejected)
        await message.ack()

    broker.subscriber(
        topic,
        group_id=group_id,
        batch=True,
        max_records=settings.kafka_max_batch,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
    )(consume)

