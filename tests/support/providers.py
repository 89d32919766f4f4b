"""The SMS gateway and WhatsApp Cloud API double of a test session (regua_localstack.provider_sink, a
separate process speaking real HTTP): what it received, and its test controls."""

from datetime import datetime
from typing import Any

import httpx

from regua_localstack.provider_sink import read_provider_log
from regua_localstack.stack import LocalStack


class Providers:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.base = f"http://127.0.0.1:{stack.providers_port}/_sink"

    def received(self, channel: str, to: str | None = None) -> list[dict[str, Any]]:
        """Messages the provider accepted (each idempotency key once), oldest first."""
        return [m for m in read_provider_log(self.stack.provider_log)
                if m["channel"] == channel and (to is None or m["to"] == to)]

    def reply(self, channel: str, phone: str, text: str, at: datetime | None = None,
              in_reply_to: str | None = None) -> int:
        """The debtor writes; returns the dispatcher's HTTP status for the signed webhook."""
        r = httpx.post(f"{self.base}/{channel}/inbound", json={
            "from": phone, "text": text, "timestamp": at.isoformat() if at else None, "context_id": in_reply_to})
        r.raise_for_status()
        status: int = r.json()["status"]
        return status

    def fault(self, channel: str, to: str, status: int | None) -> None:
        """Answer every request for ``to`` with ``status`` (None clears it)."""
        httpx.post(f"{self.base}/{channel}/faults", json={"to": to, "status": status}).raise_for_status()

    def hold(self, channel: str, to: str, seconds: float) -> None:
        """Record the next new message to ``to``, then wait ``seconds`` before answering."""
        httpx.post(f"{self.base}/{channel}/holds", json={"to": to, "seconds": seconds}).raise_for_status()

    def requests(self, channel: str) -> dict[str, int]:
        """How many requests each idempotency key got."""
        r = httpx.get(f"{self.base}/{channel}/requests")
        r.raise_for_status()
        counts: dict[str, int] = r.json()
        return counts

    def dedupe(self, channel: str, on: bool) -> None:
        """Whether the double honours Idempotency-Key (some real providers do not)."""
        httpx.post(f"{self.base}/{channel}/dedupe", json={"on": on}).raise_for_status()

    def calls(self, channel: str) -> dict[str, int]:
        """Send calls per our reference (the step id), whatever the idempotency key."""
        r = httpx.get(f"{self.base}/{channel}/references")
        r.raise_for_status()
        counts: dict[str, int] = r.json()["calls"]
        return counts
