"""LGPD rules of data-subject requests (art. 18), pure: when a person's data may be erased, and why not.

Collection of a debt is a legal basis of its own (art. 7 X, credit protection), so an open debt keeps the data.
Once every debt ended, the data is kept for the retention period (CDC art. 27: five years to claim damages;
CTN arts. 173-174: five years of tax records), counted from the last debt's end."""

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Holding:
    """What ingestion holds about one person across every creditor."""

    open_invoices: int
    last_closed_at: datetime | None  # when the last paid or cancelled invoice ended


def erasure_refusal(holding: Holding, now: datetime, retention_days: int) -> str | None:
    """Why the person's data may not be erased yet, or None when no legal basis remains."""
    if holding.open_invoices:
        return (f"open debt: {holding.open_invoices} invoice(s) still in collection (LGPD art. 7 X, credit "
                "protection); erase after they are paid or cancelled and the retention period is over")
    if holding.last_closed_at is not None:
        kept_until = holding.last_closed_at + timedelta(days=retention_days)
        if now < kept_until:
            return (f"legal retention until {kept_until.date().isoformat()}: {retention_days} days after the last "
                    "debt ended (CDC art. 27, CTN arts. 173-174; LGPD art. 16 I)")
    return None
