"""WhatsApp end to end against a Cloud API double (real HTTP, signed webhooks): approved templates outside
the 24-hour window, free text inside it, replies that opt out or ask to negotiate."""

import time
from datetime import timedelta

import httpx

from regua_contracts.contacts import ContactOptedOut, DebtorReplied, NegotiationRequested
from regua_dispatch.webhooks import signature
from regua_localstack.stack import PROVIDER_ENV
from tests.support.channels import (
    at_local,
    next_monday,
    of_type,
    register,
    tenant_with_ruler,
    unique_phone,
)
from tests.support.client import Platform, eventually
from tests.support.providers import Providers

STEPS = """\
      - {key: D+1, offset_days: 1, send: [[whatsapp, sms]], template: notice, tone: informative}
      - {key: D+3, offset_days: 3, send: [[whatsapp, sms]], template: negotiation, tone: cordial}
"""


def test_template_outside_the_window_text_inside_it_and_a_reply_asking_to_negotiate(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key = tenant_with_ruler(platform, "Escola Saber Viver S.A.", STEPS)
    phone = unique_phone()
    due = next_monday(platform)
    invoice = register(platform, key, due, 45_990, phone=phone)

    platform.set_clock(at_local(due + timedelta(days=1)))
    first = eventually(lambda: providers.received("whatsapp", phone[1:]), 30, what="the D+1 message")[0]
    assert (first["type"], first["template"], first["language"]) == ("template", "regua_notice_v2", "pt_BR")
    assert first["parameters"][0] == "Olá, Ana,"
    assert "Escola Saber Viver S.A., CNPJ 11.222.333/0001-81, Rua Augusta, 500, São Paulo - SP" in first["parameters"]

    # The debtor answers the next day at 11:00, quoting our message: the window opens until 11:00 on D+3.
    replied_at = at_local(due + timedelta(days=2), 11, 0)
    platform.set_clock(replied_at)
    assert providers.reply("whatsapp", phone, "Bom dia! Quero negociar, posso parcelar?", replied_at,
                           in_reply_to=first["id"]) == 200
    reply = eventually(lambda: of_type(platform, invoice["debtor_id"], "debtor.replied.v1"), 30)[0]
    assert isinstance(reply, DebtorReplied) and reply.channel == "whatsapp" and reply.received_at == replied_at
    negotiation = eventually(lambda: of_type(platform, invoice["debtor_id"], "negotiation.requested.v1"), 30)[0]
    assert isinstance(negotiation, NegotiationRequested) and negotiation.source == "reply"

    # The answer, inside the window: free text with the offers (negotiation filled them in on the way).
    second = eventually(lambda: providers.received("whatsapp", phone[1:])[1:], 30, what="the offers")[0]
    assert second["type"] == "text" and second["template"] is None
    assert "responda ACORDO 1 (à vista)" in second["text"] and "responda SAIR" in second["text"]
    assert eventually(lambda: of_type(platform, invoice["debtor_id"], "contact.delivered.v1"), 30)


def test_opt_out_by_reply_stops_the_very_next_message_on_that_channel(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key = tenant_with_ruler(platform, "Clínica Bem Estar Ltda", STEPS)
    phone = unique_phone()
    due = next_monday(platform)
    invoice = register(platform, key, due, phone=phone)

    platform.set_clock(at_local(due + timedelta(days=1)))
    eventually(lambda: providers.received("whatsapp", phone[1:]), 30, what="the D+1 message")
    assert providers.reply("whatsapp", phone, "  Sáir! ", at_local(due + timedelta(days=1), 15)) == 200
    opted = eventually(lambda: of_type(platform, invoice["debtor_id"], "contact.opted-out.v1"), 30)[0]
    assert isinstance(opted, ContactOptedOut) and (opted.channel, opted.source) == ("whatsapp", "reply")

    platform.set_clock(at_local(due + timedelta(days=3)))
    # D+3 falls back to SMS (the ruler learnt the opt-out) or, had its command been out already, the
    # dispatcher suppresses it: either way WhatsApp sends nothing more.
    platform.wait_no_due_steps()
    eventually(lambda: providers.received("sms", phone) or [
        e for e in of_type(platform, invoice["debtor_id"], "contact.attempted.v1")
        if getattr(e, "outcome", "") == "suppressed"], 30, what="D+3 by SMS, or suppressed")
    assert len(providers.received("whatsapp", phone[1:])) == 1


def test_webhooks_verify_the_subscription_and_refuse_bad_signatures(platform: Platform) -> None:
    url = f"{platform.stack.url('dispatch-whatsapp')}/webhooks/whatsapp"
    handshake = httpx.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "change-me-whatsapp-verify-token",
                                       "hub.challenge": "1158201444"})
    assert handshake.status_code == 200 and handshake.text == "1158201444"
    assert httpx.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "wrong",
                                  "hub.challenge": "x"}).status_code == 403
    body = _statuses(int(time.time()))
    forged = httpx.post(url, content=body, headers={"X-Hub-Signature-256": signature("not-the-app-secret", body)})
    assert forged.status_code == 401
    unsigned = httpx.post(url, content=body)
    assert unsigned.status_code == 401
    signed = httpx.post(url, content=body, headers={
        "X-Hub-Signature-256": signature(PROVIDER_ENV["REGUA_WHATSAPP_APP_SECRET"], body)})
    assert signed.status_code == 200 and signed.json() == {"applied": 0, "received": 0}


def _statuses(at: int) -> bytes:
    return (b'{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", '
            b'"value": {"statuses": [{"id": "wamid.forged", "status": "failed", "timestamp": "%d", '
            b'"errors": [{"code": 131026}]}]}}]}]}' % at)


def test_a_signed_notification_stamped_outside_the_window_is_refused(platform: Platform) -> None:
    """Meta signs only the body: a captured notification replayed later is told by its own timestamps."""
    url = f"{platform.stack.url('dispatch-whatsapp')}/webhooks/whatsapp"
    secret = PROVIDER_ENV["REGUA_WHATSAPP_APP_SECRET"]
    for at in (int(time.time()) - 6 * 365 * 86400, int(time.time()) - 600):
        body = _statuses(at)
        r = httpx.post(url, content=body, headers={"X-Hub-Signature-256": signature(secret, body)})
        assert r.status_code == 401, r.text
        assert r.json()["errors"][0]["field"] == "timestamp"
