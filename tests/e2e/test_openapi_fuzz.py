"""schemathesis against every service's /openapi.json, with the credentials each route needs: no answer is a
server error, and every answer's status code, content type and body are the ones the document declares."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err

from regua_contact_history.schemas import ContactPage
from regua_credit.schemas import TenantPolicy
from regua_dispatch.api import TemplateList, TemplateView
from regua_ingestion.api import InvoicePage, InvoiceView, RegisteredBatch, RegisteredInvoice
from regua_ingestion.schemas import ContactCorrected, ExportRequested, PersonExport, RegisteredTenant, TenantKey
from regua_localstack.stack import SERVICES
from regua_negotiation.schemas import AgreementList, AgreementView, OfferMenu, PolicyView, SelfServiceLink
from regua_platform.tenants import TenantPing
from regua_ruler.schemas import CaseView, DisputeAnswered, DisputeOpened, RulerPerformance, RulerStats, RulerView
from tests.support.client import Platform, eventually
from tests.support.models import declared
from tests.support.negotiation import negotiation_api, new_tenant, register, wait_offers

#: Examples per operation: enough to reach each declared answer, small enough to keep the run near a minute.
EXAMPLES = 5
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Moving the shared simulated clock would move it for every later test of the session (it never goes back).
SKIPPED = {("POST", "/admin/clock")}


@pytest.fixture(scope="module")
def credentials(platform: Platform) -> dict[str, str]:
    tenant_id, api_key = platform.new_tenant("Fuzz Comércio Ltda", "11444777000161")
    return {"x-api-key": api_key, "x-admin-token": platform.admin["X-Admin-Token"],
            "x-staff-token": platform.staff(tenant_id, "sup.fuzz", "supervisor")["X-Staff-Token"]}


def _fuzz(operation: Any, mode: GenerationMode, base_url: str, credentials: dict[str, str]) -> None:
    @given(case=operation.as_strategy(mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        declared = {p.name.lower() for p in operation.headers}
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in credentials}
        headers |= {name: value for name, value in credentials.items() if name in declared}
        case.headers = headers
        case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=30)

    run()


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_no_server_error_and_every_answer_asdeclared(platform: Platform, credentials: dict[str, str],
                                                      service: str) -> None:
    base_url = platform.stack.url(service)
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"an operation schemathesis cannot read: {result.err()}")
            continue
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, base_url, credentials)
            except Unsatisfiable:  # nothing of this operation can be made invalid (no parameter, no body)
                assert mode is GenerationMode.NEGATIVE, operation.path
            except (AssertionError, FailureGroup) as exc:  # every failing operation is reported, not the first
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}")
    assert operations, f"{service} documents no operation"
    assert not failures, "\n\n".join(failures)


def test_an_invoice_body_that_is_not_utf8_is_refused_with_400(platform: Platform, credentials: dict[str, str]) -> None:
    """Found by the fuzzing above: it was a 500 (UnicodeDecodeError escaping the JSON parse)."""
    r = httpx.post(f"{platform.stack.url('ingestion')}/v1/invoices", content=b'{"a": "\xff\xfe"}',
                   headers={"X-API-Key": credentials["x-api-key"], "Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 400, r.text
    assert r.json() == {"errors": [{"field": "(body)", "reason": "not UTF-8 text at position 7"}]}


def test_invoice_answers_match_their_declared_models(platform: Platform, credentials: dict[str, str]) -> None:
    """The fuzzing rarely builds a valid invoice (CPF check digits): a real one's answers, model by model."""
    invoice = {"external_id": "NF-FUZZ-1", "amount_cents": 10_000, "due_date": "2027-04-10",
               "debtor": {"document": "529.982.247-25", "name": "Carlos Pereira", "email": "carlos@example.com"}}
    with platform.api(credentials["x-api-key"]) as api:
        created = api.post("/v1/invoices", json=invoice)
        assert created.status_code == 201, created.text
        registered = RegisteredInvoice.model_validate(created.json())
        again = api.post("/v1/invoices", json={"invoices": [invoice]})
        assert again.status_code == 200 and not RegisteredBatch.model_validate(again.json()).invoices[0].created
        paid = api.post(f"/v1/invoices/{registered.id}/payments", json={"amount_cents": 1_000})
        assert paid.status_code == 201 and InvoiceView.model_validate(paid.json()).paid_cents == 1_000
        cancelled = api.post(f"/v1/invoices/{registered.id}/cancel", json={"reason": "fuzz"})
        assert InvoiceView.model_validate(cancelled.json()).status == "cancelled"
        InvoiceView.model_validate(api.get(f"/v1/invoices/{registered.id}").json())
        page = InvoicePage.model_validate(api.get("/v1/invoices", params={"external_id": "NF-FUZZ-1"}).json())
        assert [i.id for i in page.invoices] == [registered.id]


def test_case_and_negotiation_answers_match_their_declared_models(platform: Platform) -> None:
    """Success answers the fuzzing cannot reach (they need a case, offers, an agreement), model by model."""
    _, key = new_tenant(platform, "Modelos Declarados Ltda")
    invoice = register(platform, key, f"models.{uuid.uuid4().hex[:8]}@example.com",
                       platform.now().date() - timedelta(days=10), 15_000)
    disputed = register(platform, key, f"disputed.{uuid.uuid4().hex[:8]}@example.com",
                        platform.now().date() - timedelta(days=10), 9_000)
    ruler = httpx.Client(base_url=platform.stack.url("ruler"), headers={"X-API-Key": key}, timeout=30)
    with ruler, negotiation_api(platform, key) as neg:
        case = eventually(lambda: (r := ruler.get(f"/v1/invoices/{invoice['id']}/case")).status_code == 200 and r, 30,
                          what="the case")
        assert declared(CaseView, case.json()).steps
        declared(RulerView, ruler.get("/v1/rulers/default").json())
        declared(RulerPerformance, ruler.get("/v1/rulers/default/performance").json())
        declared(RulerStats, ruler.get("/admin/stats", headers=platform.admin).json())
        eventually(lambda: ruler.get(f"/v1/invoices/{disputed['id']}/case").status_code == 200, 30, what="a case")
        opened = ruler.post(f"/v1/invoices/{disputed['id']}/disputes", json={"reason": "não reconheço"})
        assert opened.status_code == 201, opened.text
        declared(DisputeOpened, opened.json())
        answered = ruler.post(f"/v1/invoices/{disputed['id']}/disputes/answer", json={"outcome": "rejected"},
                              headers=platform.operator(key))
        declared(DisputeAnswered, answered.json())

        declared(PolicyView, neg.get("/v1/negotiation-policy").json())
        menu = wait_offers(platform, key, invoice["debtor_id"])
        declared(OfferMenu, neg.get(f"/v1/debtors/{invoice['debtor_id']}/offers").json())
        accepted = neg.post(f"/v1/offers/{menu[0]['offer_id']}/accept", headers=platform.operator(key))
        assert accepted.status_code == 201, accepted.text
        agreement = declared(AgreementView, accepted.json())
        declared(AgreementView, neg.get(f"/v1/agreements/{agreement.agreement_id}").json())
        declared(AgreementList, neg.get(f"/v1/debtors/{invoice['debtor_id']}/agreements").json())
        declared(SelfServiceLink, neg.post(f"/v1/debtors/{invoice['debtor_id']}/self-service-link").json())

    history = f"{platform.stack.url('contact-history')}/v1/debtors/{invoice['debtor_id']}/contacts"
    page = eventually(lambda: (r := httpx.get(history, headers={"X-API-Key": key})).status_code == 200 and r, 30,
                      what="contact history to know the debtor")
    declared(ContactPage, page.json())


def test_administration_template_and_privacy_answers_match_their_declared_models(platform: Platform) -> None:
    ingestion = httpx.Client(base_url=platform.stack.url("ingestion"), timeout=30,
                             headers={**platform.admin, "X-Actor": "dpo.models"})
    with ingestion:
        added = ingestion.post("/admin/tenants", json={"name": "Chaves Declaradas Ltda", "cnpj": "11222333000181",
                                                       "address": "Rua das Chaves, 1, São Paulo"})
        assert added.status_code == 201, added.text
        tenant = declared(RegisteredTenant, added.json())
        key = declared(TenantKey, ingestion.post(f"/admin/tenants/{tenant.tenant_id}/api-key/rotate").json()).api_key
        credit = f"{platform.stack.url('credit')}/admin/tenants/{tenant.tenant_id}/negotiation-policy"
        declared(TenantPolicy, httpx.get(credit, headers=platform.admin).json())
        declared(TenantPolicy, httpx.put(credit, json={}, headers=platform.admin).json())

        document = "111.444.777-35"
        registered = ingestion.post("/v1/invoices", headers={"X-API-Key": key}, json={
            "external_id": "NF-MODELS-1", "amount_cents": 5_000, "due_date": "2027-04-10",
            "debtor": {"document": document, "name": "Paula Lima", "email": "paula.models@example.com"}})
        assert registered.status_code == 201, registered.text
        asked = ingestion.post("/admin/privacy/exports", json={"document": document})
        assert asked.status_code == 202, asked.text
        export = declared(ExportRequested, asked.json())
        declared(PersonExport, ingestion.get(f"/admin/privacy/exports/{export.request_id}").json())
        declared(ContactCorrected, ingestion.post("/admin/privacy/corrections",
                                                   json={"document": document, "phone": "+5511987654321"}).json())

    platform.wait_tenant_known("dispatch-sms", key)
    sms = httpx.Client(base_url=platform.stack.url("dispatch-sms"), headers={"X-API-Key": key}, timeout=30)
    with sms:
        declared(TenantPing, sms.get("/v1/ping").json())
        declared(TemplateList, sms.get("/v1/templates").json())
        declared(TemplateView, sms.get("/v1/templates/notice").json())
