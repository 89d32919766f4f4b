"""A burst of case openings asks credit analysis in batches, not once per debtor (issue 13: in the demo every
one of 100 openings fell back, a burst of 200 ms calls queueing past their deadline and opening the circuit)."""

import random
import re
from datetime import timedelta

import httpx

from regua_localstack.portfolio import invoice
from tests.support.client import Platform, eventually


def _ruler_metric(platform: Platform, name: str) -> float:
    text = httpx.get(f"{platform.stack.url('ruler')}/metrics/", timeout=10).text
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def _cases(platform: Platform) -> int:
    return sum(platform.stats()["cases"].values())


def test_a_burst_of_a_hundred_invoices_opens_its_cases_with_a_few_credit_calls(platform: Platform) -> None:
    _, api_key = platform.new_tenant(name="Burst Ltda")
    calls, cases = _ruler_metric(platform, "regua_credit_client_calls_total"), _cases(platform)
    rng = random.Random(13)
    due = platform.now().date() + timedelta(days=10)
    with platform.api(api_key) as api:
        r = api.post("/v1/invoices", json={"invoices": [invoice(rng, f"BURST-{n}", due) for n in range(100)]})
        assert r.status_code == 201, r.text

    eventually(lambda: _cases(platform) >= cases + 100, 120, 0.5, what="the ruler to open the 100 cases")
    made = _ruler_metric(platform, "regua_credit_client_calls_total") - calls
    assert 1 <= made <= 25  # one call per consumer batch of this tenant; it was one call per invoice
