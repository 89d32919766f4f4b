"""Bad input gets a clear error naming the field and the reason, over HTTP and over Kafka (dead letters)."""

import json
import uuid
from typing import Any

import httpx
import pytest

from regua_contracts import topics
from regua_localstack.topics import produce, read_topic
from tests.support.client import Platform, eventually

VALID_CPF = "529.982.247-25"


def invoice(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": f"NF-{uuid.uuid4().hex[:8]}", "amount_cents": 12_345, "due_date": "2027-04-10",
        "debtor": {"document": VALID_CPF, "name": "Carlos Pereira", "email": "carlos@example.com"},
    }
    for key, value in overrides.items():
        if key.startswith("debtor_"):
            body["debtor"][key.removeprefix("debtor_")] = value
        else:
            body[key] = value
    return body


@pytest.fixture(scope="module")
def api_key(platform: Platform) -> str:
    return platform.new_tenant("Academia Corpo Livre", "11444777000161")[1]


@pytest.mark.parametrize(("overrides", "field", "reason"), [
    ({"debtor_document": "529.982.247-26"}, "debtor.document", "invalid CPF check digits"),
    ({"debtor_document": "111.111.111-11"}, "debtor.document", "invalid CPF check digits"),
    ({"debtor_document": "11.222.333/0001-82"}, "debtor.document", "invalid CNPJ check digits"),
    ({"debtor_document": "1234"}, "debtor.document", "must be a CPF (11 digits) or a CNPJ (14 characters)"),
    ({"amount_cents": 0}, "amount_cents", "must be greater than 0"),
    ({"amount_cents": -500}, "amount_cents", "must be greater than 0"),
    ({"amount_cents": 123.45}, "amount_cents", "must be an integer"),
    ({"amount_cents": "12345"}, "amount_cents", "must be an integer"),
    ({"due_date": "10/04/2027"}, "due_date", "must be an ISO date (YYYY-MM-DD)"),
    ({"due_date": "2027-02-30"}, "due_date", "must be an ISO date (YYYY-MM-DD)"),
    ({"debtor_email": None}, "debtor", "at least one contact channel (email or phone) is required"),
    ({"debtor_email": "carlos@"}, "debtor.email", "not a valid e-mail address"),
    ({"debtor_phone": "12345"}, "debtor.phone", "must be a Brazilian phone with area code, e.g. +55 11 98765-4321"),
    ({"debtor_state": "XX"}, "debtor.state", "must be a Brazilian state abbreviation (UF), e.g. SP"),
    ({"external_id": ""}, "external_id", "String should have at least 1 character"),
    ({"color": "blue"}, "color", "is not a known field"),
])
def test_each_rule_has_a_clear_error(platform: Platform, api_key: str, overrides: dict[str, Any], field: str,
                                     reason: str) -> None:
    with platform.api(api_key) as api:
        r = api.post("/v1/invoices", json=invoice(**overrides))
    assert r.status_code == 422
    assert r.json() == {"errors": [{"field": field, "reason": reason}]}


def test_missing_fields_are_named(platform: Platform, api_key: str) -> None:
    with platform.api(api_key) as api:
        r = api.post("/v1/invoices", json={"external_id": "X-1", "debtor": {"document": VALID_CPF, "name": "Ana",
                                                                          "phone": "11987654321"}})
    assert r.status_code == 422
    assert r.json() == {"errors": [{"field": "amount_cents", "reason": "is required"},
                                   {"field": "due_date", "reason": "is required"}]}


def test_a_batch_is_all_or_nothing_and_errors_carry_the_index(platform: Platform, api_key: str) -> None:
    good, bad = invoice(), invoice(amount_cents=0)
    with platform.api(api_key) as api:
        r = api.post("/v1/invoices", json={"invoices": [good, bad]})
        assert r.status_code == 422
        assert r.json() == {"errors": [{"field": "invoices.1.amount_cents", "reason": "must be greater than 0"}]}
        listed = api.get("/v1/invoices", params={"external_id": good["external_id"]}).json()
    assert listed["invoices"] == []  # the valid one was not registered either


def test_malformed_json_and_missing_key(platform: Platform, api_key: str) -> None:
    with platform.api(api_key) as api:
        r = api.post("/v1/invoices", content=b'{"external_id": ', headers={"content-type": "application/json"})
        assert r.status_code == 400
        assert r.json()["errors"][0]["field"] == "(body)"
        assert r.json()["errors"][0]["reason"].startswith("invalid JSON")
    with platform.api("rk_not-a-real-key") as api:
        r = api.post("/v1/invoices", json=invoice())
    assert r.status_code == 401
    assert r.json() == {"errors": [{"field": "X-API-Key", "reason": "missing or unknown API key"}]}


def test_idempotency_key_replays_the_first_response(platform: Platform, api_key: str) -> None:
    body = invoice()
    key = str(uuid.uuid4())
    with platform.api(api_key) as api:
        first = api.post("/v1/invoices", json=body, headers={"Idempotency-Key": key})
        again = api.post("/v1/invoices", json=body, headers={"Idempotency-Key": key})
        other = api.post("/v1/invoices", json=invoice(), headers={"Idempotency-Key": key})
        listed = api.get("/v1/invoices", params={"external_id": body["external_id"]}).json()["invoices"]
    assert first.status_code == 201
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert other.status_code == 422
    assert other.json() == {"errors": [{"field": "Idempotency-Key", "reason": "already used with a different request"}]}
    assert len(listed) == 1


async def test_malformed_events_go_to_the_dead_letter_topic_and_consumption_goes_on(
    platform: Platform, api_key: str
) -> None:
    bootstrap = platform.stack.bootstrap
    assert bootstrap
    marker = uuid.uuid4().hex[:8]
    good = invoice(external_id=f"K-{marker}-ok")
    bad_cpf = invoice(external_id=f"K-{marker}-cpf", debtor_document="529.982.247-26")
    auth = {"x-api-key": api_key}
    await produce(bootstrap, topics.CLIENT_COMMANDS, [
        (b"k1", b"{not json", {**auth, "x-test": marker}),
        (b"k2", json.dumps({"type": "invoice.register.v1", "invoice": bad_cpf}).encode(), {**auth, "x-test": marker}),
        (b"k3", json.dumps({"type": "invoice.register.v1", "invoice": invoice()}).encode(),
         {"x-api-key": "rk_wrong", "x-test": marker}),
        (b"k4", json.dumps({"type": "invoice.register.v1", "invoice": good}).encode(), {**auth, "x-test": marker}),
    ])

    async def dead_letters() -> list[dict[str, Any]]:
        records = await read_topic(bootstrap, topics.dead_letter(topics.CLIENT_COMMANDS))
        return [r for r in records if r["headers"].get("x-test") == marker]

    with platform.api(api_key) as api:
        registered = eventually(lambda: api.get("/v1/invoices", params={"external_id": good["external_id"]})
                                .json()["invoices"], 30, what="the valid command to be ingested")
    assert registered[0]["amount_cents"] == good["amount_cents"]

    letters = await dead_letters()
    reasons = {r["key"]: r["headers"]["x-dlq-reason"] for r in letters}
    assert set(reasons) == {b"k1", b"k2", b"k3"}
    assert reasons[b"k1"].startswith("(body): Invalid JSON")
    assert reasons[b"k2"] == "invoice.debtor.document: invalid CPF check digits"
    assert reasons[b"k3"] == "x-api-key: missing or unknown API key"
    assert next(r for r in letters if r["key"] == b"k1")["value"] == b"{not json"  # original bytes kept
    # The client's API key never travels into a dead letter (operators read and replay them); other headers do.
    assert all("x-api-key" not in r["headers"] and r["headers"]["x-test"] == marker for r in letters)


def test_nul_characters_are_a_field_error_not_a_server_error(platform: Platform, api_key: str) -> None:
    """PostgreSQL cannot store NUL in text: every service answers 422 naming the field, before any handler."""
    with platform.api(api_key) as api:
        r = api.post("/v1/invoices", json=invoice(debtor_name="Carlos\u0000Pereira"))
        assert (r.status_code, r.json()) == (422, {"errors": [
            {"field": "debtor.name", "reason": "must not contain NUL characters (\\u0000)"}]})
        r = api.post("/v1/invoices", json={"invoices": [invoice(), invoice(description="a\u0000")]})
        assert r.json()["errors"][0]["field"] == "invoices.1.description"
        assert api.get("/v1/invoices", params={"external_id": "X\u0000"}).json()["errors"][0]["field"] == "external_id"
    for service in ("ruler", "negotiation", "dispatch-phone", "contact-history"):
        r = httpx.get(f"{platform.stack.url(service)}/v1/rulers/def%00ault", headers={"X-API-Key": api_key})
        assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "(path)"), service


def test_every_error_has_one_shape(platform: Platform, api_key: str) -> None:
    with platform.api(api_key) as api:
        invoice_id = api.post("/v1/invoices", json=invoice()).json()["id"]
        # A body that is not UTF-8, and truncated JSON, on a route whose body FastAPI parses.
        r = api.post(f"/v1/invoices/{invoice_id}/payments", content=b'{"amount_cents": "\xff\xfe"}',
                     headers={"content-type": "application/json"})
        assert r.status_code in (400, 422) and set(r.json()) == {"errors"}, r.text
        r = api.post(f"/v1/invoices/{invoice_id}/payments", content=b'{"amount_cents": 1',
                     headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "(body)", r.text
        assert r.json()["errors"][0]["reason"].startswith("invalid JSON")
        r = api.get("/v1/no-such-route")
        assert (r.status_code, set(r.json())) == (404, {"errors"})
        r = api.post("/v1/invoices", json={"invoices": []})
        assert (r.status_code, r.json()) == (422, {"errors": [{"field": "invoices",
                                                                "reason": "must hold at least one invoice"}]})


def test_oversized_requests_are_refused_early(platform: Platform, api_key: str) -> None:
    many = [invoice(amount_cents=0) for _ in range(1_001)]  # invalid too: counted before any validation
    with platform.api(api_key) as api:
        r = api.post("/v1/invoices", json={"invoices": many})
        assert (r.status_code, r.json()["errors"][0]["field"]) == (413, "invoices")
        huge = b'{"invoices": [' + b" " * 4_100_000 + b"]}"
        r = api.post("/v1/invoices", content=huge, headers={"content-type": "application/json"})
        assert r.status_code == 413 and "REGUA_HTTP_MAX_BODY_BYTES" in r.json()["errors"][0]["reason"]
        # A large invalid batch within the limits answers a bounded list of errors, fast.
        r = api.post("/v1/invoices", json={"invoices": [invoice(amount_cents=0, due_date="x") for _ in range(1_000)]})
        assert r.status_code == 422 and len(r.json()["errors"]) == 100
        assert r.json()["errors"][-1]["reason"].endswith("more errors not shown")
