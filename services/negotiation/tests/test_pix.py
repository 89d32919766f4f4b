"""Every PIX payload parses back with independent decoders: the `brcode` package (fields), `crccheck`
(CRC16/CCITT-FALSE) and a plain TLV walk."""

import brcode as independent
import pytest
from crccheck.crc import Crc16CcittFalse

from regua_negotiation.domain.pix import brcode, crc16_ccitt


def tlv(payload: str) -> dict[str, str]:
    fields, i = {}, 0
    while i < len(payload):
        tag, size = payload[i:i + 2], int(payload[i + 2:i + 4])
        fields[tag] = payload[i + 4:i + 4 + size]
        i += 4 + size
    return fields


def test_crc_check_value() -> None:
    assert crc16_ccitt(b"123456789") == 0x29B1  # the CRC-16/CCITT-FALSE catalogue check value


@pytest.mark.parametrize(("key", "name", "city", "cents", "txid"), [
    ("11222333000181", "Loja Exemplo Ltda", "São Paulo", 12345, "RGa1b2c3d4e5f6a7b8c9d0e101"),
    ("cobranca@regua.example", "Comércio de Açúcar e Café Irmãos Ltda", "Florianópolis", 1, "T1"),
    ("+5511987654321", "Zé", "Rio de Janeiro", 999999999, "AGR-2024/03"),
    ("123e4567-e12b-12d1-a456-426655440000", "ACME", "Belo Horizonte", 100, "x" * 30),
])
def test_payload_parses_back(key: str, name: str, city: str, cents: int, txid: str) -> None:
    payload = brcode(key=key, name=name, city=city, amount_cents=cents, txid=txid)
    assert payload.isascii()
    parsed = independent.QR(payload)
    assert (parsed.PFI_value, parsed.PIM_value) == ("01", "12")
    assert parsed.MAI_GUI_value == "br.gov.bcb.pix" and parsed.MAI_CHAVEPIX_value == key
    assert (parsed.MCC_value, parsed.TC_value, parsed.CC_value) == ("0000", "986", "BR")
    assert parsed.TA_value == f"{cents // 100}.{cents % 100:02d}"
    assert 1 <= len(parsed.MN_value) <= 25 and 1 <= len(parsed.MC_value) <= 15
    assert parsed.MC_value == parsed.MC_value.upper()
    assert parsed.ADF_REF_value.isalnum() and len(parsed.ADF_REF_value) <= 25
    assert parsed.CRC_value == f"{Crc16CcittFalse.calc(payload[:-4].encode()):04X}"
    fields = tlv(payload)
    assert list(fields) == ["00", "01", "26", "52", "53", "54", "58", "59", "60", "62", "63"]
    assert tlv(fields["26"]) == {"00": "br.gov.bcb.pix", "01": key}
    assert tlv(fields["62"]) == {"05": parsed.ADF_REF_value}


def test_accents_are_dropped_from_merchant_fields() -> None:
    fields = tlv(brcode(key="k", name="Açaí do João", city="Goiânia", amount_cents=500, txid="A1"))
    assert (fields["59"], fields["60"]) == ("Acai do Joao", "GOIANIA")


def test_amount_must_be_positive() -> None:
    with pytest.raises(ValueError):
        brcode(key="k", name="n", city="c", amount_cents=0, txid="A")
