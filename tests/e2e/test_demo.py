"""`make demo` keeps working: the demo runs on embedded defaults (its own broker and embedded PostgreSQL)."""

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from regua_localstack.demo import first_demo_day


def test_demo_runs_twenty_days_and_prints_the_summary(tmp_path: Path) -> None:
    # What an earlier run left in the same folder is not this run's: the summary must not count it.
    stale = 500
    (tmp_path / "mailbox.jsonl").write_text("".join(json.dumps({"to": f"old{n}@example.com"}) + "\n"
                                                    for n in range(stale)))
    (tmp_path / "providers.jsonl").write_text("".join(json.dumps({"channel": "sms", "to": "+5511987654321"}) + "\n"
                                                      for n in range(stale)))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("REGUA_")}
    result = subprocess.run(
        [sys.executable, "-m", "regua_localstack.demo", "--invoices", "40", "--days", "20", "--exit",
         "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "loaded 40 invoices for 2 client companies" in out
    assert "== Régua demo summary ==" in out
    summary = out.split("== Régua demo summary ==")[1]
    rows = [line.split() for line in summary.splitlines() if line.startswith(("D", "thank-you"))]
    steps = {(r[0], r[1]): int(r[2]) for r in rows}
    assert steps.get(("D+1", "email"), 0) > 0
    paid = int(out.split("invoices paid: ")[1].split(";")[0])
    assert paid > 0
    assert steps[("thank-you", "email")] == paid  # every payer thanked (demo debtors all have e-mail)
    assert f"cases stopped on payment: {paid}" in out
    assert "API docs:  http://127.0.0.1:" in out
    email_commands = sum(n for (_, channel), n in steps.items() if channel == "email")
    delivered = int(out.split("e-mails delivered to the SMTP sink: ")[1].split()[0])
    assert 0 < delivered <= email_commands
    assert int(out.split("SMS accepted by the local SMS gateway: ")[1].split(";")[0]) < stale


@pytest.mark.parametrize(("now", "first_day"), [
    (datetime(2026, 12, 7, 11, 0, tzinfo=UTC), date(2026, 12, 7)),    # 08:00 in São Paulo: today at noon
    (datetime(2026, 12, 7, 15, 1, tzinfo=UTC), date(2026, 12, 7)),    # 12:01 exactly
    (datetime(2026, 12, 7, 15, 2, tzinfo=UTC), date(2026, 12, 8)),    # 12:02: noon of today has passed
    (datetime(2026, 12, 8, 2, 30, tzinfo=UTC), date(2026, 12, 8)),    # 23:30 on the 7th: the 8th, not the 7th
])
def test_the_demo_starts_at_any_hour_without_moving_the_clock_back(now: datetime, first_day: date) -> None:
    assert first_demo_day(now) == first_day
