"""PII never reaches the JSON logs: message, arguments, extras (nested too) and tracebacks (unit, no I/O)."""

import json
import logging
import sys
from typing import Any

import pytest

from regua_platform.logging import JsonFormatter, mask_pii

PII = {
    "cpf": ["529.982.247-25", "52998224725"],
    "cnpj": ["11.222.333/0001-81", "11222333000181", "12ABC34501DE35", "12.ABC.345/01DE-35"],
    "email": ["ana.souza@example.com", "Ana+cobranca@mail.example.com.br"],
    "phone": ["+5511987654321", "+55 11 98765-4321", "(11) 98765-4321", "11 3222-1234", "+552132221234",
              "+55 11 9 8765 4321", "+55-11-98765-4321", "011987654321", "0 15 11 98765-4321", "11.98765.4321",
              "+55 (11) 9 8765-4321"],
}
ALL_PII = [value for values in PII.values() for value in values]
# What must not survive of each value: its digits (or the local part of an e-mail).
FRAGMENTS = {v: (v.split("@")[0] if "@" in v else "".join(c for c in v if c.isalnum())[-8:]) for v in ALL_PII}


@pytest.mark.parametrize(("kind", "value"), [(k, v) for k, vs in PII.items() for v in vs])
def test_mask_pii_replaces_each_kind(kind: str, value: str) -> None:
    masked = mask_pii(f"debtor {value} contacted")
    assert f"<{kind}>" in masked
    assert FRAGMENTS[value] not in masked
    assert masked.startswith("debtor ") and masked.endswith(" contacted")


def test_mask_pii_leaves_ordinary_text_alone() -> None:
    text = "step D+10 of invoice 0b6f3c1e-2d4a-4f7e-9c1b-8a2d3e4f5a6b sent after 3 attempts in 250 ms"
    assert mask_pii(text) == text


def _format(record_fields: dict[str, Any], exc_info: Any = None) -> dict[str, Any]:
    record = logging.LogRecord("regua.test", logging.WARNING, __file__, 1, record_fields.pop("msg"),
                               record_fields.pop("args", ()), exc_info)
    for key, value in record_fields.items():
        setattr(record, key, value)
    line = JsonFormatter("ingestion").format(record)
    for value in ALL_PII:
        assert FRAGMENTS[value] not in line, f"{value!r} leaked into {line}"
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def test_formatter_writes_one_json_object_with_the_service_and_level() -> None:
    entry = _format({"msg": "invoice %s registered", "args": ("NF-1",)})
    assert entry["service"] == "ingestion"
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "regua.test"
    assert entry["msg"] == "invoice NF-1 registered"
    assert entry["ts"].endswith("+00:00")


def test_formatter_masks_message_and_arguments() -> None:
    entry = _format({"msg": "debtor %s (%s) at %s, phone %s",
                     "args": ("529.982.247-25", "11.222.333/0001-81", "ana.souza@example.com", "+5511987654321")})
    assert entry["msg"] == "debtor <cpf> (<cnpj>) at <email>, phone <phone>"


def test_formatter_masks_string_extras() -> None:
    entry = _format({"msg": "registered", "document": "52998224725", "email": "ana.souza@example.com",
                     "phone": "(11) 98765-4321", "company": "12ABC34501DE35", "attempt": 2})
    assert entry["document"] == "<cpf>"
    assert entry["email"] == "<email>"
    assert entry["company"] == "<cnpj>"
    assert entry["attempt"] == 2  # non-PII values keep their JSON type


def test_formatter_masks_nested_extras() -> None:
    entry = _format({"msg": "registered", "debtor": {"document": "529.982.247-25", "email": "ana.souza@example.com",
                                                      "phones": ["+5511987654321", "11 3222-1234"], "score": 700},
                     "recipients": ("Ana+cobranca@mail.example.com.br", "11222333000181")})
    assert entry["debtor"] == {"document": "<cpf>", "email": "<email>", "phones": ["<phone>", "<phone>"], "score": 700}
    assert entry["recipients"] == ["<email>", "<cnpj>"]


def test_formatter_masks_objects_written_through_str() -> None:
    class Debtor:
        def __str__(self) -> str:
            return "Debtor(document=52998224725, email=ana.souza@example.com)"

    entry = _format({"msg": "registered", "debtor": Debtor()})
    assert entry["debtor"] == "Debtor(document=<cpf>, email=<email>)"


def test_formatter_masks_tracebacks() -> None:
    try:
        raise ValueError("no such debtor 529.982.247-25 / ana.souza@example.com")
    except ValueError:
        entry = _format({"msg": "failed"}, exc_info=sys.exc_info())
    assert "ValueError: no such debtor <cpf> / <email>" in entry["exc"]
