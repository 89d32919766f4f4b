"""A client's API key sees only its own data: another tenant's invoice looks exactly like a missing one."""

import random

from regua_localstack.portfolio import invoice
from tests.support.client import Platform


def test_tenant_b_cannot_see_or_touch_tenant_a_invoices(platform: Platform) -> None:
    _, key_a = platform.new_tenant("Escola Aprender Mais", "11222333000181")
    _, key_b = platform.new_tenant("Clínica Bem Estar", "11444777000161")
    body = invoice(random.Random(3), "A-0001", platform.now().date())
    with platform.api(key_a) as api_a:
        created = api_a.post("/v1/invoices", json=body)
        assert created.status_code == 201
        invoice_id = created.json()["id"]
        assert api_a.get(f"/v1/invoices/{invoice_id}").status_code == 200
    with platform.api(key_b) as api_b:
        assert api_b.get(f"/v1/invoices/{invoice_id}").status_code == 404
        assert api_b.get(f"/v1/invoices/{invoice_id}").json() == {
            "errors": [{"field": "invoice_id", "reason": "no such invoice"}]}
        assert api_b.post(f"/v1/invoices/{invoice_id}/payments", json={"amount_cents": 100}).status_code == 404
        assert api_b.post(f"/v1/invoices/{invoice_id}/cancel", json={}).status_code == 404
        assert api_b.get("/v1/invoices", params={"external_id": "A-0001"}).json()["invoices"] == []
        # The same external id is free for tenant B: ids are per client company.
        assert api_b.post("/v1/invoices", json=body).status_code == 201
    with platform.api(key_a) as api_a:
        assert api_a.get(f"/v1/invoices/{invoice_id}").json()["status"] == "open"
