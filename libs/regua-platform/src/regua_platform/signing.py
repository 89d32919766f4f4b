"""Event integrity: every record a service publishes on an internal topic is signed with the service's own
Ed25519 key, and every consumer checks the signature and that the signer may produce that topic
(regua_contracts.topics.PRODUCERS). The broker is then no trust root: a producer that can write a topic
cannot make a service act on a record it did not sign with a key the consumers trust.

Keys: REGUA_SIGNING_KEY is the service's private key (base64 of the raw 32 bytes, or PEM);
REGUA_TRUSTED_PRODUCERS is a JSON object {service: base64 raw public key (or PEM)}. Loaded keys are cached,
so a verification costs one Ed25519 check (~50 µs).
"""

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from regua_contracts.topics import producers_of

K = TypeVar("K")
PRODUCER_HEADER = "x-regua-producer"
SIGNATURE_HEADER = "x-regua-signature"
EVENT_TYPE_HEADER = "x-event-type"


class InvalidKey(ValueError):
    """A configured key that cannot be read."""


def canonical(topic: str, key: bytes | None, value: bytes, event_type: str, producer: str) -> bytes:
    """The signed bytes: each part length-prefixed, so no two different records share a string."""
    parts = (b"regua-event-v1", topic.encode(), key or b"", value, event_type.encode(), producer.encode())
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _load(text: str, what: str, pem: Callable[[bytes], object], raw: Callable[[bytes], K], kind: type[K]) -> K:
    text = text.strip()
    try:
        key = pem(text.encode()) if text.startswith("-----BEGIN") else raw(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error, TypeError) as exc:
        raise InvalidKey(f"cannot read {what}: {exc}") from exc
    if not isinstance(key, kind):
        raise InvalidKey(f"{what} is not an Ed25519 key")
    return key


def load_private_key(text: str) -> Ed25519PrivateKey:
    return _load(text, "the signing key", lambda b: serialization.load_pem_private_key(b, password=None),
                 Ed25519PrivateKey.from_private_bytes, Ed25519PrivateKey)  # type: ignore[type-abstract]


def load_public_key(text: str) -> Ed25519PublicKey:
    return _load(text, "a public key", serialization.load_pem_public_key, Ed25519PublicKey.from_public_bytes,
                 Ed25519PublicKey)  # type: ignore[type-abstract]


def new_key_pair() -> tuple[str, str]:
    """(private, public), each base64 of the raw 32 bytes: what REGUA_SIGNING_KEY and
    REGUA_TRUSTED_PRODUCERS take."""
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _b64(raw_private), _b64(raw_public)


@dataclass(frozen=True)
class Signer:
    producer: str
    key: Ed25519PrivateKey

    def sign(self, data: bytes) -> str:
        return _b64(self.key.sign(data))

    def headers(self, topic: str, key: bytes | None, value: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        """``headers`` plus the producer and the signature of this record."""
        event_type = headers.get(EVENT_TYPE_HEADER, "")
        signature = self.sign(canonical(topic, key, value, event_type, self.producer))
        return {**headers, PRODUCER_HEADER: self.producer, SIGNATURE_HEADER: signature}


class Verifier:
    """Checks records of internal topics against the trusted producers' keys and the topic's producer list.
    A producer may have several keys at once: its new and old key while a key rotation rolls out."""

    def __init__(self, trusted: Mapping[str, Ed25519PublicKey | Sequence[Ed25519PublicKey]]) -> None:
        self.trusted = {name: [keys] if isinstance(keys, Ed25519PublicKey) else list(keys)
                        for name, keys in trusted.items()}

    def verify(self, data: bytes, producer: str, signature: str) -> bool:
        try:
            raw = base64.b64decode(signature, validate=True)
        except (ValueError, binascii.Error):
            return False
        for key in self.trusted.get(producer, ()):
            try:
                key.verify(raw, data)
            except InvalidSignature:
                continue
            return True
        return False

    def untrusted(self, topic: str, key: bytes | None, value: bytes, headers: Mapping[str, str]) -> str | None:
        """Why the record must not be handled, or None when it may (or the topic is not an internal one)."""
        allowed = producers_of(topic)
        if allowed is None:
            return None  # client-facing (authenticated by its API key) or not a platform topic
        producer = headers.get(PRODUCER_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        if not producer or not signature:
            return "untrusted producer: the record is not signed"
        if producer not in allowed:
            return f"untrusted producer: {producer!r} may not produce {topic}"
        if producer not in self.trusted:
            return f"untrusted producer: no trusted key for {producer!r}"
        data = canonical(topic, key, value, headers.get(EVENT_TYPE_HEADER, ""), producer)
        if not self.verify(data, producer, signature):
            return f"untrusted producer: invalid signature for {producer!r}"
        return None


@lru_cache(maxsize=8)
def signer_from(service: str, private_key: str | None) -> Signer | None:
    return Signer(service, load_private_key(private_key)) if private_key else None


@lru_cache(maxsize=8)
def verifier_from(trusted_producers: str) -> Verifier:
    try:
        raw = json.loads(trusted_producers or "{}")
    except json.JSONDecodeError as exc:
        raise InvalidKey(f"REGUA_TRUSTED_PRODUCERS is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidKey("REGUA_TRUSTED_PRODUCERS must be a JSON object {service: public key or [keys]}")
    return Verifier({str(name): [load_public_key(str(k)) for k in (keys if isinstance(keys, list) else [keys])]
                     for name, keys in raw.items()})
