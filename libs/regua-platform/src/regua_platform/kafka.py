"""The one Kafka app factory and the one consumer wrapper (retries, dead-letter topic, manual commit).

A subscriber's handler receives a batch of parsed events and returns the ones it rejects for business
reasons; records that do not parse are rejected here. Rejections go to ``<topic>.dlq`` with the reason in
the ``x-dlq-reason`` header and the original bytes as value. Infrastructure errors (database or broker
down) are retried with exponential backoff for as long as it takes; any other error isolates the failing
record by retrying one record at a time, and sends only that record to the dead-letter topic; a record that
must wait (TransientError) is parked and retried aside, so no partition stalls behind one record. Records over
REGUA_KAFKA_MAX_RECORD_BYTES are dead-lettered unread, and so are records of internal topics that a producer
allowed for the topic did not sign (regua_platform.signing). Offsets are committed only after the whole batch is
handled (dead letters and parked records written first), so a crash redelivers (consumers are idempotent).
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import IllegalStateError, KafkaError, TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.kafka.subscriber.usecase import LogicSubscriber
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from prometheus_client import REGISTRY, Counter
from pydantic import TypeAdapter, ValidationError

from regua_contracts.topics import dead_letter
from regua_platform.db import RETRYABLE
from regua_platform.errors import describe
from regua_platform.kafka_security import client_options, kafka_security
from regua_platform.settings import Settings
from regua_platform.signing import Signer, signer_from, verifier_from

if TYPE_CHECKING:
    from regua_platform.parking import ParkingLot

log = logging.getLogger(__name__)
E = TypeVar("E")

DEAD_LETTERED = Counter("regua_dead_lettered_total", "Records sent to a dead-letter topic", ["topic"])
RETRIES = Counter("regua_consumer_retries_total", "Handler retries after an error", ["topic", "kind"])


class TransientError(Exception):
    """Raised by a handler when a record must wait for something (a provider down, an event not read yet).
    Retried in place a few times; then the record is parked (regua_platform.parking) and retried with a
    growing backoff while the partition goes on; a record that waits too long is dead-lettered."""


#: Failures of the service's surroundings (database, network, broker): retried for as long as it takes.
RETRYABLE_INFRA = (*RETRYABLE, KafkaError, TimeoutError)
#: Everything worth retrying rather than dead-lettering at once.
TRANSIENT = (*RETRYABLE_INFRA, TransientError)


@dataclass(frozen=True)
class Delivery(Generic[E]):
    """A parsed record and its consumer span, a child of the producer's context (its traceparent header)."""

    event: E
    record: ConsumerRecord[bytes, bytes]
    headers: dict[str, str] = field(default_factory=dict)
    span: Span = trace.INVALID_SPAN

    def traced(self) -> AbstractContextManager[Span]:
        """Makes the record's span current: what a batch handler writes for this record (outbox rows, queries)
        continues the record's trace. A batch of one is handled under its span already."""
        return trace.use_span(self.span, end_on_exit=False)

    @property
    def context(self) -> Context:
        return trace.set_span_in_context(self.span)

    def trace_headers(self) -> dict[str, str]:
        """The record's span as W3C headers: for rows of many records written together (OutboxMessage.trace)."""
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=self.context)
        return carrier


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
        security=kafka_security(settings),
        middlewares=[
            KafkaTelemetryMiddleware(tracer_provider=trace.get_tracer_provider()),
            KafkaPrometheusMiddleware(registry=REGISTRY, app_name=settings.service_name),
        ],
        logger=logging.getLogger("regua.kafka"),  # propagates to the JSON handler
        log_level=logging.DEBUG,  # per-message "Received"/"Processed" lines only when debugging
    )


class OutboxPublisher:
    """The outbox relay's producer: a whole relay round goes out in a few large batches and is awaited
    together, without FastStream's per-message publish path (the rows already carry their trace headers).
    Every record is signed with the service's key (regua_platform.signing): consumers handle nothing else."""

    def __init__(self, settings: Settings, signer: Signer | None = None) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers, client_id=f"{settings.service_name}-outbox",
            linger_ms=5, max_batch_size=256 * 1024, max_request_size=8 * 1024 * 1024, acks="all",
            **client_options(settings),
        )
        self._signer = signer or signer_from(settings.service_name, settings.signing_key)

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, records: list[tuple[str, bytes | None, bytes, dict[str, str]]]) -> None:
        if self._signer is not None:  # unsigned only where the service produces no internal topic
            records = [(t, k, v, self._signer.headers(t, k, v, h)) for t, k, v, h in records]
        sent = [await self._producer.send(topic, value, key=key, headers=[(k, v.encode()) for k, v in h.items()])
                for topic, key, value, h in records]
        await asyncio.gather(*sent)


def new_topics(settings: Settings, topics: Sequence[str]) -> list[NewTopic]:
    return [NewTopic(t, settings.kafka_partitions, settings.kafka_replication_factor) for t in topics]


async def ensure_topics(settings: Settings, topics: Sequence[str]) -> None:
    """Creates topics explicitly (auto-created ones get the broker's default partition count)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = new_topics(settings, [t for t in topics if t not in existing])
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


_tracer = trace.get_tracer(__name__)


def _record_span(topic: str, group_id: str, record: ConsumerRecord[bytes, bytes], headers: dict[str, str]) -> Span:
    """A consumer span per record, continuing the trace its producer injected: FastStream's batch span starts
    from an empty context, so without this every consumer would open a new trace."""
    return _tracer.start_span(
        f"{topic} process", context=propagate.extract(headers), kind=SpanKind.CONSUMER,
        attributes={"messaging.system": "kafka", "messaging.destination.name": topic,
                    "messaging.consumer.group.name": group_id, "messaging.kafka.offset": record.offset,
                    "messaging.destination.partition.id": str(record.partition)})


def subscribe(
    broker: KafkaBroker,
    settings: Settings,
    *,
    topic: str,
    group_id: str,
    adapter: TypeAdapter[E],
    handler: BatchHandler[E],
) -> None:
    consumer = Consumer(broker, settings, topic, group_id, adapter, handler)
    parking_lot(broker).consumers.append(consumer)

    async def consume(message: KafkaMessage) -> None:
        records: Sequence[ConsumerRecord[bytes, bytes]] = message.raw_message
        rejected, parked = await consumer.consume(records)
        await consumer.settle(rejected, parked)
        await message.ack()

    consumer.subscriber = broker.subscriber(
        topic,
        group_id=group_id,
        batch=True,
        max_records=settings.kafka_max_batch,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
        # An oversized record must be fetched to be dead-lettered, not leave the consumer stuck before it.
        max_partition_fetch_bytes=_FETCH_BYTES,
        fetch_max_bytes=_FETCH_BYTES,
        listener=_Rewinder(consumer),
    )
    consumer.subscriber(consume)


def rewind(broker: KafkaBroker) -> None:
    """Called by the broker watch when it finds the broker without its state (regua_platform.broker_watch): every
    subscription reads its topics again from the beginning, now and at its next assignment.

    The committed offsets of a rebuilt broker cannot be trusted: a commit computed against the old broker and
    held back by the outage goes out while the group is being rejoined, with no generation, and the new broker
    takes it as a standalone commit; the group's next assignment then starts at the old broker's positions and
    skips the re-queued records below them (no error: they are below the log end). The topics of a rebuilt broker
    hold only what was re-queued or published since, and consumers dedupe, so the beginning is the place to start;
    an assignment made before the watch noticed is rewound at once, the next one when it comes."""
    for consumer in parking_lot(broker).consumers:
        consumer.rewind()


_FETCH_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Parked:
    """A record its handler keeps asking to wait for (TransientError): moved aside so the partition goes on."""

    record: ConsumerRecord[bytes, bytes]
    reason: str


class Consumer(Generic[E]):
    """One subscription: parses records, runs the handler with retries, and sorts what it cannot handle into
    dead letters (bad records) and parked records (records that must wait)."""

    def __init__(self, broker: KafkaBroker, settings: Settings, topic: str, group_id: str,
                 adapter: TypeAdapter[E], handler: BatchHandler[E]) -> None:
        self.broker, self.settings, self.topic, self.group_id = broker, settings, topic, group_id
        self.adapter, self.handler = adapter, handler
        self.verifier = verifier_from(settings.trusted_producers)
        self.subscriber: LogicSubscriber[Any] | None = None  # set by subscribe()
        self.rewind_pending = False  # the broker was rebuilt: the next assignment starts at the beginning

    def rewind(self) -> None:
        self.rewind_pending = True
        client = self.client
        if client is not None:
            self.seek_to_start(client.assignment())

    def seek_to_start(self, partitions: set[TopicPartition]) -> None:
        """Offset 0 rather than seek_to_beginning (which waits on the broker): below the log start it is out
        of range, and auto_offset_reset="earliest" takes the position to the first record kept."""
        client = self.client
        if client is None:
            return
        for tp in partitions:
            try:
                client.seek(tp, 0)
            except IllegalStateError:  # revoked meanwhile: its next assignment is rewound
                pass

    @property
    def client(self) -> AIOKafkaConsumer | None:
        """The subscription's Kafka consumer while it runs (its assignment and offsets: consumer_lag)."""
        return None if self.subscriber is None else self.subscriber.consumer

    async def consume(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> tuple[list[Rejection], list[Parked]]:
        deliveries: list[Delivery[E]] = []
        rejected: list[Rejection] = []
        limit = self.settings.kafka_max_record_bytes
        for record in records:
            size = len(record.value or b"")
            if size > limit:
                rejected.append(Rejection(record, f"record of {size} bytes is over the {limit}-byte limit"))
                continue
            headers = _headers(record)
            # An internal topic is no trust root: only a record its allowed producer signed reaches the handler.
            untrusted = self.verifier.untrusted(self.topic, record.key, record.value or b"", headers)
            if untrusted:
                rejected.append(Rejection(record, untrusted))
                continue
            try:
                event = self.adapter.validate_json(record.value or b"")
            except ValidationError as exc:
                rejected.append(Rejection(record, describe(exc)))
                continue
            deliveries.append(Delivery(event, record, headers, _record_span(self.topic, self.group_id, record,
                                                                            headers)))
        if not deliveries:
            return rejected, []
        try:
            more_rejected, parked = await self.handle(deliveries)
        finally:
            for d in deliveries:
                d.span.end()
        return rejected + more_rejected, parked

    async def handle(self, deliveries: list[Delivery[E]]) -> tuple[list[Rejection], list[Parked]]:
        attempt = 0
        while True:
            try:
                with deliveries[0].traced() if len(deliveries) == 1 else nullcontext():
                    return await self.handler(deliveries), []
            except RETRYABLE_INFRA as exc:
                kind, error = "infrastructure", exc  # no record is to blame: wait as long as it takes
            except TransientError as exc:
                if attempt + 1 >= self.settings.consumer_retry_attempts:
                    if len(deliveries) == 1:
                        return [], [Parked(deliveries[0].record, str(exc) or repr(exc))]
                    return await self._one_by_one(deliveries)
                kind, error = "waiting", exc
            except Exception as exc:  # noqa: BLE001 - the poison-message boundary: isolate, then dead-letter
                if attempt + 1 >= self.settings.consumer_retry_attempts:
                    if len(deliveries) == 1:
                        return [Rejection(deliveries[0].record, f"handler error: {exc!r}")], []
                    return await self._one_by_one(deliveries)
                kind, error = "error", exc
            attempt += 1
            RETRIES.labels(self.topic, kind).inc()
            log.warning("handler failed; retrying", extra={"topic": self.topic, "attempt": attempt, "kind": kind},
                        exc_info=error)
            delay = self.settings.consumer_retry_base_seconds * 2 ** min(attempt, 6)
            await asyncio.sleep(delay * (0.5 + random.random()))

    async def consume_one(self, record: ConsumerRecord[bytes, bytes]) -> tuple[list[Rejection], list[Parked]]:
        """A parked record's retry: parsed again and handled alone, once (the lot does the waiting). Raises
        what RETRYABLE_INFRA holds: the surroundings are away, the record is not to blame."""
        try:
            event = self.adapter.validate_json(record.value or b"")
        except ValidationError as exc:
            return [Rejection(record, describe(exc))], []
        headers = _headers(record)
        delivery = Delivery(event, record, headers, _record_span(self.topic, self.group_id, record, headers))
        try:
            with delivery.traced():
                return await self.handler([delivery]), []
        except RETRYABLE_INFRA:
            raise
        except TransientError as exc:
            return [], [Parked(record, str(exc) or repr(exc))]
        except Exception as exc:  # noqa: BLE001 - the poison-message boundary
            return [Rejection(record, f"handler error: {exc!r}")], []
        finally:
            delivery.span.end()

    async def _one_by_one(self, deliveries: list[Delivery[E]]) -> tuple[list[Rejection], list[Parked]]:
        rejected: list[Rejection] = []
        parked: list[Parked] = []
        for d in deliveries:
            r, p = await self.handle([d])
            rejected += r
            parked += p
        return rejected, parked

    async def settle(self, rejected: list[Rejection], parked: list[Parked]) -> None:
        """Stores the dead letters and the parked records, waiting out an outage of the broker or the database:
        the batch's offsets are committed after this, and an exception here would have let the next commit
        pass over these records (FastStream's manual ack commits the consumer's position)."""
        rejected, attempt = list(rejected), 0
        while True:
            try:
                while rejected:
                    await self.dead_letter_all(rejected[:1])
                    rejected.pop(0)
                if parked:
                    await parking_lot(self.broker).park(self, parked)
                return
            except RETRYABLE_INFRA as exc:
                attempt += 1
                RETRIES.labels(self.topic, "settle").inc()
                if attempt == 1 or attempt % 20 == 0:
                    log.warning("storing dead letters or parked records failed; retrying",
                                extra={"topic": self.topic, "attempt": attempt}, exc_info=exc)
                await asyncio.sleep(min(15.0, self.settings.consumer_retry_base_seconds * 2 ** min(attempt, 8)))

    async def dead_letter_all(self, rejections: list[Rejection]) -> None:
        for rejection in rejections:
            record = rejection.record
            log.warning("dead-lettered", extra={"topic": self.topic, "offset": record.offset,
                                                "reason": rejection.reason})
            kept = {k: v for k, v in _headers(record).items() if k.lower() not in SECRET_HEADERS}
            headers = {**kept, "x-dlq-reason": rejection.reason[:2000], "x-dlq-topic": self.topic,
                       "x-dlq-offset": str(record.offset), "x-dlq-partition": str(record.partition)}
            value = record.value or b""
            if len(value) > self.settings.kafka_max_record_bytes:
                # Too large to copy: the dead letter points at the original, which stays on its topic.
                headers["x-dlq-original-bytes"] = str(len(value))
                value = b""
            await self.broker.publish(value, dead_letter(self.topic), key=record.key, headers=headers)
            DEAD_LETTERED.labels(self.topic).inc()


class _Rewinder(ConsumerRebalanceListener):  # type: ignore[misc]
    """Starts the first assignment after a broker rebuild at the beginning of the partitions (see rewind())."""

    def __init__(self, consumer: Consumer[Any]) -> None:
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if self.consumer.rewind_pending and assigned:
            self.consumer.rewind_pending = False
            self.consumer.seek_to_start(assigned)
            log.warning("the broker was rebuilt: reading the assigned partitions from the beginning",
                        extra={"topic": self.consumer.topic, "group_id": self.consumer.group_id})


def parking_lot(broker: KafkaBroker) -> "ParkingLot":
    """The broker's parking lot (one per service process); the service's lifespan gives it the pool and runs
    its retry loop."""
    from regua_platform.parking import ParkingLot  # parking builds on this module

    lot = _LOTS.get(id(broker))
    if lot is None:
        lot = _LOTS[id(broker)] = ParkingLot()
    return lot


_LOTS: dict[int, "ParkingLot"] = {}
