"""Webhook signatures, phone keys and what contact events teach a dispatcher (unit)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from regua_compliance import ContactPolicy, DebtorFacts
from regua_contracts.contacts import (
    CallOutcomeRecorded,
    ContactFailed,
    ContactInvalidated,
    ContactOptedOut,
    DebtorReplied,
)
from regua_dispatch.facts import Verdict, learnt, send_time
from regua_dispatch.phones import digits, phone_key
from regua_dispatch.webhooks import is_valid, require_fresh, signature, timestamped_signature
from regua_platform.http import ApiError

from .test_dispatch_holds import command

NOW = datetime(2027, 3, 10, 13, 1, tzinfo=UTC)  # 10:01 in São Paulo, a Wednesday
BASE = {"occurred_at": NOW, "tenant_id": "t", "debtor_id": uuid.uuid4()}


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    # echo -n '{"a":1}' | openssl dgst -sha256 -hmac secret
    assert signature("secret", b'{"a":1}') == "sha256=aa9e2e3575f5d7098b6caccd790888c36d5fdb63342a73bada2d6a51747a8494"
    good = signature("app-secret", b"body")
    assert is_valid("app-secret", b"body", good)
    assert is_valid("app-secret", b"body", f" {good} ")
    assert not is_valid("app-secret", b"body ", good)
    assert not is_valid("other-secret", b"body", good)
    assert not is_valid("app-secret", b"body", None)
    assert not is_valid("app-secret", b"body", good.replace("sha256=", "sha1="))


def test_the_timestamped_signature_covers_the_timestamp() -> None:
    # echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
    header = timestamped_signature("secret", b'{"a":1}', 1_700_000_000)
    assert header == "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
    assert header.split("v1=")[1] != timestamped_signature("secret", b'{"a":1}', 1_700_000_001).split("v1=")[1]


def test_payload_timestamps_must_lie_within_the_window() -> None:
    require_fresh([NOW, NOW - timedelta(seconds=299), NOW + timedelta(seconds=299)], NOW, 300)
    for stale in (NOW - timedelta(seconds=301), NOW - timedelta(days=6 * 365)):
        with pytest.raises(ApiError):
            require_fresh([NOW, stale], NOW, 300)
    with pytest.raises(ApiError):
        require_fresh([NOW + timedelta(seconds=301)], NOW, 300)
    require_fresh([NOW + timedelta(days=2)], NOW, 300, future_too=False)  # simulated time moves ahead


@pytest.mark.parametrize("phone", ["+55 11 98765-4321", "5511987654321", "+55 (11) 98765-4321", "551187654321"])
def test_phone_keys_ignore_format_and_the_ninth_digit(phone: str) -> None:
    assert phone_key(phone) == "551187654321"
    assert digits("+55 (11) 98765-4321") == "5511987654321"


def test_what_contact_events_teach_each_channel() -> None:
    opted = ContactOptedOut(**BASE, channel="whatsapp", source="reply")
    assert learnt(opted, "whatsapp") == ("opt-out", "whatsapp", "reply")
    assert learnt(opted, "sms") is None
    bounce = ContactFailed(**BASE, step_id=uuid.uuid4(), channel="sms", reason="invalid_number", contact_invalid=True)
    assert learnt(bounce, "whatsapp") == ("invalid", "phone", "invalid_number")
    assert learnt(bounce, "email") is None
    soft = ContactFailed(**BASE, step_id=uuid.uuid4(), channel="sms", reason="expired", contact_invalid=False)
    assert learnt(soft, "sms") is None
    assert learnt(ContactInvalidated(**BASE, contact="email", reason="550"), "email") == ("invalid", "email", "550")
    wrong = CallOutcomeRecorded(**BASE, step_id=uuid.uuid4(), invoice_ids=[], outcome="wrong_number", agent_id="a",
                                called_at=NOW)
    assert learnt(wrong, "sms") == ("invalid", "phone", "wrong number (call)")
    assert learnt(DebtorReplied(**BASE, channel="sms", text="oi", received_at=NOW), "sms") is None


def test_the_send_time_gate_suppresses_opt_outs_and_invalid_contacts_and_holds_for_timing() -> None:
    policy = ContactPolicy()
    notice = command(NOW, state="SP")
    assert send_time("sms", NOW, DebtorFacts(state="SP"), policy, notice).send
    assert send_time("sms", NOW, DebtorFacts(opted_out=frozenset({"sms"})), policy, notice) == Verdict(
        "opted out of SMS")
    assert send_time("whatsapp", NOW, DebtorFacts(invalid_contacts=frozenset({"phone"})), policy, notice) == \
        Verdict("invalid phone")
    sunday_night = NOW + timedelta(days=4, hours=10)
    held = send_time("sms", sunday_night, DebtorFacts(state="SP"), policy, notice)
    assert (held.rule, held.until) == ("no-contact-day", datetime(2027, 3, 15, 11, tzinfo=UTC))  # Monday 08:00
