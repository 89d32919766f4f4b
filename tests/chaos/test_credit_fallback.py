"""With credit analysis down, the ruler still opens cases (on a fallback profile) and re-segments them once
the service is back."""

import random
import signal
import uuid
from datetime import timedelta
from typing import Any

import httpx

from regua_localstack.portfolio import cpf
from tests.support.client import Platform, eventually


def test_ruler_opens_cases_without_credit_analysis_and_resegments_later(platform: Platform) -> None:
    stack = platform.stack
    _, key = platform.new_tenant("Loja Sem Crédito", "11222333000181")
    stack.services["credit"].kill(signal.SIGKILL)
    try:
        with platform.api(key) as api:
            r = api.post("/v1/invoices", json={
                "external_id": f"CF-{uuid.uuid4().hex[:6]}", "amount_cents": 25_000,
                "due_date": str(platform.now().date() + timedelta(days=10)),
                "debtor": {"document": cpf(random.Random(99)), "name": "Rita Moreira",
                           "email": f"rita.{uuid.uuid4().hex[:6]}@example.com"}})
            assert r.status_code == 201
            invoice_id = r.json()["id"]
        ruler = httpx.Client(base_url=stack.url("ruler"), headers={"X-API-Key": key})

        def case() -> dict[str, Any] | None:
            got = ruler.get(f"/v1/invoices/{invoice_id}/case")
            return got.json() if got.status_code == 200 else None

        opened = eventually(case, 30, what="the case to open without credit analysis")
        assert opened["profile_fallback"] is True
        assert opened["behaviour"] == "unknown"
        assert any(s["status"] == "pending" for s in opened["steps"])
    finally:
        stack.start_service("credit")
    resegmented = eventually(lambda: (c := case()) and not c["profile_fallback"] and c, 60,
                             what="re-segmentation once credit analysis is back")
    assert resegmented["behaviour"] in {"on_time", "sometimes_late", "always_late", "unknown"}
