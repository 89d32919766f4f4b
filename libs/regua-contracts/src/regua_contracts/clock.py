"""The simulated clock's moves (tests and the demo only; production services read the wall clock)."""

from typing import Literal

from pydantic import TypeAdapter

from regua_contracts.common import Event


class ClockSet(Event):
    """The ruler's simulated clock now reads ``occurred_at``; followers observe it (never backwards)."""

    type: Literal["clock.set.v1"] = "clock.set.v1"


CLOCK_EVENT = TypeAdapter(ClockSet)
