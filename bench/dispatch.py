"""`python -m bench dispatch [--messages N] [--limited N] [--rate R]`: dispatch throughput per channel.

Each text dispatcher runs as its own process against the local provider double (real HTTP, idempotency
keys, signed receipts posted back), with the broker and PostgreSQL on the same machine. The bench produces
N contact commands straight onto the channel's command topic and times, from the first send, until the
provider has accepted all N and until the dispatcher has confirmed all N in its ledger (status 'sent',
ContactAttempted in the outbox). Then the same with the provider's rate limit on (default 100/s): the
observed rate is what the provider saw, first to last message.
"""

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg

from bench import cpu, kafka
from bench.report import Line, table
from bench.workload import Record
from regua_contracts import topics
from regua_contracts.common import Creditor, InvoiceSummary
from regua_contracts.contacts import ContactRequested, Recipient
from regua_localstack.stack import LocalStack

TARGET_SMS = 2_000.0  # messages/s with the rate limit off
TOLERANCE = 0.05  # the observed rate within 5 % of the limit
CREDITOR = Creditor(name="Comércio de Exemplo Ltda", cnpj="11222333000181",
                    address="Av. Paulista, 1000, São Paulo - SP")


def commands(channel: str, n: int, run: str) -> list[Record]:
    """N commands to distinct numbers; none ends in 0000 or 9999 (the provider double fails those)."""
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        debtor = uuid.uuid4()
        command = ContactRequested(
            occurred_at=now, tenant_id=f"bench-{run}", step_id=uuid.uuid4(), step_key="D+1", channel=channel,
            template="notice", tone="informative",
            recipient=Recipient(debtor_id=debtor, name="Maria Aparecida dos Santos", phone=f"+55119{i:07d}1",
                                state="SP"),
            creditor=CREDITOR, invoices=[InvoiceSummary(invoice_id=uuid.uuid4(), external_id=f"NF-{i:06d}",
                                                        amount_cents=12_345 + i, due_date=date(2027, 3, 9))],
            scheduled_for=now,
        )
        out.append(Record(str(debtor).encode(), command.model_dump_json().encode()))
    return out


async def _run(stack: LocalStack, channel: str, n: int, timeout: float) -> tuple[Line, Line, list[float]]:
    assert stack.bootstrap
    run = uuid.uuid4().hex[:8]
    records = commands(channel, n, run)
    # The provider log carries the step id (SMS reference) or the recipient: mark the run by its step ids.
    log = ProviderLog(stack.provider_log, channel, {json.loads(r.value)["step_id"] for r in records})
    service = f"dispatch-{channel}"
    schema = f"dispatch_{channel}"
    conn = await asyncpg.connect(stack.database_url)
    groups: cpu.Groups = {
        "bench": lambda: [os.getpid()],
        service: lambda: [p.popen.pid for p in [stack.services[service]] if p.popen],
        "provider": lambda: [p.popen.pid for p in stack.processes if p.name == "provider-sink" and p.popen],
        "broker": lambda: [p.popen.pid for p in stack.processes if p.name == "broker" and p.popen],
        "postgres": lambda: cpu.postgres_pids(stack.database_name),
    }
    try:
        base = await conn.fetchval(f"SELECT count(*) FROM {schema}.dispatch_attempts WHERE status = 'sent'")
        with cpu.measure(groups) as use:
            started = time.perf_counter()
            await kafka.produce(stack.bootstrap, topics.contact_commands(channel), records,
                                signer=stack.signer("ruler"))
            accepted_at = confirmed_at = None
            deadline = started + timeout
            while confirmed_at is None and time.perf_counter() < deadline:
                await asyncio.sleep(0.1)
                sent = await conn.fetchval(f"SELECT count(*) FROM {schema}.dispatch_attempts WHERE status = 'sent'")
                if accepted_at is None and log.poll() >= n:
                    accepted_at = time.perf_counter()
                if sent - base >= n:
                    confirmed_at = time.perf_counter()
                    accepted_at = accepted_at or confirmed_at
        if confirmed_at is None or accepted_at is None:
            raise TimeoutError(f"{channel}: not every message confirmed after {timeout}s")
    finally:
        await conn.close()
    await asyncio.sleep(0.5)  # the provider flushes its log every 0.2 s
    log.poll()
    stamps = sorted(log.stamps)
    return (Line(f"{channel}: first command -> all accepted by the provider", n, accepted_at - started),
            Line(f"{channel}: first command -> all confirmed (ledger + outbox)", n, confirmed_at - started, None,
                 use.seconds), stamps)


class ProviderLog:
    """Follows the provider double's JSON-lines log from where it last stopped (a poll costs what is new)."""

    def __init__(self, path: Path, channel: str, steps: set[str]) -> None:
        self.path, self.channel, self.steps = path, channel, steps
        self.stamps: list[float] = []
        self._offset = 0

    def poll(self) -> int:
        if self.path.exists():
            with self.path.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
            complete = chunk[:chunk.rfind(b"\n") + 1]
            self._offset += len(complete)
            for line in complete.splitlines():
                m = json.loads(line)
                if m["channel"] == self.channel and m["key"] in self.steps:
                    self.stamps.append(float(m["at"]))
        return len(self.stamps)


def _restart(stack: LocalStack, service: str, rate: float) -> None:
    key = "REGUA_SMS_RATE_PER_SECOND" if service == "dispatch-sms" else "REGUA_WHATSAPP_RATE_PER_SECOND"
    stack.extra_env[key] = str(rate)
    if service in stack.services:
        stack.services[service].stop()
    stack.start_service(service)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench dispatch", description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000, help="messages per unlimited run")
    parser.add_argument("--limited", type=int, default=3_000, help="messages per rate-limited run")
    parser.add_argument("--rate", type=float, default=100.0, help="the provider limit of the limited runs")
    parser.add_argument("--channels", default="sms,whatsapp")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="regua-bench-dispatch-"))
    stack = LocalStack(workdir=workdir)
    load_before = os.getloadavg()[0]
    lines: list[Line] = []
    observed: dict[str, float] = {}
    try:
        stack.start_infra()
        for channel in args.channels.split(","):
            service = f"dispatch-{channel}"
            _restart(stack, service, 0)
            accepted, confirmed, _ = asyncio.run(_run(stack, channel, args.messages, args.timeout))
            lines += [accepted, confirmed]
            _restart(stack, service, args.rate)
            accepted, confirmed, stamps = asyncio.run(_run(stack, channel, args.limited, args.timeout))
            lines += [Line(f"{channel} at {args.rate:.0f}/s: " + accepted.stage.split(": ", 1)[1], accepted.records,
                           accepted.seconds),
                      Line(f"{channel} at {args.rate:.0f}/s: " + confirmed.stage.split(": ", 1)[1],
                           confirmed.records, confirmed.seconds, None, confirmed.cpu)]
            observed[channel] = (len(stamps) - 1) / (stamps[-1] - stamps[0])
            stack.services[service].stop()
    finally:
        stack.stop()
    print(table(lines))
    print()
    sms = next((x.rate for x in lines if x.stage.startswith("sms: first command -> all confirmed")), None)
    if sms is not None:
        print(f"SMS, rate limit off: {sms:,.0f} messages/s confirmed (target >= {TARGET_SMS:,.0f}: "
              f"{'met' if sms >= TARGET_SMS else 'NOT met'})")
    for channel, rate in observed.items():
        off = abs(rate - args.rate) / args.rate
        print(f"{channel}, limit {args.rate:.0f}/s: the provider saw {rate:.1f} messages/s, first to last "
              f"({off:.1%} off; target within {TOLERANCE:.0%}: {'met' if off <= TOLERANCE else 'NOT met'})")
    print(f"{os.cpu_count()} cores; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; "
          f"logs in {workdir / 'logs'}")
    return 0
