"""Two ruler replicas on one database fire each due step exactly once (claims lock per debtor)."""

import collections
import random
import re
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx

from regua_localstack.portfolio import invoice
from tests.support.client import Platform, eventually

SIZE = 600


def fired_total(url: str) -> float:
    metrics = httpx.get(f"{url}/metrics/").text
    return sum(float(v) for v in re.findall(r'^regua_ruler_steps_fired_total\{[^}]*\} ([0-9.e+]+)$', metrics, re.M))


def test_two_replicas_fire_each_step_once(platform: Platform) -> None:
    stack = platform.stack
    replica = stack.start_service("ruler-2", module="regua_ruler")
    try:
        _, key = platform.new_tenant("Rede Farmácias Popular", "11444777000161")
        domain = f"replica-{uuid.uuid4().hex[:6]}.example.com"
        due = platform.now().date() + timedelta(days=3)
        while due.weekday() >= 5:
            due += timedelta(days=1)
        rng = random.Random(77)
        batch = [{**invoice(rng, f"RP-{i:04d}", due, email_domain=domain), "amount_cents": 30_000}
                 for i in range(SIZE)]
        before = platform.stats()["cases"].get("active", 0)
        with platform.api(key) as api:
            assert api.post("/v1/invoices", json={"invoices": batch}).status_code == 201
        eventually(lambda: platform.stats()["cases"].get("active", 0) >= before + SIZE, 60, what="cases")
        fired_before = fired_total(stack.url("ruler")) + fired_total(replica and stack.url("ruler-2"))
        platform.set_clock(datetime.combine(due - timedelta(days=1), time(12, 1),  # 10:00 in every Brazilian zone
                                            ZoneInfo("America/Sao_Paulo")).astimezone(UTC))

        def mine() -> list[dict[str, str]]:
            return [m for m in platform.mail() if m["to"][0].endswith("@" + domain)]

        eventually(lambda: len(mine()) >= SIZE, 120, what=f"{SIZE} D-1 e-mails")
        platform.wait_no_due_steps()
        per_step = collections.Counter(m["step_id"] for m in mine())
        assert len(per_step) == SIZE and set(per_step.values()) == {1}
        by_replica = [fired_total(stack.url("ruler")), fired_total(stack.url("ruler-2"))]
        assert sum(by_replica) - fired_before >= 2 * SIZE  # D-1 sends SMS/WhatsApp and e-mail per invoice
        assert all(n > 0 for n in by_replica), f"one replica did all the work: {by_replica}"
    finally:
        stack.services.pop("ruler-2").stop()
