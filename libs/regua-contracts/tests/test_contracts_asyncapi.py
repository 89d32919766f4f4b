"""The AsyncAPI document: generated from the contracts, checked in up to date, valid AsyncAPI 3.0 (the spec's own
JSON schema from @asyncapi/specs 6.11.1, Apache-2.0, kept beside this test) and with no dangling reference."""

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from regua_contracts import asyncapi, topics
from regua_contracts.asyncapi import refs

ROOT = Path(__file__).resolve().parents[3]
CHECKED_IN = ROOT / "docs" / "asyncapi.json"
SPEC_SCHEMA = Path(__file__).parent / "schemas" / "asyncapi-3.0.0.json"


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_checked_in_document_matches_the_contracts() -> None:
    assert CHECKED_IN.read_text(encoding="utf-8") == asyncapi.render(), (
        "docs/asyncapi.json is stale: run `python -m regua_contracts.asyncapi`")


def test_document_is_valid_asyncapi_3() -> None:
    schema = json.loads(SPEC_SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(Draft7Validator(schema).iter_errors(asyncapi.document()), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_every_reference_resolves() -> None:
    document = asyncapi.document()
    for ref in refs(document):
        assert ref.startswith("#/"), ref
        _resolve(document, ref)


def test_every_topic_has_its_messages_producers_and_consumers() -> None:
    document = asyncapi.document()
    assert set(document["channels"]) == set(topics.all_topics())
    for topic, consumers in topics.CONSUMERS.items():
        channel = document["channels"][topic]
        assert channel["messages"], topic
        received = {op.split(".receive.")[0] for op in document["operations"] if op.endswith(f".receive.{topic}")}
        assert received == set(consumers), topic
    for topic, producers in topics.PRODUCERS.items():
        sent = {op.split(".send.")[0] for op in document["operations"] if op.endswith(f".send.{topic}")}
        assert sent == set(producers), topic
    payload = _resolve(document, document["components"]["messages"]["InvoiceRegistered"]["payload"]["$ref"])
    assert payload["properties"]["type"]["const"] == "invoice.registered.v1"
