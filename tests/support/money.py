"""Helpers of the negotiation money end-to-end tests: disputes through the ruler, the self-service page."""

import re
from typing import Any

import httpx

from tests.support.client import Platform, eventually
from tests.support.negotiation import negotiation_api


def open_dispute(platform: Platform, api_key: str, invoice_id: str) -> None:
    # The ruler owns disputes: its case may open after negotiation already offers on the invoice.
    ruler = platform.stack.url("ruler")
    eventually(lambda: httpx.get(f"{ruler}/v1/invoices/{invoice_id}/case", headers={"X-API-Key": api_key},
                                 timeout=30).status_code == 200, 30, what="the ruler's case")
    r = httpx.post(f"{platform.stack.url('ruler')}/v1/invoices/{invoice_id}/disputes",
                   headers={"X-API-Key": api_key}, json={"reason": "não reconheço esta dívida"}, timeout=30)
    assert r.status_code == 201, r.text


def answer_dispute(platform: Platform, api_key: str, invoice_id: str, outcome: str) -> None:
    r = httpx.post(f"{platform.stack.url('ruler')}/v1/invoices/{invoice_id}/disputes/answer",
                   headers=platform.operator(api_key), json={"outcome": outcome}, timeout=30)
    assert r.status_code == 200, r.text


def page_text(platform: Platform, api_key: str, debtor_id: str) -> str:
    """The debtor's self-service page, as text (tags dropped, spaces collapsed)."""
    with negotiation_api(platform, api_key) as neg:
        link = neg.post(f"/v1/debtors/{debtor_id}/self-service-link").json()
    html = httpx.get(platform.stack.url("negotiation") + link["path"], timeout=30).text
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def put_policy(platform: Platform, api_key: str, policy: dict[str, Any]) -> httpx.Response:
    with negotiation_api(platform, api_key) as neg:
        return neg.put("/v1/negotiation-policy", json=policy)
