"""Offers reach the debtor over real processes: the ruler's negotiation step and a debtor's "quero negociar"
leave through negotiation, which adds the offer menu and the signed self-service link; the debtor accepts by
reply code and gets the agreement with its PIX codes; a cancelled invoice voids its agreement and the rest
resumes on the ruler."""

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx

from regua_contracts.contacts import NegotiationRequested
from tests.support.channels import at_local, next_monday, of_type, register, tenant_with_ruler, unique_phone
from tests.support.client import Platform, eventually
from tests.support.negotiation import (
    POLICY,
    agreements,
    case_status,
    days,
    negotiation_api,
    new_tenant,
    set_clocks,
    wait_offers,
)
from tests.support.negotiation import register as register_by_email
from tests.support.providers import Providers

LINK = re.compile(r"http://127\.0\.0\.1:\d+(/p/[A-Za-z0-9_\-]{12})(?![A-Za-z0-9_\-])")  # the short link messages carry


def with_policy(platform: Platform, api_key: str) -> None:
    platform.wait_tenant_known("negotiation", api_key)
    with negotiation_api(platform, api_key) as neg:
        assert neg.put("/v1/negotiation-policy", json=POLICY).status_code == 201


def open_link(platform: Platform, text: str) -> str:
    """The self-service page a message links to, as the debtor's phone would load it."""
    found = LINK.search(text)
    assert found, f"no self-service link in {text!r}"
    page = httpx.get(platform.stack.url("negotiation") + found.group(1), timeout=30, follow_redirects=True)
    assert page.status_code == 200, page.text
    assert page.url.path.startswith("/s/")  # on to the signed link the code stands for
    return page.text


def texts(providers: Providers, channel: str, phone: str) -> list[dict[str, Any]]:
    return providers.received(channel, phone[1:] if channel == "whatsapp" else phone)


def test_debtor_asks_on_whatsapp_gets_offers_accepts_by_reply_pays_and_is_thanked(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key = tenant_with_ruler(platform, "Ótica Bom Olhar Ltda", """\
      - {key: D+1, offset_days: 1, send: [[whatsapp, sms]], template: notice, tone: informative}
      - {key: D+20, offset_days: 20, send: [[whatsapp, sms]], template: negotiation, tone: cordial}
""")
    with_policy(platform, key)
    phone = unique_phone()
    due = next_monday(platform)
    invoice = register(platform, key, due, 20_000, phone=phone)
    debtor_id = invoice["debtor_id"]

    set_clocks(platform, at_local(due + days(1)))  # D+1: the notice, no offer yet
    notice = eventually(lambda: texts(providers, "whatsapp", phone), 30, what="the D+1 notice")[0]

    asked_at = set_clocks(platform, at_local(due + days(2), 11, 0))
    assert providers.reply("whatsapp", phone, "Bom dia, quero negociar. Dá pra parcelar?", asked_at,
                           in_reply_to=notice["id"]) == 200
    answer = eventually(lambda: texts(providers, "whatsapp", phone)[1:], 30, what="the offers on WhatsApp")[0]
    assert answer["type"] == "text"  # the debtor wrote within 24 hours: free text, no template
    body = answer["text"]
    # Fine and interest waived by the policy: in full R$ 200,00, or 2x R$ 100,00; each has a reply code.
    assert "R$ 200,00" in body and "R$ 100,00" in body and "ACORDO 2" in body and "responda SAIR" in body
    page = open_link(platform, body)
    assert "R$ 100,00" in page and "Ótica Bom Olhar Ltda" in page

    # A code for an offer nobody made asks for the current offers instead (answered once within the hour).
    assert providers.reply("whatsapp", phone, "ACORDO 7", asked_at + timedelta(minutes=3)) == 200
    eventually(lambda: len(of_type(platform, debtor_id, "negotiation.requested.v1")) == 2, 30,
               what="a request for offers from the unknown code")
    assert agreements(platform, key, debtor_id) == []
    assert providers.reply("whatsapp", phone, "Acordo 2", asked_at + timedelta(minutes=5)) == 200
    made = eventually(lambda: agreements(platform, debtor_id=debtor_id, api_key=key), 30, what="the agreement")
    assert made[0]["accepted_via"] == "reply"
    assert [i["amount_cents"] for i in made[0]["installments"]] == [10_000, 10_000]
    eventually(lambda: case_status(platform, key, invoice["id"]) == ("paused", "agreement"), 30,
               what="the ruler to pause the case")
    # The confirmation comes back on WhatsApp with the first installment's PIX code and the link.
    confirmation = eventually(lambda: texts(providers, "whatsapp", phone)[2:], 30, what="the confirmation")[0]
    first, second = made[0]["installments"]
    assert first["pix_copia_e_cola"] in confirmation["text"]  # pay the first now; the page has the other
    assert second["pix_copia_e_cola"] not in confirmation["text"]
    assert "R$ 100,00" in confirmation["text"] and LINK.search(confirmation["text"])
    # The reply code accepted; it did not ask for offers again.
    replies = eventually(lambda: of_type(platform, debtor_id, "debtor.replied.v1")[2:], 30)
    assert len(replies) == 1
    requests = of_type(platform, debtor_id, "negotiation.requested.v1")
    assert len(requests) == 2 and all(isinstance(r, NegotiationRequested) and r.source == "reply" for r in requests)

    with platform.api(key) as api:
        for _ in range(2):
            assert api.post(f"/v1/invoices/{invoice['id']}/payments", json={"amount_cents": 10_000}).status_code == 201
    eventually(lambda: agreements(platform, key, debtor_id)[0]["status"] == "settled", 30, what="settled")
    eventually(lambda: case_status(platform, key, invoice["id"])[0] == "stopped", 30, what="the case stopped")
    thanks = eventually(lambda: [m for m in texts(providers, "sms", phone) if "Obrigado" in m["text"]], 30,
                        what="the thank-you")
    assert len(thanks) == 1
    assert len(texts(providers, "whatsapp", phone)) == 3  # the notice, the offers, the confirmation: no more


def test_the_negotiation_step_emails_offers_with_a_link_and_an_agent_can_send_them_again(platform: Platform) -> None:
    key = tenant_with_ruler(platform, "Colégio Horizonte Ltda", """\
      - {key: D+1, offset_days: 1, send: [email], template: notice, tone: informative}
      - {key: D+3, offset_days: 3, send: [email], template: negotiation, tone: cordial}
""")
    with_policy(platform, key)
    email = f"oferta.{uuid.uuid4().hex[:10]}@example.com"
    due = next_monday(platform)
    invoice = register(platform, key, due, 20_000, email=email)
    debtor_id = invoice["debtor_id"]

    set_clocks(platform, at_local(due + days(3)))
    mail = eventually(lambda: [m for m in platform.mail_to(email) if m["step"] == "D+3"], 30,
                      what="the D+3 negotiation e-mail")[0]
    body = mail["body"]
    assert "R$ 200,00" in body and "R$ 100,00" in body and "Colégio Horizonte Ltda" in body
    offers = wait_offers(platform, key, debtor_id)
    deadline = offers[0]["expires_on"]
    assert f"{deadline[8:10]}/{deadline[5:7]}/{deadline[:4]}" in body  # every offer has a deadline
    page = open_link(platform, body)
    assert "R$ 200,00" in page
    guessed = httpx.get(platform.stack.url("negotiation") + "/p/AAAAAAAAAAAA", timeout=30, follow_redirects=True)
    assert guessed.status_code == 400 and "Link inválido" in guessed.text

    # Every amicable step has run; a debtor who still wants to negotiate gets an answer all the same.
    eventually(lambda: case_status(platform, key, invoice["id"])[0] == "exhausted", 30, what="the case exhausted")
    with negotiation_api(platform, key) as neg:
        bad = neg.post(f"/v1/debtors/{debtor_id}/offers/send", json={"channel": "fax"})
        assert bad.status_code == 422 and "channel" in bad.text
        assert neg.post(f"/v1/debtors/{uuid.uuid4()}/offers/send", json={"channel": "email"}).status_code == 404
        sent = neg.post(f"/v1/debtors/{debtor_id}/offers/send", json={"channel": "email"})
        assert sent.status_code == 202, sent.text
    again = eventually(lambda: [m for m in platform.mail_to(email) if m["step"].startswith("agent:")], 30,
                       what="the offers sent at the agent's request")
    assert "R$ 100,00" in again[0]["body"] and LINK.search(again[0]["body"])
    codes = [m.group(1) for m in (LINK.search(again[0]["body"]), LINK.search(body)) if m]
    assert len(set(codes)) == 2  # each message its own code
    assert [o["offer_id"] for o in wait_offers(platform, key, debtor_id)] == [o["offer_id"] for o in offers]


def test_cancelling_an_invoice_under_agreement_voids_it_and_resumes_the_rest(platform: Platform) -> None:
    _, key = new_tenant(platform, "Loja Cancela Ltda")
    email = f"cancela.{uuid.uuid4().hex[:10]}@example.com"
    now = set_clocks(platform, platform.now())
    due = (now + days(2)).date()
    kept = register_by_email(platform, key, email, due, 30_000, 1)
    cancelled = register_by_email(platform, key, email, due, 12_000, 2)
    debtor_id = kept["debtor_id"]
    assert cancelled["debtor_id"] == debtor_id
    set_clocks(platform, at_local(due + days(1)))
    menu = eventually(lambda: [o for o in wait_offers(platform, key, debtor_id) if len(o["invoice_ids"]) == 2], 30,
                      what="offers covering both invoices")
    with negotiation_api(platform, key) as neg:
        assert neg.post(f"/v1/offers/{menu[1]['offer_id']}/accept", headers=platform.operator(key)).status_code == 201
    for inv in (kept, cancelled):
        eventually(lambda inv=inv: case_status(platform, key, inv["id"]) == ("paused", "agreement"), 30,
                   what="both cases paused")

    with platform.api(key) as api:
        r = api.post(f"/v1/invoices/{cancelled['id']}/cancel", json={"reason": "emitida em duplicidade"})
        assert r.status_code == 200, r.text
    void = eventually(lambda: [a for a in agreements(platform, key, debtor_id) if a["status"] == "cancelled"], 30,
                      what="the agreement cancelled")
    assert void[0]["reason"] == f"invoice {cancelled['external_id']} cancelled by the creditor"
    eventually(lambda: case_status(platform, key, kept["id"])[0] == "active", 30, what="the kept case resumed")
    assert case_status(platform, key, cancelled["id"]) == ("stopped", "cancelled")
    renewed = eventually(lambda: [o for o in wait_offers(platform, key, debtor_id)
                                  if o["invoice_ids"] == [kept["id"]]], 30, what="offers for what is left")
    assert renewed[0]["total_cents"] == 30_000


def test_a_negotiation_call_gives_the_agent_the_offers_and_the_link(platform: Platform) -> None:
    key = tenant_with_ruler(platform, "Academia Corpo Leve Ltda", """\
      - {key: D+2, offset_days: 2, send: [phone], template: negotiation, tone: cordial}
""", services=("dispatch-phone",))
    with_policy(platform, key)
    due = next_monday(platform)
    invoice = register(platform, key, due, 20_000, phone=unique_phone())
    set_clocks(platform, at_local(due + days(2)))
    calls = httpx.Client(base_url=f"{platform.stack.url('dispatch-phone')}/v1/calls", headers={"X-API-Key": key},
                         timeout=30)

    def queued() -> dict[str, Any] | None:
        r = calls.post("/next", headers=platform.operator(key, "ag-neg"))
        return r.json() if r.status_code == 200 else None

    call = eventually(queued, 30, what="the negotiation call in the agents' queue")
    assert call["debtor_id"] == invoice["debtor_id"] and call["step"] == "D+2"
    assert [(o["installments"], o["total_cents"]) for o in call["offers"]] == [(1, 20_000), (2, 20_000)]
    assert "Podemos oferecer: à vista R$ 200,00 (desconto de R$ 4,13) ou 2x R$ 100,00" in call["script"]
    # Nothing about the debt before the debtor confirmed who answered (CDC art. 42).
    opening = call["script_parts"]["opening"]
    assert "R$" not in opening and "Academia" not in opening
    assert call["script_parts"]["confirmed"].startswith("Obrigado")
    assert call["self_service_url"] and LINK.search(call["self_service_url"])
    open_link(platform, call["self_service_url"])
