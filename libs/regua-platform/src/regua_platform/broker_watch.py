"""The service's view of the broker: reachable, its topics there, and whether the broker lost its state.

Each service keeps a marker topic of its own (``regua.epoch.<service>``) that nothing produces to, so no
producer's auto-creation brings it back. Found missing, the broker is new or lost everything (an in-memory
broker restarted): the service recreates its topics and re-queues the events its outbox still retains, so
consumers get back whatever they had not read yet (they dedupe by event_id). Until then readiness is false and
the outbox relay waits, so nothing is published ahead of the older events it re-queues; the relay also
confirms the marker before each publish (``confirm``), so a broker that came back empty between two checks
gets nothing new before the re-queue.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from prometheus_client import Counter

from regua_platform.kafka import new_topics
from regua_platform.kafka_security import client_options
from regua_platform.outbox import requeue
from regua_platform.settings import Settings
from regua_platform.supervise import OUTAGE, Throttled

log = logging.getLogger(__name__)
REBUILDS = Counter("regua_broker_rebuilds_total", "Times this service found the broker without its state")


class BrokerStateLost(KafkaError):  # type: ignore[misc]
    """The broker no longer holds this service's marker topic: publish nothing until the outbox is re-queued."""


def marker_topic(service_name: str) -> str:
    return f"regua.epoch.{service_name}"


class BrokerWatch:
    def __init__(self, settings: Settings, topics: Sequence[str], pool: asyncpg.Pool,
                 rewind: Callable[[], None] = lambda: None) -> None:
        self._settings, self._pool = settings, pool
        self._rewind = rewind  # the service's consumers read the rebuilt broker from the beginning (kafka.rewind)
        self._topics = [*topics, marker_topic(settings.service_name)]
        self.verified = asyncio.Event()  # the broker holds this service's topics: ready, the relay may publish
        self.problem = "not checked yet"
        self._throttled = Throttled("broker check", every=30.0)
        self._admin: AIOKafkaAdminClient | None = None  # kept between checks (one connection, not one a second)

    def lost(self, problem: str) -> None:
        """Called by whoever saw the broker fail (a check, the relay): hold publishing until the next check."""
        self.verified.clear()
        self.problem = problem

    async def check(self) -> int:
        """One look at the broker; recreates what is missing. Returns how many events it re-queued."""
        try:
            admin = await self._admin_client()
            existing = set(await admin.list_topics())
            missing = [t for t in self._topics if t not in existing]
            marker = marker_topic(self._settings.service_name)
            requeued = 0
            if missing:
                await _create(admin, new_topics(self._settings, [t for t in missing if t != marker]))
            if marker in missing:
                # The marker goes last: a re-queue cut short by an outage is done again at the next check.
                self.lost("the broker lost its state")
                REBUILDS.inc()
                self._rewind()
                requeued = await requeue(self._pool)
                await _create(admin, [NewTopic(marker, 1, self._settings.kafka_replication_factor)])
                log.warning("the broker had no state of this service: topics created, outbox re-queued",
                            extra={"topics": len(missing), "requeued": requeued})
        except (KafkaError, OSError, TimeoutError) as exc:
            self.lost(f"broker: {type(exc).__name__}")
            await self.close()  # a new client (and connection) at the next check
            raise
        self.problem = ""
        self.verified.set()
        return requeued

    async def _admin_client(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self._settings.kafka_bootstrap_servers,
                                        request_timeout_ms=5000, **client_options(self._settings))
            await admin.start()
            self._admin = admin
        return self._admin

    async def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                await admin.close()
            except (KafkaError, OSError):
                pass

    async def confirm(self) -> None:
        """Called by the relay before each publish: one metadata request. A broker that came back empty since
        the last check is caught here, before a newer event goes out ahead of the older ones it lost."""
        try:
            topics = set(await (await self._admin_client()).list_topics())
        except (KafkaError, OSError, TimeoutError) as exc:
            self.lost(f"broker: {type(exc).__name__}")
            await self.close()
            raise
        if marker_topic(self._settings.service_name) not in topics:
            self.lost("the broker lost its state")
            raise BrokerStateLost("the broker lost its state; the outbox is re-queued at the next check")

    async def run(self) -> None:
        while True:
            try:
                await self.check()
                self._throttled.recovered()
            except OUTAGE as exc:
                self._throttled.failed(exc)
            await asyncio.sleep(self._settings.kafka_watch_seconds)


async def _create(admin: AIOKafkaAdminClient, topics: list[NewTopic]) -> None:
    if not topics:
        return
    try:
        await admin.create_topics(topics)
    except TopicAlreadyExistsError:
        pass  # another replica or service created some of them first
