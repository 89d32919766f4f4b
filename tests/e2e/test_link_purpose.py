"""Each signed link works only for what it was issued for: a self-service link does not unsubscribe, and
an e-mail's unsubscribe link does not open the self-service page (both issued by the services themselves)."""

import asyncio
import random
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx

from regua_contracts import topics
from regua_contracts.contacts import CONTACT_EVENT, ContactOptedOut
from regua_localstack.portfolio import cpf
from regua_localstack.topics import read_topic
from tests.support.client import Platform, eventually


def test_a_link_signed_for_one_purpose_is_refused_by_the_other_endpoint(platform: Platform) -> None:
    _, api_key = platform.new_tenant("Loja Propósito Ltda", "11444777000161")
    platform.wait_tenant_known("negotiation", api_key)
    email = f"carla.{uuid.uuid4().hex[:10]}@example.com"
    due = platform.due_date_for((-1,), after_days=4)
    with platform.api(api_key) as api:
        r = api.post("/v1/invoices", json={
            "external_id": f"LP-{uuid.uuid4().hex[:6]}", "amount_cents": 9_990, "due_date": due.isoformat(),
            "debtor": {"document": cpf(random.Random(41)), "name": "Carla Reis", "email": email}})
        assert r.status_code == 201, r.text
        debtor_id = r.json()["debtor_id"]
    send_at = datetime.combine(due - timedelta(days=1), time(10, 1), ZoneInfo("America/Sao_Paulo")).astimezone(UTC)
    platform.set_clock(send_at)
    unsubscribe = eventually(lambda: platform.mail_to(email), 30, what="the D-1 e-mail")[0]["unsubscribe"].strip("<>")
    negotiation = platform.stack.url("negotiation")
    r = httpx.post(f"{negotiation}/v1/debtors/{debtor_id}/self-service-link", headers={"X-API-Key": api_key})
    assert r.status_code == 201, r.text
    self_service_token = r.json()["path"].removeprefix("/s/")
    unsubscribe_token = unsubscribe.rsplit("/", 1)[1]

    # A self-service token at the unsubscribe endpoint: refused, and no opt-out is recorded.
    email_service = platform.stack.url("dispatch-email")
    for method in ("GET", "POST"):
        refused = httpx.request(method, f"{email_service}/unsubscribe/{self_service_token}")
        assert refused.status_code == 400 and "Link inválido" in refused.text, refused.text
    # An unsubscribe token at the self-service page: refused.
    page = httpx.get(f"{negotiation}/s/{unsubscribe_token}")
    assert page.status_code == 400 and "Link inválido" in page.text
    # Each works where it belongs.
    assert httpx.get(f"{negotiation}/s/{self_service_token}").status_code == 200
    assert httpx.get(unsubscribe).status_code == 200

    assert platform.stack.bootstrap
    events = [CONTACT_EVENT.validate_json(r["value"])
              for r in asyncio.run(read_topic(platform.stack.bootstrap, topics.CONTACTS))]
    assert not [e for e in events if isinstance(e, ContactOptedOut) and str(e.debtor_id) == debtor_id]
