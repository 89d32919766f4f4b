"""kill -9 the SMS and WhatsApp dispatchers again and again while they send a few hundred steps to providers
that do NOT dedupe on Idempotency-Key: afterwards no step reached its provider twice (send calls per step, as
the provider counts them), every SMS step reached it once, and every WhatsApp step did too, except one killed
after its call was recorded and before the request left, which no status can ever name: that one is finished
unconfirmed, never sent twice. A step whose call may have gone through is settled (the SMS gateway's lookup by
reference, the WhatsApp statuses that echo it) before any second send."""

import asyncio
import collections
import random
import signal
import time
from collections.abc import Callable
from datetime import timedelta

import asyncpg

from regua_dispatch.phones import phone_key
from regua_localstack.portfolio import cpf
from regua_localstack.stack import LocalStack
from tests.support.channels import at_local, next_monday, tenant_with_ruler, unique_phone
from tests.support.client import Platform, eventually
from tests.support.providers import Providers

SIZE = 250
KILLS = 5
CHANNELS = ("sms", "whatsapp")
DISPATCHERS = ("dispatch-sms", "dispatch-whatsapp")
STEPS = """\
      - {key: D+1, offset_days: 1, send: [sms, whatsapp], template: notice, tone: informative}
"""
# Slower providers, so that the run outlasts several kills; a shorter wait for WhatsApp statuses.
SLOW = {"REGUA_SMS_RATE_PER_SECOND": "25", "REGUA_WHATSAPP_RATE_PER_SECOND": "25",
        "REGUA_PROVIDER_STATUS_WAIT_SECONDS": "20"}
Outcomes = dict[str, tuple[str, str, int]]


def restart(stack: LocalStack) -> None:
    for name in DISPATCHERS:
        stack.services[name].kill(signal.SIGKILL)
    for name in DISPATCHERS:
        stack.start_service(name, wait=False)
    for name in DISPATCHERS:
        stack.services[name].wait_ready()


def address(channel: str, phone: str) -> str:
    return phone if channel == "sms" else phone.lstrip("+")  # the Cloud API's numbers have no +


def outcomes(stack: LocalStack, channel: str, phones: list[str]) -> Outcomes:
    """This run's steps on the channel (by the debtors' phone keys): step id -> (status, reason, tries)."""
    async def read() -> Outcomes:
        conn = await asyncpg.connect(stack.database_url)
        try:
            rows = await conn.fetch(
                f"SELECT step_id::text AS s, status, coalesce(reason, '') AS r, tries FROM dispatch_{channel}."
                "dispatch_attempts WHERE channel = $1 AND address_key = ANY($2::text[])",
                channel, [phone_key(p) for p in phones])
        finally:
            await conn.close()
        return {r["s"]: (r["status"], r["r"], r["tries"]) for r in rows}

    return asyncio.run(read())


def settled(stack: LocalStack, channel: str, phones: list[str]) -> Callable[[], bool]:
    def check() -> bool:
        found = outcomes(stack, channel, phones)
        return len(found) == len(phones) and all(status != "sending" for status, _, _ in found.values())
    return check


def test_each_text_reaches_a_provider_that_does_not_dedupe_once_through_repeated_kill_9(platform: Platform) -> None:
    providers, stack = Providers(platform.stack), platform.stack
    key = tenant_with_ruler(platform, "Telefonia Aurora", STEPS)
    due = next_monday(platform)
    phones = sorted({unique_phone() for _ in range(SIZE)})
    rng = random.Random(14)
    batch = [{"external_id": f"ND-{i:04d}", "amount_cents": 10_000 + i, "due_date": due.isoformat(),
              "debtor": {"document": cpf(rng), "name": "Paula Ramos", "phone": phone, "state": "SP"}}
             for i, phone in enumerate(phones)]
    with platform.api(key) as api:
        assert api.post("/v1/invoices", json={"invoices": batch}).status_code == 201
    time.sleep(2)  # the cases open

    def progress() -> int:
        """This run's steps that reached their provider (at least once)."""
        found = 0
        for channel in CHANNELS:
            calls = providers.calls(channel)
            found += sum(calls.get(s, 0) > 0 for s in outcomes(stack, channel, phones))
        return found

    def at_least(n: int) -> Callable[[], int]:
        def check() -> int:
            found = progress()
            return found if found >= n else 0
        return check

    normal = dict(stack.extra_env)
    try:
        for channel in CHANNELS:
            providers.dedupe(channel, False)
        stack.extra_env.update(SLOW)
        restart(stack)
        # Taken at once, answered a minute later: certainly between call and commit at the first kill.
        for channel in CHANNELS:
            for phone in phones[:5]:
                providers.hold(channel, address(channel, phone), 60)
        platform.set_clock(at_local(due + timedelta(days=1)))
        kills, seen, total = 0, 0, len(CHANNELS) * len(phones)
        while kills < KILLS and seen < total:
            seen = eventually(at_least(min(seen + 40, total)), 120, interval=0.1, what="more messages")
            restart(stack)  # kill -9 both dispatchers mid-run, and start them again
            kills += 1
        assert kills == KILLS, f"the run finished after {kills} kills; the test is too small"
        for channel in CHANNELS:
            eventually(settled(stack, channel, phones), 300, interval=1, what=f"every {channel} step settled")
        time.sleep(3)  # anything still in flight would arrive now

        for channel in CHANNELS:
            steps, calls = outcomes(stack, channel, phones), providers.calls(channel)  # calls: by our reference
            assert {s: calls[s] for s in steps if calls.get(s, 0) > 1} == {}  # no step reached its provider twice
            wanted = {address(channel, p) for p in phones}
            per_address = collections.Counter(m["to"] for m in providers.received(channel) if m["to"] in wanted)
            assert {a: n for a, n in per_address.items() if n > 1} == {}  # nobody got the text twice
            reached = {s for s in steps if calls.get(s) == 1}
            assert {s: steps[s][0] for s in reached if steps[s][0] != "sent"} == {}  # each confirmed as sent
            lost = {s: steps[s] for s in steps if s not in reached}
            if channel == "sms":
                assert lost == {}  # the gateway's lookup settles every doubt: none lost
            else:
                # The Cloud API cannot be asked: a kill after called_at was committed and before the request left
                # leaves a step no status will ever name; it is finished unconfirmed, never sent twice.
                assert all(st == "failed" and r.startswith("unconfirmed") for st, r, _ in lost.values()), lost
                assert len(lost) <= KILLS, lost
            retried = sum(t > 1 for _, _, t in steps.values())
            print(f"\n{channel}: {len(steps)} steps, {len(reached)} reached the provider once, none twice; "
                  f"{retried} redelivered after a kill; {len(lost)} unconfirmed; {kills} kills")
    finally:
        for channel in CHANNELS:
            providers.dedupe(channel, True)
        stack.extra_env.clear()
        stack.extra_env.update(normal)
        restart(stack)
