"""Raw Kafka access (demo, tests): produce as a client company would, read what landed on a topic."""

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from regua_platform.signing import Signer


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes, dict[str, str]]],
                  signer: Signer | None = None) -> None:
    """Each record is (key, value, headers); signed as ``signer``'s service when given (internal topics)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for key, value, headers in records:
            if signer is not None:
                headers = signer.headers(topic, key, value, headers)
            await producer.send_and_wait(topic, value, key=key,
                                         headers=[(k, v.encode()) for k, v in headers.items()])
    finally:
        await producer.stop()


class TopicReadTimeout(TimeoutError):
    pass


async def read_topic(bootstrap: str, topic: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Everything on ``topic`` up to its end offsets when called, from the beginning, without joining a group.
    Never a partial read: a topic that cannot be read to its end within ``timeout`` (a loaded machine, a long
    topic) raises instead of answering with what it got so far."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        if not partitions:
            await consumer.topics()  # refresh metadata once
            partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        out: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in partitions])

        while loop.time() < deadline and await behind():
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                out += [{"key": r.key, "value": r.value, "headers": {k: v.decode() for k, v in r.headers}}
                        for r in records]
        if await behind():
            raise TopicReadTimeout(f"{topic} not read to its end within {timeout} s ({len(out)} records read)")
        return out
    finally:
        await consumer.stop()
