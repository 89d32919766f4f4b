"""The contact history: every attempt, delivery, reply, opt-out and call outcome of a debtor, newest first,
paged and tenant-scoped, with template, channel, tone, step and outcome."""

from datetime import timedelta
from typing import Any

import httpx

from tests.support.channels import at_local, next_monday, register, tenant_with_ruler, unique_phone
from tests.support.client import Platform, eventually
from tests.support.providers import Providers

STEPS = """\
      - {key: D+1, offset_days: 1, send: [[sms, email]], template: notice, tone: informative}
      - {key: D+2, offset_days: 2, send: [whatsapp], template: negotiation, tone: cordial}
"""


def test_the_history_of_a_debtor_newest_first(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key = tenant_with_ruler(platform, "Energia Solar Horizonte Ltda", STEPS, services=("contact-history",))
    phone = unique_phone()
    due = next_monday(platform)
    invoice = register(platform, key, due, 78_900, phone=phone)
    debtor = invoice["debtor_id"]
    history = httpx.Client(base_url=platform.stack.url("contact-history"), headers={"X-API-Key": key})

    def entries(**params: Any) -> list[dict[str, Any]]:
        r = history.get(f"/v1/debtors/{debtor}/contacts", params={"limit": 100, **params})
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = r.json()["contacts"]
        return found

    def kinds() -> list[tuple[str, str | None]]:
        return [(e["kind"], e["channel"]) for e in entries()]

    platform.set_clock(at_local(due + timedelta(days=1)))
    eventually(lambda: providers.received("sms", phone), 30, what="the SMS")
    providers.reply("sms", phone, "Vou pagar amanhã, obrigado", at_local(due + timedelta(days=1), 14))
    platform.set_clock(at_local(due + timedelta(days=2)))
    eventually(lambda: providers.received("whatsapp", phone[1:]), 30, what="the WhatsApp message")
    providers.reply("whatsapp", phone, "PARAR", at_local(due + timedelta(days=2), 15))
    expected = {("attempt", "sms"), ("delivery", "sms"), ("reply", "sms"), ("attempt", "whatsapp"),
                ("delivery", "whatsapp"), ("reply", "whatsapp"), ("opt-out", "whatsapp")}
    eventually(lambda: set(kinds()) >= expected, 30, what=f"history with {expected}")

    found = entries()
    assert [e["at"] for e in found] == sorted((e["at"] for e in found), reverse=True)
    # The opt-out comes with the reply that caused it (a late delivery receipt may be stamped after it).
    opt_out = next(e for e in found if e["kind"] == "opt-out")
    assert (opt_out["channel"], opt_out["detail"]) == ("whatsapp", {"source": "reply"})
    assert opt_out["at"] >= next(e["at"] for e in found if e["kind"] == "reply" and e["channel"] == "whatsapp")
    sms = next(e for e in found if e["kind"] == "attempt" and e["channel"] == "sms")
    assert (sms["template"], sms["tone"], sms["step"], sms["outcome"]) == ("notice", "informative", "D+1", "sent")
    whatsapp = next(e for e in found if e["kind"] == "attempt" and e["channel"] == "whatsapp")
    assert (whatsapp["template"], whatsapp["tone"], whatsapp["step"]) == ("negotiation", "cordial", "D+2")
    delivery = next(e for e in found if e["kind"] == "delivery" and e["channel"] == "sms")
    assert (delivery["step_id"], delivery["template"], delivery["outcome"]) == (sms["step_id"], "notice", "delivered")
    reply = next(e for e in found if e["kind"] == "reply" and e["channel"] == "sms")
    assert reply["detail"] == {"text": "Vou pagar amanhã, obrigado"}

    pages, cursor = [], None
    while True:
        r = history.get(f"/v1/debtors/{debtor}/contacts", params={"limit": 2, **({"before": cursor} if cursor else {})})
        pages += r.json()["contacts"]
        cursor = r.json()["next"]
        if cursor is None:
            break
    assert pages == found

    other_key = tenant_with_ruler(platform, "Outra Empresa Ltda", STEPS, services=("contact-history",))
    other = history.get(f"/v1/debtors/{debtor}/contacts", headers={"X-API-Key": other_key})
    assert other.status_code == 404
    assert other.json() == history.get(f"/v1/debtors/{'0' * 8}-0000-4000-8000-{'0' * 12}/contacts").json()
    assert history.get(f"/v1/debtors/{debtor}/contacts", headers={"X-API-Key": "nope"}).status_code == 401
