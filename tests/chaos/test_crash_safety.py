"""kill -9 the ruler and the e-mail dispatcher in the middle of 1,000 due steps: after restart every step
is e-mailed exactly once and no invoice is lost."""

import collections
import random
import signal
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from regua_localstack.portfolio import invoice
from tests.support.client import Platform, eventually

SIZE = 1000


def test_kill_ruler_and_dispatcher_mid_run(platform: Platform) -> None:
    _, api_key = platform.new_tenant("Provedor Conecta Fibra", "11222333000181")
    domain = f"crash-{uuid.uuid4().hex[:6]}.example.com"
    due = (platform.now() + timedelta(days=3)).date()
    rng = random.Random(2024)
    batch = [{**invoice(rng, f"CR-{i:04d}", due, email_domain=domain), "amount_cents": 50_000} for i in range(SIZE)]
    active_before = platform.stats()["cases"].get("active", 0)
    with platform.api(api_key) as api:
        r = api.post("/v1/invoices", json={"invoices": batch})
        assert r.status_code == 201, r.text
        assert len(r.json()["invoices"]) == SIZE
    eventually(lambda: platform.stats()["cases"].get("active", 0) >= active_before + SIZE, 60,
               what="the ruler to open every case")

    def mine() -> list[dict[str, str]]:
        return [m for m in platform.mail() if m["to"][0].endswith("@" + domain)]

    platform.set_clock(datetime.combine(due - timedelta(days=1), clock_time(12, 1),  # 10:00 in every zone
                                        ZoneInfo("America/Sao_Paulo")).astimezone(UTC))
    eventually(lambda: len(mine()) >= 100, 60, interval=0.02, what="the first e-mails of the run")
    stack = platform.stack
    stack.services["ruler"].kill(signal.SIGKILL)
    stack.services["dispatch-email"].kill(signal.SIGKILL)
    sent_at_kill = len(mine())
    assert sent_at_kill < SIZE, "the run finished before the kill; nothing was tested"
    stack.start_service("ruler", wait=False)
    stack.start_service("dispatch-email", wait=False)
    stack.services["ruler"].wait_ready()
    stack.services["dispatch-email"].wait_ready()

    eventually(lambda: len({m["step_id"] for m in mine()}) >= SIZE, 120, what=f"{SIZE} distinct D-1 e-mails")
    platform.wait_no_due_steps()
    time.sleep(2)  # anything still in flight would arrive now
    per_step = collections.Counter(m["step_id"] for m in mine())
    assert len(per_step) == SIZE  # no invoice lost
    assert {m["step"] for m in mine()} == {"D-1"}
    duplicates = {step: n for step, n in per_step.items() if n > 1}
    assert duplicates == {}  # and no debtor e-mailed twice for the step
    recipients = collections.Counter(m["to"][0] for m in mine())
    assert len(recipients) == SIZE and set(recipients.values()) == {1}
