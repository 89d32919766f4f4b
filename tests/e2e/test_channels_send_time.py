"""The gate at the moment of sending: a command that reaches a dispatcher late (a backlog, a slow retry, a
dead-letter replay) is held until the debtor's next allowed moment, never sent outside their hours and never
dropped; held messages are released when the (simulated) clock gets there. SMS and WhatsApp go to mobiles only."""

import time
from datetime import timedelta

from regua_contracts.contacts import ContactAttempted
from tests.support.channels import register, tenant_with_ruler, unique_phone
from tests.support.client import Platform, eventually
from tests.support.dispatch import (
    attempts_of,
    commands_for,
    dispatched,
    late_command,
    local,
    next_sunday_before_a_working_monday,
    tenant_id_of,
    wait_attempt,
    working_day_before_working_day,
)
from tests.support.providers import Providers

SETTLE = 2.0  # seconds for the dispatcher to follow a clock move (regua.clock.v1) and run its release loop


def test_an_sms_arriving_at_23_30_is_held_and_sent_at_8_the_next_day_not_before(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key = tenant_with_ruler(platform, "Loja Noturna Ltda", "      - {key: D+1, offset_days: 1, send: [sms], "
                                      "template: notice, tone: informative}\n", services=("dispatch-sms",))
    tenant_id = tenant_id_of(platform, "dispatch-sms", key)
    day = working_day_before_working_day(platform)
    platform.set_clock(local(day, 23, 30))
    phone = unique_phone()
    command = late_command(platform, tenant_id, "sms", phone)
    dispatched(platform, "sms")
    time.sleep(SETTLE)
    assert providers.received("sms", phone) == [] and attempts_of(platform, command.recipient.debtor_id) == []

    platform.set_clock(local(day + timedelta(days=1), 7, 59))
    time.sleep(SETTLE)
    assert providers.received("sms", phone) == []
    platform.set_clock(local(day + timedelta(days=1), 8, 0))
    eventually(lambda: providers.received("sms", phone), 30, what="the held SMS at 08:00")
    sent = wait_attempt(platform, command.recipient.debtor_id)
    assert (sent.outcome, sent.step_id) == ("sent", command.step_id)
    assert sent.occurred_at >= local(day + timedelta(days=1), 8, 0)
    assert len(providers.received("sms", phone)) == 1


def test_a_whatsapp_on_a_sunday_in_rio_waits_for_monday_at_nine(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key = tenant_with_ruler(platform, "Loja Carioca Ltda", "      - {key: D+1, offset_days: 1, send: [whatsapp], "
                                      "template: notice, tone: informative}\n", services=("dispatch-whatsapp",))
    tenant_id = tenant_id_of(platform, "dispatch-whatsapp", key)
    sunday = next_sunday_before_a_working_monday(platform, "RJ")
    platform.set_clock(local(sunday, 11))
    phone = unique_phone()
    to = phone.lstrip("+")
    command = late_command(platform, tenant_id, "whatsapp", phone, state="RJ")
    dispatched(platform, "whatsapp")
    time.sleep(SETTLE)
    assert providers.received("whatsapp", to) == []
    platform.set_clock(local(sunday + timedelta(days=1), 8, 30))  # SP would allow it; RJ's law starts at 9
    time.sleep(SETTLE)
    assert providers.received("whatsapp", to) == []
    platform.set_clock(local(sunday + timedelta(days=1), 9, 0))
    eventually(lambda: providers.received("whatsapp", to), 30, what="the WhatsApp on Monday at 09:00")
    sent = wait_attempt(platform, command.recipient.debtor_id)
    assert sent.outcome == "sent" and sent.occurred_at >= local(sunday + timedelta(days=1), 9, 0)


def test_a_thank_you_at_22_waits_for_the_morning(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key = tenant_with_ruler(platform, "Loja Grata Ltda", "      - {key: D+30, offset_days: 30, send: [sms], "
                                      "template: notice, tone: informative}\n", services=("dispatch-sms",))
    day = working_day_before_working_day(platform)
    phone = unique_phone()
    invoice = register(platform, key, day - timedelta(days=2), 45_000, phone=phone)
    platform.set_clock(local(day, 22))
    with platform.api(key) as api:
        assert api.post(f"/v1/invoices/{invoice['id']}/payments", json={"amount_cents": 45_000}).status_code == 201
    eventually(lambda: commands_for(platform, "sms", invoice["debtor_id"], "thank_you"), 30,
               what="the ruler's thank-you command")
    dispatched(platform, "sms")
    time.sleep(SETTLE)
    assert providers.received("sms", phone) == []
    platform.set_clock(local(day + timedelta(days=1), 8, 0))
    sms = eventually(lambda: providers.received("sms", phone), 30, what="the thank-you in the morning")
    assert len(sms) == 1
    thanks = wait_attempt(platform, invoice["debtor_id"])
    assert (thanks.step_key, thanks.outcome) == ("thank-you", "sent")
    assert thanks.occurred_at >= local(day + timedelta(days=1), 8, 0)


def test_an_sms_to_a_landline_is_suppressed(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key = tenant_with_ruler(platform, "Loja Fixa Ltda", "      - {key: D+1, offset_days: 1, send: [sms], "
                                    "template: notice, tone: informative}\n", services=("dispatch-sms",))
    tenant_id = tenant_id_of(platform, "dispatch-sms", key)
    day = working_day_before_working_day(platform)
    platform.set_clock(local(day, 10))
    landline = "+551132345678"
    command = late_command(platform, tenant_id, "sms", landline)
    attempt = wait_attempt(platform, command.recipient.debtor_id)
    assert isinstance(attempt, ContactAttempted)
    assert (attempt.outcome, attempt.reason) == ("suppressed", "not a mobile number")
    assert providers.received("sms", landline) == []
