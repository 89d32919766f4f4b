"""Consumer lag per group and partition, exported by the services themselves: each process measures the
partitions its subscriptions hold (committed offset against the partition's end), so summing a group over
its replicas gives the group's lag without an exporter. A partition handed to another member stops being
reported here (its series is removed) and is reported by its new holder."""

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from prometheus_client import Gauge

if TYPE_CHECKING:
    from regua_platform.kafka import Consumer

log = logging.getLogger(__name__)

LAG = Gauge("regua_kafka_consumer_lag",
            "Records on a partition this process holds that its consumer group has not committed yet",
            ["group", "topic", "partition"])

_reported: set[tuple[str, str, str]] = set()


async def _lag_of(client: AIOKafkaConsumer, group: str) -> dict[tuple[str, str, str], int]:
    assigned = sorted(client.assignment())
    if not assigned:
        return {}
    ends = await client.end_offsets(assigned)
    starts: dict[TopicPartition, int] | None = None
    out = {}
    for tp in assigned:
        committed = await client.committed(tp)
        if committed is None:  # nothing committed yet: the group starts at the beginning (earliest)
            starts = starts or await client.beginning_offsets(assigned)
            committed = starts[tp]
        out[(group, tp.topic, str(tp.partition))] = max(ends[tp] - committed, 0)
    return out


async def measure(consumers: "Sequence[Consumer[Any]]") -> dict[tuple[str, str, str], int]:
    """Sets the gauge for every partition held now, removes the series of partitions no longer held, and
    returns the lags it set."""
    lags: dict[tuple[str, str, str], int] = {}
    for consumer in consumers:
        if consumer.client is not None:
            lags |= await _lag_of(consumer.client, consumer.group_id)
    for labels, lag in lags.items():
        LAG.labels(*labels).set(lag)
    for gone in _reported - lags.keys():
        LAG.remove(*gone)
    _reported.clear()
    _reported.update(lags)
    return lags


async def lag_loop(broker: KafkaBroker, seconds: float) -> None:
    from regua_platform.kafka import parking_lot  # the lot lists the broker's subscriptions

    while True:
        try:
            await measure(parking_lot(broker).consumers)
        except KafkaError as exc:  # a rebalance or a broker away: a metric is never worth a restart
            log.debug("consumer lag not measured", extra={"error": type(exc).__name__})
        await asyncio.sleep(seconds)
