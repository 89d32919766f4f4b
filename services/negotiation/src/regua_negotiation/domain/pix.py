"""PIX "copia e cola": the BR Code payload (EMV QRCPS merchant-presented mode, as the BCB manual specifies).

Each field is ID (2 digits) + length (2 digits) + value; field 63 is the CRC16-CCITT (poly 0x1021, init
0xFFFF, no reflection, "CCITT-FALSE") of the whole payload up to and including "6304", in 4 hex digits.
"""

import re
import unicodedata
import uuid

from regua_contracts.documents import is_valid_cnpj, is_valid_cpf

PIX_GUI = "br.gov.bcb.pix"
_NOT_TXID = re.compile(r"[^A-Za-z0-9]")


def crc16_ccitt(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _field(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"field {tag} longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def _ascii(text: str, limit: int) -> str:
    # Payers' apps show these fields; plain ASCII keeps lengths in characters equal to bytes.
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.split())[:limit].strip()


def txid_for(reference: str) -> str:
    """A txid is 1-25 letters or digits."""
    txid = _NOT_TXID.sub("", reference)[:25]
    if not txid:
        raise ValueError("txid needs at least one letter or digit")
    return txid


def brcode(*, key: str, name: str, city: str, amount_cents: int, txid: str) -> str:
    if amount_cents <= 0:
        raise ValueError("amount must be positive")
    account = _field("00", PIX_GUI) + _field("01", key)
    payload = (
        _field("00", "01")  # payload format indicator
        + _field("01", "12")  # point of initiation: 12 = single use (one installment, one payment)
        + _field("26", account)
        + _field("52", "0000")  # merchant category code: not informed
        + _field("53", "986")  # BRL
        + _field("54", f"{amount_cents // 100}.{amount_cents % 100:02d}")
        + _field("58", "BR")
        + _field("59", _ascii(name, 25) or "RECEBEDOR")
        + _field("60", _ascii(city, 15).upper() or "SAO PAULO")
        + _field("62", _field("05", txid_for(txid)))
        + "6304"
    )
    return payload + f"{crc16_ccitt(payload.encode()):04X}"


_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_EMAIL = re.compile(rf"^[a-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+$")
_PHONE = re.compile(r"^\+55[1-9][0-9]{9,10}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def pix_key_error(key: str) -> str | None:
    """Why ``key`` is not a PIX key in one of the DICT's formats, or None when it is one: a CPF (11 digits,
    valid check digits), a CNPJ (14 characters, valid check digits), a phone in E.164 with +55, an e-mail in
    lower case (at most 77 characters), or a random key (a UUID v4 in lower case, with hyphens)."""
    if key.isdigit() and len(key) == 11:
        return None if is_valid_cpf(key) else "CPF key with invalid check digits (a phone key starts with +55)"
    if len(key) == 14 and key.isascii() and key.isalnum() and key[12:].isdigit():
        return None if is_valid_cnpj(key) else "CNPJ key with invalid check digits"
    if key.startswith("+"):
        return None if _PHONE.match(key) else "phone key must be +55, area code and number (E.164), digits only"
    if "@" in key:
        if key != key.lower():
            return "e-mail key must be in lower case"
        return None if len(key) <= 77 and _EMAIL.match(key) else "not a valid e-mail key"
    if _UUID.match(key):
        return None
    try:
        parsed = uuid.UUID(key)
    except ValueError:
        parsed = None
    if parsed is not None:
        return ("random key must be a UUID v4 in lower case with hyphens" if parsed.version == 4
                else "random key must be a UUID version 4")
    return ("not a PIX key: use a CPF or CNPJ (digits only), a phone (+55...), an e-mail in lower case or a "
            "random key (UUID v4)")
