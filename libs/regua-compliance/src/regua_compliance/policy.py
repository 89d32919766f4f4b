"""A tenant's contact policy: the defaults of DOMAIN.md, which a tenant may only make stricter."""

from dataclasses import dataclass, field
from datetime import time, timedelta

Hours = tuple[time, time]


@dataclass(frozen=True)
class ContactPolicy:
    weekday_hours: Hours | None = (time(8), time(20))
    saturday_hours: Hours | None = (time(8), time(14))
    #: Call attempts per debtor (all their debts) in a rolling window, and the silence after a conversation.
    max_calls: int = 7
    call_window: timedelta = timedelta(days=7)
    quiet_after_conversation: timedelta = timedelta(days=7)
    #: Minimum time between two collection messages on one channel, per debtor.
    min_interval: dict[str, timedelta] = field(default_factory=lambda: {"whatsapp": timedelta(hours=48)})
