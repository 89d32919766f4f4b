"""NewInvoice validation from JSON text, with the per-field reasons clients see (unit, no I/O)."""

import json
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from regua_contracts.common import NewInvoice, is_mobile
from regua_platform.errors import field_errors

_DROP = object()  # a field left out of the body


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": "NF-000123",
        "amount_cents": 15_000,
        "due_date": "2026-03-10",
        "debtor": {"document": "529.982.247-25", "name": "Ana Souza", "email": "ana@example.com"},
    }
    for key, value in changes.items():
        target, _, field = key.rpartition("__")
        holder = body["debtor"] if target == "debtor" else body
        name = field or key
        if value is _DROP:
            holder.pop(name, None)
        else:
            holder[name] = value
    return body



def _errors(body: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(ValidationError) as caught:
        NewInvoice.model_validate_json(json.dumps(body))
    return field_errors(caught.value)


def test_a_valid_body_parses_and_normalises() -> None:
    invoice = NewInvoice.model_validate_json(json.dumps(_body(
        debtor__phone="(11) 98765-4321", debtor__state=" sp ", debtor__email=" Ana@Example.COM ",
    )))
    assert invoice.amount_cents == 15_000
    assert invoice.due_date == date(2026, 3, 10)
    assert invoice.debtor.document == "52998224725"
    assert invoice.debtor.email == "ana@example.com"
    assert invoice.debtor.phone == "+5511987654321"
    assert invoice.debtor.state == "SP"


@pytest.mark.parametrize("amount", [0, -1, 10.0, 10.5, "15000", True, None])
def test_amount_must_be_a_positive_json_integer(amount: object) -> None:
    errors = _errors(_body(amount_cents=amount))
    assert len(errors) == 1
    assert errors[0]["field"] == "amount_cents"
    expected = "must be greater than 0" if isinstance(amount, int) and not isinstance(amount, bool) \
        else "must be an integer"
    assert errors[0]["reason"] == expected


def test_amount_has_an_upper_bound() -> None:
    assert [e["field"] for e in _errors(_body(amount_cents=10**13 + 1))] == ["amount_cents"]


@pytest.mark.parametrize("due", ["10/03/2026", "2026-02-30", "2026-03-10T00:00:00", 20260310, ""])
def test_due_date_must_be_an_iso_date(due: object) -> None:
    assert _errors(_body(due_date=due)) == [{"field": "due_date", "reason": "must be an ISO date (YYYY-MM-DD)"}]


def test_missing_fields_are_named() -> None:
    errors = _errors(_body(amount_cents=_DROP, due_date=_DROP))
    assert {"field": "amount_cents", "reason": "is required"} in errors
    assert {"field": "due_date", "reason": "is required"} in errors


def test_unknown_fields_are_refused() -> None:
    assert _errors(_body(colour="blue")) == [{"field": "colour", "reason": "is not a known field"}]


@pytest.mark.parametrize("empty", [_DROP, None, ""])
def test_debtor_needs_at_least_one_contact(empty: object) -> None:
    errors = _errors(_body(debtor__email=empty))
    assert errors == [{"field": "debtor", "reason": "at least one contact channel (email or phone) is required"}]


def test_a_phone_alone_is_enough() -> None:
    invoice = NewInvoice.model_validate_json(json.dumps(_body(debtor__email=_DROP, debtor__phone="11987654321")))
    assert invoice.debtor.email is None
    assert invoice.debtor.phone == "+5511987654321"


@pytest.mark.parametrize("email", ["ana", "ana@", "ana@example", "ana silva@example.com", "a@b@c.com",
                                   "x" * 250 + "@example.com"])
def test_email_must_be_an_address(email: str) -> None:
    assert _errors(_body(debtor__email=email)) == [{"field": "debtor.email", "reason": "not a valid e-mail address"}]


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("(11) 98765-4321", "+5511987654321"),
        ("11 98765 4321", "+5511987654321"),
        ("+55 11 98765-4321", "+5511987654321"),
        ("5511987654321", "+5511987654321"),
        ("(21) 3222-1234", "+552132221234"),
        ("+55 (55) 3222-1234", "+555532221234"),
    ],
)
def test_brazilian_phones_are_normalised_to_e164(raw: str, normalised: str) -> None:
    invoice = NewInvoice.model_validate_json(json.dumps(_body(debtor__phone=raw)))
    assert invoice.debtor.phone == normalised


_NO_SUCH_NUMBER = "not a valid Brazilian phone number (area code or number range does not exist)"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("98765-4321", "must be a Brazilian phone with area code, e.g. +55 11 98765-4321"),
        ("+1 415 555 2671 12", "must be a Brazilian phone (+55)"),
        ("+44 20 7946 0958", "must be a Brazilian phone (+55)"),
        ("(01) 98765-4321", _NO_SUCH_NUMBER),
        # Area codes that do not exist, which the hand-written pattern used to accept.
        ("(10) 98765-4321", _NO_SUCH_NUMBER),
        ("(20) 98765-4321", _NO_SUCH_NUMBER),
        ("(11) 08765-4321", _NO_SUCH_NUMBER),
    ],
)
def test_phone_errors(raw: str, reason: str) -> None:
    assert _errors(_body(debtor__phone=raw)) == [{"field": "debtor.phone", "reason": reason}]


@pytest.mark.parametrize(("phone", "mobile"), [("+5511987654321", True), ("+552132221234", False),
                                               ("+556133334444", False), ("+5592991234567", True)])
def test_only_mobiles_take_texts(phone: str, mobile: bool) -> None:
    assert is_mobile(phone) is mobile


def test_address_places_the_debtor() -> None:
    invoice = NewInvoice.model_validate_json(json.dumps(_body(debtor__postcode="53990-000",
                                                              debtor__city_ibge="2605459")))
    assert (invoice.debtor.postcode, invoice.debtor.city_ibge) == ("53990000", "2605459")
    assert _errors(_body(debtor__postcode="5399")) == [
        {"field": "debtor.postcode", "reason": "must be a CEP of 8 digits, e.g. 01310-100"}]
    assert _errors(_body(debtor__city_ibge="9905459")) == [
        {"field": "debtor.city_ibge", "reason": "must be a 7-digit IBGE municipality code, e.g. 3550308"}]


@pytest.mark.parametrize("uf", ["XX", "São Paulo", "S P", ""])
def test_state_must_be_a_uf(uf: str) -> None:
    assert _errors(_body(debtor__state=uf)) == [
        {"field": "debtor.state", "reason": "must be a Brazilian state abbreviation (UF), e.g. SP"}
    ]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("529.982.247-26", "invalid CPF check digits"),
        ("11.222.333/0001-80", "invalid CNPJ check digits"),
        ("1234", "must be a CPF (11 digits) or a CNPJ (14 characters)"),
    ],
)
def test_document_errors(document: str, reason: str) -> None:
    assert _errors(_body(debtor__document=document)) == [{"field": "debtor.document", "reason": reason}]


def test_several_errors_are_reported_together() -> None:
    errors = _errors(_body(amount_cents=0, due_date="amanhã", debtor__state="ZZ"))
    assert {e["field"] for e in errors} == {"amount_cents", "due_date", "debtor.state"}


def test_external_id_pattern() -> None:
    assert [e["field"] for e in _errors(_body(external_id="NF 1; DROP"))] == ["external_id"]
    assert [e["field"] for e in _errors(_body(external_id=""))] == ["external_id"]
