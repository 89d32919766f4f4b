"""Every service's OpenAPI document is self-contained and declares its error answers in the one error shape,
and /docs works offline: Swagger UI's files come from the service itself (no lifespan needed: no I/O here)."""

import importlib
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from regua_contracts.asyncapi import refs
from regua_platform.service import create_app
from regua_platform.settings import Settings
from regua_platform.signing import new_key_pair

SERVICES = ["contact_history", "credit", "dispatch_email", "dispatch_phone", "dispatch_sms", "dispatch_whatsapp",
            "ingestion", "negotiation", "ruler"]
_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module", params=SERVICES)
def client(request: pytest.FixtureRequest) -> TestClient:
    spec = importlib.import_module(f"regua_{request.param}.app").SPEC
    return TestClient(create_app(spec, Settings(service_name=spec.name, signing_key=new_key_pair()[0])))


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()
            if method in _METHODS]


def test_every_reference_resolves_inside_the_document(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_every_operation_declares_its_errors_in_the_one_shape(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["errors"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, method, op in _operations(document):
        responses = op["responses"]
        for code in ("422", "503"):
            schema = responses[code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, method, code)
        if "{" in path:
            assert "404" in responses, (path, method)
        credentials = {p["name"].lower() for p in op.get("parameters", []) if p["in"] == "header"}
        if credentials & {"x-api-key", "x-admin-token", "x-staff-token"}:
            assert "401" in responses, (path, method)


def test_swagger_ui_loads_only_local_files(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text) + re.findall(r"url: '([^']+)'", page.text)
    assert urls
    for url in urls:
        assert url.startswith("/"), f"/docs loads {url} from outside the service"
        answer = client.get(url)
        assert answer.status_code == 200, url
    assert "cdn" not in page.text.lower()
    assert client.get("/redoc").status_code == 404  # ReDoc's page would load its script from a CDN


def test_the_invoice_api_declares_what_it_answers() -> None:
    spec = importlib.import_module("regua_ingestion.app").SPEC
    client = TestClient(create_app(spec, Settings(service_name=spec.name, signing_key=new_key_pair()[0])))
    paths = client.get("/openapi.json").json()["paths"]
    for path, method, code in [("/v1/invoices", "post", "201"), ("/v1/invoices", "post", "200"),
                               ("/v1/invoices", "get", "200"), ("/v1/invoices/{invoice_id}", "get", "200"),
                               ("/v1/invoices/{invoice_id}/payments", "post", "201"),
                               ("/v1/invoices/{invoice_id}/cancel", "post", "200")]:
        schema = paths[path][method]["responses"][code]["content"]["application/json"]["schema"]
        assert refs(schema), (path, method, code, schema)


# Success answers still without a declared schema (service, method, path): each one a debt to pay, not a choice.
_UNDECLARED_SUCCESS: set[tuple[str, str, str]] = set()


@pytest.mark.parametrize("service", SERVICES)
def test_every_success_answer_declares_a_named_schema(service: str) -> None:
    """A 2xx JSON answer points at a component schema (a model), not a bare object; 204, HTML and plain text
    answers carry no JSON. Exceptions are listed above, and an exception that got its schema must leave the list."""
    spec = importlib.import_module(f"regua_{service}.app").SPEC
    client = TestClient(create_app(spec, Settings(service_name=spec.name, signing_key=new_key_pair()[0])))
    undeclared = set()
    for path, method, op in _operations(client.get("/openapi.json").json()):
        for code, answer in op["responses"].items():
            content = answer.get("content", {})
            if not code.startswith("2") or code == "204" or ("application/json" not in content and content):
                continue
            if not refs(content.get("application/json", {}).get("schema", {})):
                undeclared.add((service, method, path))
    assert undeclared == {entry for entry in _UNDECLARED_SUCCESS if entry[0] == service}
