"""WhatsApp's customer service window: within 24 hours after the debtor's last message a business may
write free text; outside it, only a template the provider approved (Business Policy)."""

from datetime import datetime, timedelta

WINDOW = timedelta(hours=24)


def inside_window(at: datetime, last_inbound: datetime | None) -> bool:
    return last_inbound is not None and last_inbound <= at < last_inbound + WINDOW
