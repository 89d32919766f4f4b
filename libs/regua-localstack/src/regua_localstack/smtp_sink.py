"""A local SMTP server (aiosmtpd) that accepts every message and appends it as one JSON line to a file.
Recipients at bounce.invalid are refused with 550, to exercise hard bounces.

    python -m regua_localstack.smtp_sink --port 1025 --out mail.jsonl
"""

import argparse
import asyncio
import json
import signal
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class JsonlMailbox:
    def __init__(self, out: Path) -> None:
        self._out = out.open("a", encoding="utf-8")

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address.endswith("@bounce.invalid"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        assert isinstance(content, bytes)
        msg: Any = message_from_bytes(content, policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))
        record = {
            "message_id": msg["Message-ID"], "step_id": msg["X-Regua-Step-Id"], "step": msg["X-Regua-Step"],
            "to": envelope.rcpt_tos, "subject": msg["Subject"], "unsubscribe": msg["List-Unsubscribe"],
            "body": body.get_content() if body is not None else "",
        }
        self._out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._out.flush()
        return "250 Message accepted"


def read_mailbox(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    complete = text[:text.rfind("\n") + 1]  # a line still being written is read next time
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    controller = Controller(JsonlMailbox(args.out), hostname="127.0.0.1", port=args.port)
    controller.start()

    async def wait_for_signal() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    try:
        asyncio.run(wait_for_signal())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
