"""Raw aiokafka produce and consume: what the broker and the Python client do with no service in between."""

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.workload import Record
from regua_platform.signing import Signer

# Batching is what makes a Kafka producer fast; the same settings serve the raw run and the service run.
PRODUCER_OPTIONS = {"linger_ms": 5, "max_batch_size": 256 * 1024, "max_request_size": 8 * 1024 * 1024}


async def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, records: Sequence[Record],
                  headers: list[tuple[str, bytes]] | None = None, signer: Signer | None = None) -> float:
    """Sends every record and waits for every acknowledgement; returns the seconds that took. Records of an
    internal topic are signed as ``signer``'s service (the service the benchmark stands in for)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **PRODUCER_OPTIONS)
    await producer.start()

    def signed(r: Record) -> list[tuple[str, bytes]] | None:
        if signer is None:
            return headers
        plain = {k: v.decode() for k, v in headers or ()}
        return [(k, v.encode()) for k, v in signer.headers(topic, r.key, r.value, plain).items()]

    try:
        started = time.perf_counter()
        pending = [await producer.send(topic, r.value, key=r.key, headers=signed(r)) for r in records]
        await asyncio.gather(*pending)
        return time.perf_counter() - started
    finally:
        await producer.stop()


@asynccontextmanager
async def reader(bootstrap: str, topic: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A group-less consumer from the beginning of every partition (no group join to wait for)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        yield consumer
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    for _ in range(50):
        await consumer.topics()  # refreshes metadata: a topic created a moment ago may not be known yet
        ids = consumer.partitions_for_topic(topic)
        if ids:
            return [TopicPartition(topic, p) for p in sorted(ids)]
        await asyncio.sleep(0.1)
    raise RuntimeError(f"topic {topic} has no partitions")


async def batches(consumer: AIOKafkaConsumer, total: int,
                  max_records: int) -> AsyncIterator[list[ConsumerRecord[bytes, bytes]]]:
    """Yields batches of at most ``max_records`` until ``total`` records were read."""
    seen = 0
    while seen < total:
        fetched = await consumer.getmany(timeout_ms=1000, max_records=max_records)
        batch = [r for records in fetched.values() for r in records]
        seen += len(batch)
        if batch:
            yield batch


async def consume(bootstrap: str, topic: str, total: int, max_records: int) -> float:
    """Reads ``total`` records; returns the seconds from the first fetch to the last record."""
    async with reader(bootstrap, topic) as consumer:
        started = time.perf_counter()
        async for _ in batches(consumer, total, max_records):
            pass
        return time.perf_counter() - started
