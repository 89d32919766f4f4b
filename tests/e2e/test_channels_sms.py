"""SMS end to end: the ruler's command -> the SMS dispatcher -> the provider (real HTTP) -> a signed
delivery receipt -> contact.delivered; an invalid number invalidates the phone and the ruler falls back."""

import asyncio
import time
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx

from regua_contracts import topics
from regua_contracts.contacts import (
    CONTACT_REQUESTED,
    ContactAttempted,
    ContactDelivered,
    ContactFailed,
    ContactInvalidated,
)
from regua_dispatch.webhooks import signature, timestamped_signature
from regua_localstack.stack import PROVIDER_ENV
from regua_localstack.topics import produce, read_topic
from tests.support.channels import (
    at_local,
    next_monday,
    of_type,
    register,
    tenant_with_ruler,
    unique_phone,
    wait_consumed,
)
from tests.support.client import Platform, eventually
from tests.support.providers import Providers

STEPS = """\
      - {key: D+1, offset_days: 1, send: [[sms, email]], template: notice, tone: informative}
      - {key: D+2, offset_days: 2, send: [[sms, email]], template: negotiation, tone: cordial}
"""


def test_sms_names_the_creditor_and_its_receipt_becomes_contact_delivered(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key = tenant_with_ruler(platform, "Ótica Visão Clara Ltda", STEPS)
    phone = unique_phone()
    due = next_monday(platform)
    invoice = register(platform, key, due, 123_456, phone=phone)
    platform.set_clock(at_local(due + timedelta(days=1)))

    sms = eventually(lambda: providers.received("sms", phone), 30, what="the D+1 SMS")[0]
    text = sms["text"]
    # CDC 42-A, written in GSM-7 (accents outside it transliterated) so the text stays short and cheap.
    assert "Otica Visao Clara Ltda, CNPJ 11.222.333/0001-81, Rua Augusta, 500, Sao Paulo - SP" in text
    assert "responda SAIR" in text
    assert "R$ 1.234,56" in text and due.strftime("%d/%m/%Y") in text
    assert (sms["encoding"], sms["segments"]) == ("GSM7", 2)  # was UCS-2 in 5 parts

    delivered = eventually(lambda: of_type(platform, invoice["debtor_id"], "contact.delivered.v1"), 30,
                           what="the delivery receipt as contact.delivered")
    attempted = [e for e in of_type(platform, invoice["debtor_id"], "contact.attempted.v1")
                 if isinstance(e, ContactAttempted)]
    assert [(e.channel, e.outcome, e.step_key) for e in attempted] == [("sms", "sent", "D+1")]
    assert isinstance(delivered[0], ContactDelivered) and delivered[0].step_id == attempted[0].step_id


def test_an_invalid_number_invalidates_the_phone_and_the_ruler_falls_back_to_email(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key = tenant_with_ruler(platform, "Farmácia Saúde Já", STEPS)
    phone = unique_phone()[:-4] + "0000"  # the double reports it unreachable: invalid_number
    email = f"dq.{phone[-8:]}@example.com"
    due = next_monday(platform)
    invoice = register(platform, key, due, phone=phone, email=email)

    platform.set_clock(at_local(due + timedelta(days=1)))
    eventually(lambda: providers.received("sms", phone), 30, what="the D+1 SMS")
    failed = eventually(lambda: of_type(platform, invoice["debtor_id"], "contact.failed.v1"), 30,
                        what="the failed receipt")[0]
    assert isinstance(failed, ContactFailed) and failed.contact_invalid and "invalid_number" in failed.reason
    invalidated = eventually(lambda: of_type(platform, invoice["debtor_id"], "contact.invalidated.v1"), 30)[0]
    assert isinstance(invalidated, ContactInvalidated) and invalidated.contact == "phone"
    wait_consumed(platform, "ruler-contacts")  # the ruler's gate has learnt it

    platform.set_clock(at_local(due + timedelta(days=2)))
    eventually(lambda: [m["step"] for m in platform.mail_to(email)] == ["D+2"], 30, what="D+2 by e-mail instead")
    assert len(providers.received("sms", phone)) == 1


def test_a_receipt_with_a_bad_signature_is_refused_and_changes_nothing(platform: Platform) -> None:
    url = f"{platform.stack.url('dispatch-sms')}/webhooks/sms/receipts"
    body = b'{"receipts": [{"id": "sms_forged", "status": "failed", "error_code": "invalid_number"}]}'
    secret = PROVIDER_ENV["REGUA_SMS_WEBHOOK_SECRET"]
    now = int(time.time())
    for headers in ({}, {"X-Signature": timestamped_signature("not-the-secret", body, now)},
                    {"X-Signature": timestamped_signature(secret, body + b" ", now)},
                    {"X-Signature": timestamped_signature(secret, body, now).replace(f"t={now}", f"t={now + 1}")},
                    {"X-Hub-Signature-256": signature(secret, body)}):  # the body alone: no longer enough
        r = httpx.post(url, content=body, headers={"Content-Type": "application/json", **headers})
        assert r.status_code == 401, r.text
        assert r.json() == {"errors": [{"field": "X-Signature", "reason": "missing or invalid signature"}]}
    good = httpx.post(url, content=body, headers={"Content-Type": "application/json",
                                                  "X-Signature": timestamped_signature(secret, body, now)})
    assert good.status_code == 200 and good.json() == {"applied": 0}  # signed, but about no message of ours


def test_a_signed_webhook_replayed_outside_the_window_is_refused(platform: Platform) -> None:
    """A captured, correctly signed message sent again six years later (or dated ahead) changes nothing."""
    secret = PROVIDER_ENV["REGUA_SMS_WEBHOOK_SECRET"]
    base = f"{platform.stack.url('dispatch-sms')}/webhooks/sms"
    body = (b'{"messages": [{"id": "in_replayed", "from": "+5511987650000", "text": "SAIR", '
            b'"timestamp": "2021-01-04T12:00:00+00:00"}]}')
    for at in (int(time.time()) - 6 * 365 * 86400, int(time.time()) - 600, int(time.time()) + 600):
        r = httpx.post(f"{base}/inbound", content=body, headers={
            "Content-Type": "application/json", "X-Signature": timestamped_signature(secret, body, at)})
        assert r.status_code == 401, r.text
        assert r.json()["errors"][0]["reason"] == "the signed timestamp is outside the accepted window"


def test_a_provider_that_stays_down_dead_letters_the_command_and_a_replay_sends_it_once(platform: Platform) -> None:
    providers = Providers(platform.stack)
    assert platform.stack.bootstrap
    key = tenant_with_ruler(platform, "Loja Resiliente Ltda", STEPS)
    phone = unique_phone()
    due = next_monday(platform)
    invoice = register(platform, key, due, phone=phone)
    providers.fault("sms", phone, 503)
    try:
        platform.set_clock(at_local(due + timedelta(days=1)))
        dlq = topics.dead_letter(topics.contact_commands("sms"))

        def dead_letters() -> list[dict[str, Any]]:
            assert platform.stack.bootstrap
            return [r for r in asyncio.run(read_topic(platform.stack.bootstrap, dlq))
                    if CONTACT_REQUESTED.validate_json(r["value"]).recipient.debtor_id == UUID(invoice["debtor_id"])]

        record = eventually(dead_letters, 60, what="the command on the dead-letter topic")[0]
        assert "sms provider unavailable after 4 tries: HTTP 503" in record["headers"]["x-dlq-reason"]
        failed = [e for e in of_type(platform, invoice["debtor_id"], "contact.attempted.v1")
                  if isinstance(e, ContactAttempted)]
        assert [(e.outcome, e.reason[:13]) for e in failed] == [("failed", "dead-lettered")]
        assert providers.received("sms", phone) == []
        step_id = str(CONTACT_REQUESTED.validate_json(record["value"]).step_id)
        assert providers.requests("sms")[step_id] == 4  # every try carried the step id as Idempotency-Key
    finally:
        providers.fault("sms", phone, None)
    # An operator replays the dead letter once the provider is back: it goes out, once.
    asyncio.run(produce(platform.stack.bootstrap, topics.contact_commands("sms"),
                        [(record["key"], record["value"], {})], platform.stack.signer("ruler")))
    eventually(lambda: providers.received("sms", phone), 30, what="the replayed SMS")
    eventually(lambda: [e.outcome for e in of_type(platform, invoice["debtor_id"], "contact.attempted.v1")
                        if isinstance(e, ContactAttempted)] == ["failed", "sent"], 30)
    assert len(providers.received("sms", phone)) == 1


def test_templates_are_checked_when_saved_and_the_tenants_own_is_used(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key = tenant_with_ruler(platform, "Academia Corpo Livre Ltda", STEPS, services=("dispatch-sms",))
    templates = httpx.Client(base_url=f"{platform.stack.url('dispatch-sms')}/v1/templates",
                             headers={"X-API-Key": key})
    no_creditor = templates.put("/notice", json={"body": "{{greeting}} Pague {{total}}. Responda SAIR."})
    assert no_creditor.status_code == 422
    assert no_creditor.json()["errors"][0]["field"] == "body"
    assert "CDC art. 42-A" in no_creditor.json()["errors"][0]["reason"]
    no_opt_out = templates.put("/notice", json={"body": "{{greeting}} Pague {{total}} a {{creditor}}."})
    assert no_opt_out.status_code == 422 and "responda SAIR" in no_opt_out.json()["errors"][0]["reason"]
    assert templates.get("/notice").json()["body"].startswith("{{greeting}} {{invoices_overdue}}")  # the default
    # Listing every invoice does not fit a collection SMS (2 parts) for a debtor with several.
    too_long = templates.put("/notice", json={"body": "{{first_name}}, faturas: {{invoices}}. {{creditor}}. "
                                                      "Responda SAIR p/ sair."})
    assert too_long.status_code == 422 and "SMS parts" in too_long.json()["errors"][0]["reason"], too_long.text

    body = "{{first_name}}, sua divida de {{total}} segue em aberto. {{creditor}}. Responda SAIR p/ sair."
    saved = templates.put("/notice", json={"body": body})
    assert saved.status_code == 200, saved.text
    assert saved.json()["provider_body"] == "{{1}}, sua divida de {{2}} segue em aberto. {{3}}. Responda SAIR p/ sair."
    assert [t["name"] for t in templates.get("", follow_redirects=True).json()["templates"]] == [
        "agreement", "bureau_notice", "negotiation", "notice", "reminder", "thank_you"]
    other = httpx.get(f"{platform.stack.url('dispatch-sms')}/v1/templates/notice",
                      headers={"X-API-Key": tenant_with_ruler(platform, "Outra Loja Ltda", STEPS,
                                                              services=("dispatch-sms",))})
    assert other.json()["body"] != body  # tenant-scoped: the other tenant still has the default

    phone = unique_phone()
    due = next_monday(platform)
    register(platform, key, due, 9_900, phone=phone, name="Ana Beatriz Souza")
    platform.set_clock(at_local(due + timedelta(days=1)))
    sms = eventually(lambda: providers.received("sms", phone), 30, what="the SMS")[0]
    assert sms["text"].startswith("Ana, sua divida de R$ 99,00 segue em aberto.")
    assert sms["text"].endswith("Academia Corpo Livre Ltda, CNPJ 11.222.333/0001-81, Rua Augusta, 500, "
                                "Sao Paulo - SP. Responda SAIR p/ sair.")  # in GSM-7
