"""Topics are created with the configured partitions and replication factor (REGUA_KAFKA_PARTITIONS,
REGUA_KAFKA_REPLICATION_FACTOR), by ensure_topics and by the broker watch, against a real Tansu broker (it
records the replica list it was asked for)."""

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from regua_localstack.infra import start_broker
from regua_platform.broker_watch import BrokerWatch, marker_topic
from regua_platform.kafka import ensure_topics
from regua_platform.settings import Settings


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    process, address = start_broker(Path(tempfile.mkdtemp(prefix="regua-topics-test-")))
    try:
        yield address
    finally:
        process.stop()


async def _layout(bootstrap: str, topics: list[str]) -> dict[str, list[int]]:
    """{topic: [replicas of each partition]}"""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described: list[dict[str, Any]] = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return {t["topic"]: [len(p["replicas"]) for p in t["partitions"]] for t in described}


async def test_ensure_topics_uses_the_configured_partitions_and_replication_factor(bootstrap: str) -> None:
    topic = f"regua.rf-test-{uuid.uuid4().hex[:6]}.v1"
    settings = Settings(kafka_bootstrap_servers=bootstrap, kafka_partitions=3, kafka_replication_factor=3)
    await ensure_topics(settings, [topic])
    assert await _layout(bootstrap, [topic]) == {topic: [3, 3, 3]}


async def test_the_broker_watch_creates_topics_and_marker_with_the_replication_factor(
        bootstrap: str, pool: asyncpg.Pool) -> None:
    topic, name = f"regua.rf-watch-{uuid.uuid4().hex[:6]}.v1", f"svc-{uuid.uuid4().hex[:6]}"
    settings = Settings(service_name=name, kafka_bootstrap_servers=bootstrap, kafka_partitions=2,
                        kafka_replication_factor=3)
    watch = BrokerWatch(settings, [topic], pool)
    try:
        await watch.check()
    finally:
        await watch.close()
    assert await _layout(bootstrap, [topic, marker_topic(name)]) == {topic: [3, 3], marker_topic(name): [3]}


def test_the_local_default_is_one_replica() -> None:
    assert Settings().kafka_replication_factor == 1  # a single broker (the local stack) has one replica
