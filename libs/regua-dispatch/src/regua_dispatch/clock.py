"""Simulated time for a dispatcher (tests and the demo): the ruler owns the simulated clock and publishes every
move on regua.clock.v1; a dispatcher's EventClock observes them, so messages held until a moment are released
when the ruler's time reaches it. The topic is read from its earliest offset at every start (a group of its
own per process): the clock lives in memory and must catch up with every move made before."""

import uuid

from pydantic import TypeAdapter

from regua_contracts import topics
from regua_contracts.clock import ClockSet
from regua_platform.clock import Clock, EventClock, observe
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.service import Runtime


def follow_clock(runtime: Runtime, channel: str, clock: Clock) -> None:
    """Observes ClockSet events; nothing to do with the wall clock."""
    if not isinstance(clock, EventClock):
        return

    async def handle(deliveries: list[Delivery[ClockSet]]) -> list[Rejection]:
        for d in deliveries:
            observe(clock, d.event.occurred_at)
        return []

    subscribe(runtime.broker, runtime.settings, topic=topics.CLOCK,
              group_id=f"dispatch-{channel}-clock-{uuid.uuid4().hex[:12]}", adapter=TypeAdapter(ClockSet),
              handler=handle)
