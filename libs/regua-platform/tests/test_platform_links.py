"""Signed debtor links: readable, unforgeable, expiring (unit, no I/O)."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from regua_platform.links import SELF_SERVICE, UNSUBSCRIBE, InvalidLink, sign, verify

SECRET = "test-link-secret"
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
PAYLOAD = {"t": "acme", "d": "0b6f3c1e-2d4a-4f7e-9c1b-8a2d3e4f5a6b", "c": "email"}
P = UNSUBSCRIBE


def _decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_round_trip_without_expiry() -> None:
    token = sign(P, PAYLOAD, SECRET)
    assert verify(token, SECRET, NOW + timedelta(days=3650), P) == {**PAYLOAD, "p": P, "exp": None}


def test_round_trip_before_expiry() -> None:
    token = sign(P, PAYLOAD, SECRET, expires_at=NOW + timedelta(days=30))
    body = verify(token, SECRET, NOW + timedelta(days=29), P)
    assert {k: body[k] for k in PAYLOAD} == PAYLOAD


def test_token_is_url_safe() -> None:
    token = sign(P, {**PAYLOAD, "note": "ação ??? /+="}, SECRET)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_expired_link_is_refused() -> None:
    token = sign(P, PAYLOAD, SECRET, expires_at=NOW)
    assert verify(token, SECRET, NOW, P)["t"] == "acme"  # valid up to the instant itself
    with pytest.raises(InvalidLink, match="expired"):
        verify(token, SECRET, NOW + timedelta(seconds=1), P)


def test_tampered_payload_is_refused() -> None:
    data, mac = sign(P, PAYLOAD, SECRET).split(".")
    body = json.loads(_decode(data))
    body["d"] = "11111111-1111-1111-1111-111111111111"  # another debtor's opt-out
    forged = _encode(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    with pytest.raises(InvalidLink, match="signature"):
        verify(f"{forged}.{mac}", SECRET, NOW, P)


def test_extending_the_expiry_is_refused() -> None:
    data, mac = sign(P, PAYLOAD, SECRET, expires_at=NOW).split(".")
    body = json.loads(_decode(data))
    body["exp"] = None
    forged = _encode(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    with pytest.raises(InvalidLink):
        verify(f"{forged}.{mac}", SECRET, NOW + timedelta(days=1), P)


@pytest.mark.parametrize("position", [0, 5, 23])
def test_tampered_signature_is_refused(position: int) -> None:
    data, mac = sign(P, PAYLOAD, SECRET).split(".")
    flipped = mac[:position] + ("A" if mac[position] != "A" else "B") + mac[position + 1:]
    with pytest.raises(InvalidLink, match="signature"):
        verify(f"{data}.{flipped}", SECRET, NOW, P)


def test_another_secret_is_refused() -> None:
    with pytest.raises(InvalidLink, match="signature"):
        verify(sign(P, PAYLOAD, SECRET), "another-secret", NOW, P)


@pytest.mark.parametrize("token", ["", "no-dot", "a.b.c", "!!!.???", ".", "e30."])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidLink):
        verify(token, SECRET, NOW, P)


def test_a_link_for_one_purpose_is_refused_for_another() -> None:
    self_service = sign(SELF_SERVICE, {"t": "acme", "d": PAYLOAD["d"]}, SECRET)
    with pytest.raises(InvalidLink, match="not issued for unsubscribe"):
        verify(self_service, SECRET, NOW, UNSUBSCRIBE)
    with pytest.raises(InvalidLink, match="not issued for negotiation"):
        verify(sign(UNSUBSCRIBE, PAYLOAD, SECRET), SECRET, NOW, SELF_SERVICE)


def test_links_signed_before_purposes_keep_their_one_meaning() -> None:
    """An e-mail unsubscribe link already in a mailbox (no purpose, ``c: email``) still unsubscribes; an
    unbound payload of any other kind is refused everywhere."""
    legacy = _encode(json.dumps({**PAYLOAD, "exp": None}, separators=(",", ":"), sort_keys=True).encode())
    mac = _encode(hmac.new(SECRET.encode(), legacy.encode(), hashlib.sha256).digest()[:18])
    assert verify(f"{legacy}.{mac}", SECRET, NOW, UNSUBSCRIBE)["d"] == PAYLOAD["d"]
    with pytest.raises(InvalidLink):
        verify(f"{legacy}.{mac}", SECRET, NOW, SELF_SERVICE)
