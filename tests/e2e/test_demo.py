"""`make demo` keeps working: the demo runs on embedded defaults (its own broker and embedded PostgreSQL)."""

import os
import subprocess
import sys
from pathlib import Path


def test_demo_runs_twenty_days_and_prints_the_summary(tmp_path: Path) -> None:
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
