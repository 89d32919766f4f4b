"""The unsubscribe link in every e-mail works: it records an e-mail opt-out and the next step is not sent."""

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx

from regua_contracts import topics
from regua_contracts.contacts import CONTACT_EVENT, ContactAttempted, ContactOptedOut
from regua_localstack.portfolio import cpf
from regua_localstack.topics import read_topic
from tests.support.client import Platform, eventually


def at_send_hour(day: date) -> datetime:
    return datetime.combine(day, time(10, 1), ZoneInfo("America/Sao_Paulo")).astimezone(UTC)


def test_unsubscribe_link_stops_the_next_email(platform: Platform) -> None:
    _, api_key = platform.new_tenant("Farmácia Saúde Já", "11444777000161")
    email = f"bruno.{uuid.uuid4().hex[:10]}@example.com"
    due = platform.due_date_for((-1, 1), after_days=4)
    with platform.api(api_key) as api:
        r = api.post("/v1/invoices", json={
            "external_id": "FS-77", "amount_cents": 8_990, "due_date": due.isoformat(),
            "debtor": {"document": cpf(random.Random(5)), "name": "Bruno Lima", "email": email},
        })
        assert r.status_code == 201, r.text
        invoice_id = r.json()["id"]

    platform.set_clock(at_send_hour(due - timedelta(days=1)))
    first = eventually(lambda: platform.mail_to(email), 30, what="the D-1 e-mail")[0]
    assert first["step"] == "D-1"
    link = first["unsubscribe"].strip("<>")
    assert link in first["body"]

    page = httpx.get(link)
    assert page.status_code == 200 and "Confirmar" in page.text
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    refused = httpx.post(tampered)
    assert refused.status_code == 400 and "Link inválido" in refused.text
    done = httpx.post(link)
    assert done.status_code == 200 and "não receberá mais e-mails" in done.text

    platform.set_clock(at_send_hour(due + timedelta(days=1)))
    platform.wait_no_due_steps()

    # Normally the ruler has learnt the opt-out from its event and its compliance gate holds the D+1 e-mail
    # back; if the command was already out, the dispatcher's own check suppresses it. Either way: no e-mail.
    with httpx.Client(base_url=platform.stack.url("ruler"), headers={"X-API-Key": api_key}) as ruler:
        steps = ruler.get(f"/v1/invoices/{invoice_id}/case").json()["steps"]
    d_plus_1_email = [s for s in steps if s["step_key"] == "D+1" and s["channels"] == ["email"]]
    assert len(d_plus_1_email) == 1
    assert platform.stack.bootstrap

    def attempts() -> list[ContactAttempted]:
        assert platform.stack.bootstrap
        events = [CONTACT_EVENT.validate_json(r["value"])
                  for r in asyncio.run(read_topic(platform.stack.bootstrap, topics.CONTACTS))]
        return [e for e in events if isinstance(e, ContactAttempted) and uuid.UUID(invoice_id) in e.invoice_ids]

    if d_plus_1_email[0]["status"] == "skipped":
        assert d_plus_1_email[0]["reason"] == "email: opt-out"
        assert [e.step_key for e in attempts()] == ["D-1"]
    else:
        eventually(lambda: [(e.outcome, e.reason) for e in attempts() if e.step_key == "D+1"]
                   == [("suppressed", "opted out of e-mail")], 30, what="the dispatcher to suppress D+1")
    assert [m["step"] for m in platform.mail_to(email)] == ["D-1"]
    events = [CONTACT_EVENT.validate_json(r["value"])
              for r in asyncio.run(read_topic(platform.stack.bootstrap, topics.CONTACTS))]
    assert any(isinstance(e, ContactOptedOut) and e.source == "unsubscribe-link" and e.channel == "email"
               and e.debtor_id == attempts()[0].debtor_id for e in events)
