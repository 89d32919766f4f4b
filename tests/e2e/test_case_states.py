"""Collection stops where it must, across services: a dispute outlives a promise that expires, and the
debtor's address sets the clock the gate judges by (Fernando de Noronha keeps UTC-2)."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.support.cases import case_events, case_of, pause_reasons, promise, publish_call, ruler_api, tenant_with_ruler
from tests.support.channels import register
from tests.support.client import Platform, eventually

SP = ZoneInfo("America/Sao_Paulo")
EMAIL_STEPS = """      - {key: D+1, offset_days: 1, send: [email], template: notice, tone: informative}
      - {key: D+5, offset_days: 5, send: [email], template: notice, tone: informative}
"""


def local(day: date, hour: int, minute: int = 0, zone: ZoneInfo = SP) -> datetime:
    return datetime.combine(day, time(hour, minute), zone).astimezone(UTC)


def test_a_dispute_outlives_a_promise_that_expires(platform: Platform) -> None:
    tenant_id, key = tenant_with_ruler(platform, "Clínica Sorriso Ltda", EMAIL_STEPS)
    due = platform.due_date_for((1, 2, 3, 5))
    email = f"disp.{uuid.uuid4().hex[:8]}@example.com"
    invoice_id = register(platform, key, due, email=email)["id"]
    with ruler_api(platform, key) as ruler:
        assert ruler.post(f"/v1/invoices/{invoice_id}/disputes",
                          json={"reason": "Não reconheço esta dívida"}).status_code == 201
    publish_call(platform, promise(tenant_id, case_of(platform, key, invoice_id), platform.now(),
                                   due + timedelta(days=2)))
    eventually(lambda: pause_reasons(platform, key, invoice_id) == ("paused", ["dispute", "promise"]), 30,
               what="both pause reasons on the case")

    platform.set_clock(local(due + timedelta(days=3), 10, 1))  # the promise has expired
    platform.wait_no_due_steps()
    # The expiry is judged by a tick of its own: wait for it rather than for the steps.
    eventually(lambda: pause_reasons(platform, key, invoice_id) == ("paused", ["dispute"]), 30,
               what="the promise's pause to lift")
    kinds = eventually(lambda: [(e.type, getattr(e, "reason", None)) for e in case_events(platform, invoice_id)
                                if e.type == "case.pause-lifted.v1"], 30, what="case.pause-lifted")
    assert kinds == [("case.pause-lifted.v1", "promise")]
    assert "case.resumed.v1" not in [e.type for e in case_events(platform, invoice_id)]
    assert platform.mail_to(email) == []  # the dispute still holds every step

    with ruler_api(platform, key) as ruler:
        r = ruler.post(f"/v1/invoices/{invoice_id}/disputes/answer", json={"outcome": "rejected"},
                        headers=platform.operator(key))
        assert r.status_code == 200 and r.json()["status"] == "active", r.text
    resumed = eventually(lambda: [e for e in case_events(platform, invoice_id) if e.type == "case.resumed.v1"], 30,
                         what="case.resumed")
    assert [(e.reason, e.status) for e in resumed] == [("dispute", "active")]  # type: ignore[union-attr]
    platform.set_clock(local(due + timedelta(days=5), 10, 1))
    eventually(lambda: [m["step"] for m in platform.mail_to(email)] == ["D+5"], 30, what="D+5 after the dispute")


def test_fernando_de_noronha_is_judged_on_its_own_clock(platform: Platform) -> None:
    _, key = tenant_with_ruler(platform, "Pousada Mar de Dentro", EMAIL_STEPS)
    due = platform.due_date_for((1, 2), state="PE")
    island, mainland = (f"{p}.{uuid.uuid4().hex[:8]}@example.com" for p in ("noronha", "recife"))
    island_id = register(platform, key, due, email=island, state="PE", postcode="53990-000")["id"]
    register(platform, key, due, email=mainland, state="PE")
    # 20:30 on the island (UTC-2) is 19:30 in Recife: the mainland debtor may still be contacted.
    platform.set_clock(local(due + timedelta(days=1), 19, 30))
    eventually(lambda: [m["step"] for m in platform.mail_to(mainland)] == ["D+1"], 30, what="Recife's D+1")
    platform.wait_no_due_steps()
    assert platform.mail_to(island) == []
    [d1] = [s for s in case_of(platform, key, island_id)["steps"] if s["step_key"] == "D+1"]
    assert d1["status"] == "pending" and d1["reason"] == "held by contact-hours"
    assert datetime.fromisoformat(d1["fire_at"]) == local(due + timedelta(days=2), 8, zone=ZoneInfo("America/Noronha"))
