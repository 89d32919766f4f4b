"""The person behind a debtor: contact caps, the silence after a conversation and bad addresses are the
person's, whichever creditor collects (pure, no I/O)."""

import hashlib
from uuid import UUID

from regua_contracts.common import is_mobile

_CONTACT_OF = {"email": "email", "sms": "phone", "whatsapp": "phone", "phone": "phone"}


def person_key(tenant_id: str, debtor_id: UUID, person_id: UUID | None) -> UUID:
    """Ingestion's person id; before it assigned one, the debtor of one tenant stands for a person of their own
    (md5 of "tenant:debtor", which migration 002 computes the same way in SQL)."""
    if person_id is not None:
        return person_id
    return UUID(hashlib.md5(f"{tenant_id}:{debtor_id}".encode()).hexdigest())


def normalized_address(kind: str, value: str) -> str:
    # Phones arrive in E.164 from the contract's validator; e-mail is case-insensitive in practice.
    return value.strip().lower() if kind == "email" else value.strip()


def address_sha256(kind: str, value: str) -> str:
    """The key a bad address is remembered by: never the address in clear (LGPD)."""
    return hashlib.sha256(normalized_address(kind, value).encode()).hexdigest()


def contact_of(channel: str) -> str:
    """The kind of address a channel uses: "email" or "phone"."""
    return _CONTACT_OF[channel]


def can_text(phone: str | None) -> bool:
    """SMS and WhatsApp reach mobiles only: a landline makes them unusable."""
    return bool(phone) and is_mobile(phone or "")
