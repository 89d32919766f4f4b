"""One payer-behaviour classification ("está" vs "é" inadimplente, DOMAIN.md), used by credit (profiles,
ruler segments) and negotiation (discount rules) alike.

An invoice is judged once its outcome is known: paid on time, paid late, or open and already late (late
whatever happens next). Cancelled invoices and open ones not yet due are not judged. Lateness is counted
against the effective due date (calendar.py: weekends and holidays move it).

| behaviour      | rule                                                                          |
|----------------|-------------------------------------------------------------------------------|
| no history     | nothing judged yet                                                            |
| on time        | every judged invoice on time                                                  |
| sometimes late | at least one late invoice, but not "always late"                              |
| always late    | at least 3 late invoices, and at least two thirds of the judged ones are late |

So "0 on time and 1 late" is *sometimes late*: one late invoice is an occasional delay ("está"
inadimplente), not a habit; a debtor "is" a late payer ("é") only after a pattern (3 or more, 2/3 of all).
"""

from enum import StrEnum

ALWAYS_LATE_MIN = 3  # late invoices before a debtor "is" (rather than "is being") a late payer


class Behaviour(StrEnum):
    NO_HISTORY = "no_history"
    ON_TIME = "on_time"
    SOMETIMES_LATE = "sometimes_late"
    ALWAYS_LATE = "always_late"


def classify(on_time: int, late: int) -> Behaviour:
    """``on_time``: judged invoices paid by their effective due date; ``late``: paid late or overdue now."""
    if on_time < 0 or late < 0:
        raise ValueError("counts cannot be negative")
    judged = on_time + late
    if judged == 0:
        return Behaviour.NO_HISTORY
    if late == 0:
        return Behaviour.ON_TIME
    if late >= ALWAYS_LATE_MIN and 3 * late >= 2 * judged:
        return Behaviour.ALWAYS_LATE
    return Behaviour.SOMETIMES_LATE
