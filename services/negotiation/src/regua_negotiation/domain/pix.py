"""PIX "copia e cola": the BR Code payload (EMV QRCPS merchant-presented mode, as the BCB manual specifies).

Each field is ID (2 digits) + length (2 digits) + value; field 63 is the CRC16-CCITT (poly 0x1021, init
0xFFFF, no reflection, "CCITT-FALSE") of the whole payload up to and including "6304", in 4 hex digits.
"""

import re
import unicodedata

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
