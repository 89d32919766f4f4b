"""Local stand-ins for the text providers, speaking real HTTP: an SMS gateway and the WhatsApp Business
Cloud API. Like the real ones they authenticate the bearer token, accept each Idempotency-Key once (a
repeat gets the first answer and sends nothing), and report back by signed webhook:
receipts and statuses a moment after each send, and debtor messages injected by tests and the demo. The
SMS double signs a timestamp with each webhook (X-Signature: t=..,v1=..); WhatsApp's, like Meta, the body.
Every accepted message is appended as one JSON line to a file (flushed with each report period).

    python -m regua_localstack.provider_sink --port 8090 --out providers.jsonl \\
        --sms-webhook http://127.0.0.1:8006/webhooks/sms --whatsapp-webhook http://127.0.0.1:8007/webhooks/whatsapp

Numbers ending in 0000 are unreachable (SMS receipt 'failed' invalid_number; WhatsApp status 'failed'
131026); SMS numbers ending in 9999 are refused at once (400 invalid_number). Test controls under /_sink:
faults (answer 5xx for a number), hold (record a message, then answer late: a crash window), inbound
messages, and per-key request counts.

Not every real provider honours Idempotency-Key: ``--no-dedupe`` (or POST /_sink/{channel}/dedupe
{"on": false}) makes a channel send every request it accepts, and GET /_sink/{channel}/references counts the
send calls per our reference (SMS ``reference``, WhatsApp ``biz_opaque_callback_data``). The SMS gateway also
answers a status lookup by that reference, as real gateways do: GET /sms/v1/messages?reference=<step id>
-> 200 {"messages": [{"id": "sms_...", "reference": "...", "status": "queued"}]} (empty when it has none).
The Cloud API has no such lookup; only its status webhooks echo biz_opaque_callback_data.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

SMS_ROUTE = "/sms/v1/messages"
# Builds a new message's answer: (HTTP status, body, the line to record or None when refused).
Build = Callable[[], tuple[int, dict[str, Any], dict[str, Any] | None]]


def sign(secret: str, body: bytes) -> str:
    """WhatsApp Cloud API: the body alone (X-Hub-Signature-256); its timestamps are in the payload."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign_timestamped(secret: str, body: bytes, at: int) -> str:
    """SMS gateway, like Stripe and Twilio: the send time is under the signature (X-Signature)."""
    return f"t={at},v1=" + hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()


def read_provider_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    complete = text[:text.rfind("\n") + 1]  # a line still being written is read next time
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


@dataclass
class Channel:
    name: str
    token: str
    secret: str
    webhook: str | None
    answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # by Idempotency-Key
    requests: Counter[str] = field(default_factory=Counter)  # by Idempotency-Key
    pending: list[dict[str, Any]] = field(default_factory=list)  # receipts/statuses to post
    faults: dict[str, int] = field(default_factory=dict)  # number -> HTTP status to answer
    holds: dict[str, float] = field(default_factory=dict)  # number -> seconds to wait before answering
    dedupe: bool = True  # honour Idempotency-Key (some real providers do not)
    calls: Counter[str] = field(default_factory=Counter)  # send calls by our reference
    sent: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # accepted messages by our reference
    lookups: Counter[str] = field(default_factory=Counter)  # status lookups by our reference


class ProviderSink:
    def __init__(self, out: Path, sms: Channel, whatsapp: Channel, report_every: float) -> None:
        self._out = out.open("a", encoding="utf-8")
        self.channels = {"sms": sms, "whatsapp": whatsapp}
        self.report_every = report_every
        self._session: ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(SMS_ROUTE, self.sms_send)
        app.router.add_post("/whatsapp/{version}/{phone_number_id}/messages", self.whatsapp_send)
        app.router.add_post("/_sink/{channel}/inbound", self.inject_inbound)
        app.router.add_post("/_sink/{channel}/faults", self.set_fault)
        app.router.add_post("/_sink/{channel}/holds", self.set_hold)
        app.router.add_get("/_sink/{channel}/requests", self.request_counts)
        app.router.add_get(SMS_ROUTE, self.sms_lookup)
        app.router.add_post("/_sink/{channel}/dedupe", self.set_dedupe)
        app.router.add_get("/_sink/{channel}/references", self.reference_counts)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, _: web.Application) -> None:
        self._session = ClientSession(timeout=ClientTimeout(total=10))
        self._reporter = asyncio.create_task(self._report_loop())

    async def _stop(self, _: web.Application) -> None:
        self._reporter.cancel()
        if self._session is not None:
            await self._session.close()

    # --- sending ---------------------------------------------------------------------------------------

    async def _accept(self, request: web.Request, channel: Channel, to: str, reference: str,
                      build: Build) -> web.Response:
        """Auth, faults, the idempotency key, recording, holds: what both APIs share."""
        if request.headers.get("Authorization") != f"Bearer {channel.token}":
            return web.json_response({"error": {"code": "unauthorized", "message": "bad token"}}, status=401)
        key = request.headers.get("Idempotency-Key") or uuid.uuid4().hex
        channel.requests[key] += 1
        channel.calls[reference] += 1
        if to in channel.faults:
            return web.json_response({"error": {"code": "unavailable"}}, status=channel.faults[to])
        if channel.dedupe and key in channel.answers:
            status, body = channel.answers[key]
            return web.json_response(body, status=200 if status < 300 else status,
                                     headers={"Idempotent-Replayed": "true"})
        status, body, record = build()
        channel.answers[key] = (status, body)
        if record is not None:
            channel.sent.setdefault(reference, []).append({"id": record["id"], "reference": reference,
                                                           "status": "queued"})
            self._out.write(json.dumps({"channel": channel.name, "key": key, "at": time.time(), **record},
                                       ensure_ascii=False) + "\n")
        hold = channel.holds.pop(to, 0.0)
        if hold:
            self._out.flush()
            await asyncio.sleep(hold)  # recorded, not answered yet: the sender may die in between
        return web.json_response(body, status=status)

    async def sms_send(self, request: web.Request) -> web.Response:
        payload = await request.json()
        channel = self.channels["sms"]
        to = str(payload.get("to", ""))

        def build() -> tuple[int, dict[str, Any], dict[str, Any] | None]:
            if not to.startswith("+") or to.endswith("9999") or not payload.get("text"):
                return 400, {"error": {"code": "invalid_number", "message": "not a valid mobile number"}}, None
            message_id = f"sms_{uuid.uuid4().hex}"
            failed = to.endswith("0000")
            channel.pending.append({"id": message_id, "reference": payload.get("reference"),
                                    "status": "failed" if failed else "delivered",
                                    "error_code": "invalid_number" if failed else None,
                                    "timestamp": datetime.now(UTC).isoformat()})
            return 201, {"id": message_id, "status": "queued"}, {
                "id": message_id, "to": to, "text": payload["text"], "reference": payload.get("reference"),
                "encoding": payload.get("encoding"), "segments": payload.get("segments")}

        return await self._accept(request, channel, to, str(payload.get("reference") or ""), build)

    async def sms_lookup(self, request: web.Request) -> web.Response:
        """The gateway's messages carrying our reference (a real gateway's status query)."""
        channel = self.channels["sms"]
        if request.headers.get("Authorization") != f"Bearer {channel.token}":
            return web.json_response({"error": {"code": "unauthorized", "message": "bad token"}}, status=401)
        reference = request.query.get("reference", "")
        channel.lookups[reference] += 1
        return web.json_response({"messages": channel.sent.get(reference, [])})

    async def whatsapp_send(self, request: web.Request) -> web.Response:
        payload = await request.json()
        channel = self.channels["whatsapp"]
        to = str(payload.get("to", ""))

        def build() -> tuple[int, dict[str, Any], dict[str, Any] | None]:
            problem = _whatsapp_problem(payload)
            if problem:
                return 400, {"error": {"message": f"(#100) {problem}", "type": "OAuthException", "code": 100,
                                       "fbtrace_id": uuid.uuid4().hex[:11]}}, None
            wamid = f"wamid.{uuid.uuid4().hex}"
            channel.pending.append({"id": wamid, "status": "sent", "recipient_id": to,
                                    "biz_opaque_callback_data": payload.get("biz_opaque_callback_data")})
            failed = to.endswith("0000")
            channel.pending.append({"id": wamid, "recipient_id": to, "status": "failed" if failed else "delivered",
                                    "biz_opaque_callback_data": payload.get("biz_opaque_callback_data"),
                                    **({"errors": [{"code": 131026, "title": "Message undeliverable"}]}
                                       if failed else {})})
            template = payload.get("template") or {}
            parameters = [p.get("text") for c in template.get("components", []) for p in c.get("parameters", [])]
            return 200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                         "messages": [{"id": wamid}]}, {
                "id": wamid, "to": to, "type": payload["type"], "template": template.get("name"),
                "language": (template.get("language") or {}).get("code"), "parameters": parameters,
                "text": (payload.get("text") or {}).get("body")}

        return await self._accept(request, channel, to, str(payload.get("biz_opaque_callback_data") or ""), build)

    # --- reporting back ----------------------------------------------------------------------------------

    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(self.report_every)
            self._out.flush()  # readers see accepted messages within one period; not a write per message
            for channel in self.channels.values():
                if channel.pending and channel.webhook:
                    batch, channel.pending = channel.pending, []
                    if not await self._post(channel, _report_body(channel.name, batch), _report_path(channel.name)):
                        channel.pending = batch + channel.pending  # delivered at least once, like a provider

    async def _post(self, channel: Channel, body: dict[str, Any], path: str) -> int:
        assert self._session is not None and channel.webhook
        raw = json.dumps(body).encode()
        signed = ({"X-Signature": sign_timestamped(channel.secret, raw, int(time.time()))} if channel.name == "sms"
                  else {"X-Hub-Signature-256": sign(channel.secret, raw)})
        try:
            async with self._session.post(channel.webhook + path, data=raw, headers={
                    "Content-Type": "application/json", **signed}) as r:
                return r.status if r.status < 500 else 0
        except (OSError, TimeoutError, ClientError):  # a receiver killed mid-request: posted again next period
            return 0

    async def inject_inbound(self, request: web.Request) -> web.Response:
        """A debtor writes: {"from": "+55...", "text": "SAIR", "timestamp": ISO, "context_id": wamid}."""
        channel = self.channels[request.match_info["channel"]]
        m = await request.json()
        at = datetime.fromisoformat(m["timestamp"]) if m.get("timestamp") else datetime.now(UTC)
        message_id = m.get("id") or f"in_{uuid.uuid4().hex}"
        if channel.name == "sms":
            body: dict[str, Any] = {"messages": [{"id": message_id, "from": m["from"], "text": m["text"],
                                                  "timestamp": at.isoformat()}]}
            path = "/inbound"
        else:
            message: dict[str, Any] = {"from": m["from"].lstrip("+"), "id": message_id,
                                       "timestamp": str(int(at.timestamp())), "type": "text",
                                       "text": {"body": m["text"]}}
            if m.get("context_id"):
                message["context"] = {"from": "5511900000000", "id": m["context_id"]}
            body = _whatsapp_envelope({"contacts": [{"profile": {"name": "Devedor"}, "wa_id": message["from"]}],
                                       "messages": [message]})
            path = ""
        status = await self._post(channel, body, path)
        return web.json_response({"status": status, "id": message_id})

    async def set_fault(self, request: web.Request) -> web.Response:
        channel, body = self.channels[request.match_info["channel"]], await request.json()
        if body.get("status"):
            channel.faults[body["to"]] = int(body["status"])
        else:
            channel.faults.pop(body["to"], None)
        return web.json_response({"faults": channel.faults})

    async def set_hold(self, request: web.Request) -> web.Response:
        channel, body = self.channels[request.match_info["channel"]], await request.json()
        channel.holds[body["to"]] = float(body["seconds"])
        return web.json_response({"holds": channel.holds})

    async def request_counts(self, request: web.Request) -> web.Response:
        return web.json_response(dict(self.channels[request.match_info["channel"]].requests))

    async def set_dedupe(self, request: web.Request) -> web.Response:
        channel, body = self.channels[request.match_info["channel"]], await request.json()
        channel.dedupe = bool(body["on"])
        return web.json_response({"dedupe": channel.dedupe})

    async def reference_counts(self, request: web.Request) -> web.Response:
        """Send calls and status lookups per reference: {"calls": {ref: n}, "lookups": {ref: n}}."""
        channel = self.channels[request.match_info["channel"]]
        return web.json_response({"calls": dict(channel.calls), "lookups": dict(channel.lookups)})


def _whatsapp_problem(payload: dict[str, Any]) -> str:
    if payload.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if not str(payload.get("to", "")).isdigit():
        return "to must be a phone number in international format without +"
    if payload.get("type") == "template":
        template = payload.get("template") or {}
        if not template.get("name") or not (template.get("language") or {}).get("code"):
            return "template.name and template.language.code are required"
        return ""
    if payload.get("type") == "text":
        return "" if (payload.get("text") or {}).get("body") else "text.body is required"
    return "type must be template or text"


def _whatsapp_envelope(value: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "100000000000009", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp", "metadata": {
            "display_phone_number": "551140000000", "phone_number_id": "100000000000001"}, **value}}]}]}


def _report_body(channel: str, batch: list[dict[str, Any]]) -> dict[str, Any]:
    if channel == "sms":
        return {"receipts": batch}
    stamp = str(int(time.time()))
    return _whatsapp_envelope({"statuses": [{**s, "timestamp": stamp} for s in batch]})


def _report_path(channel: str) -> str:
    return "/receipts" if channel == "sms" else ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 in a container (compose)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sms-token", default="local-sms-token")
    parser.add_argument("--sms-secret", default="local-sms-webhook-secret")
    parser.add_argument("--sms-webhook", default=None, help="base URL of the SMS dispatcher's webhooks")
    parser.add_argument("--whatsapp-token", default="local-whatsapp-token")
    parser.add_argument("--whatsapp-secret", default="local-whatsapp-app-secret")
    parser.add_argument("--whatsapp-webhook", default=None, help="the WhatsApp dispatcher's webhook URL")
    parser.add_argument("--report-every", type=float, default=0.2, help="seconds between receipt batches")
    parser.add_argument("--no-dedupe", action="store_true", help="ignore Idempotency-Key: send every request")
    args = parser.parse_args()
    dedupe = not args.no_dedupe
    sink = ProviderSink(args.out, Channel("sms", args.sms_token, args.sms_secret, args.sms_webhook, dedupe=dedupe),
                        Channel("whatsapp", args.whatsapp_token, args.whatsapp_secret, args.whatsapp_webhook,
                                dedupe=dedupe), args.report_every)
    web.run_app(sink.app(), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
