"""Validation errors become per-field reasons (unit, no I/O)."""

from datetime import date
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from regua_platform.errors import describe, field_errors


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str
    quantity: Annotated[int, Field(strict=True, gt=0)]


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due: Annotated[date, Field(strict=True)]
    items: list[Item]
    code: str

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not value.isupper():
            raise ValueError("must be upper-case")
        return value


class Registered(BaseModel):
    type: Literal["thing.registered.v1"] = "thing.registered.v1"
    name: str


class Cancelled(BaseModel):
    type: Literal["thing.cancelled.v1"] = "thing.cancelled.v1"
    reason: str


ANY_EVENT = TypeAdapter[Registered | Cancelled](Annotated[Registered | Cancelled, Field(discriminator="type")])


def _errors(json_text: str, prefix: tuple[str | int, ...] = ()) -> list[dict[str, str]]:
    with pytest.raises(ValidationError) as caught:
        Order.model_validate_json(json_text)
    return field_errors(caught.value, prefix)


def test_each_rule_gives_a_field_and_a_reason() -> None:
    errors = _errors('{"due": "01/02/2027", "items": [{"sku": "A", "quantity": 0}, {"sku": "B", "quantity": 1.5}],'
                     ' "code": "abc", "colour": 1}')
    assert errors == [
        {"field": "due", "reason": "must be an ISO date (YYYY-MM-DD)"},
        {"field": "items.0.quantity", "reason": "must be greater than 0"},
        {"field": "items.1.quantity", "reason": "must be an integer"},
        {"field": "code", "reason": "must be upper-case"},  # the "Value error, " prefix is dropped
        {"field": "colour", "reason": "is not a known field"},
    ]


def test_missing_fields() -> None:
    assert _errors('{"items": []}') == [
        {"field": "due", "reason": "is required"},
        {"field": "code", "reason": "is required"},
    ]


def test_prefix_places_errors_inside_an_envelope() -> None:
    errors = _errors('{"due": "2027-02-01", "items": [], "code": "x"}', prefix=("invoices", 3))
    assert errors == [{"field": "invoices.3.code", "reason": "must be upper-case"}]


def test_errors_of_the_whole_body() -> None:
    errors = _errors("[1, 2]")
    assert len(errors) == 1
    assert errors[0]["field"] == "(body)"
    assert errors[0]["reason"]


def test_union_tags_are_left_out_of_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        ANY_EVENT.validate_json('{"type": "thing.cancelled.v1"}')
    assert field_errors(caught.value) == [{"field": "reason", "reason": "is required"}]


def test_describe_joins_the_reasons() -> None:
    with pytest.raises(ValidationError) as caught:
        Order.model_validate_json('{"due": "2027-02-01", "items": [], "code": "x", "y": 1}')
    assert describe(caught.value) == "code: must be upper-case; y: is not a known field"
