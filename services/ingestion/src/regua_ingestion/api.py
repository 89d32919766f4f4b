"""HTTP API for client companies. Thin: authenticate, parse, call a handler in a transaction, map errors."""

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from regua_contracts.common import Cents, NewInvoice
from regua_contracts.documents import is_valid_cnpj, normalize_document
from regua_ingestion import handlers, store
from regua_ingestion.domain import InvoiceNotOpen, PaymentExceedsBalance
from regua_ingestion.schemas import RegisteredTenant, TenantKey
from regua_ingestion.tenants import create_tenant, rotate_api_key
from regua_platform import audit
from regua_platform.http import ApiError, answers, errors
from regua_platform.pii import Keyring
from regua_platform.privacy import keyring_of
from regua_platform.service import runtime_of
from regua_platform.staff import require_admin_token
from regua_platform.tenants import Scope, Tenant, TenantDep

router = APIRouter()
MAX_BATCH = 1000


class InvoiceBatch(BaseModel):
    invoices: Annotated[list[NewInvoice], Field(min_length=1, max_length=MAX_BATCH)]


class PaymentIn(BaseModel):
    amount_cents: Cents
    paid_at: datetime | None = Field(default=None, description="defaults to now")


class CancelIn(BaseModel):
    reason: Annotated[str, Field(max_length=200)] = ""


class TenantIn(BaseModel):
    name: Annotated[str, Field(min_length=2, max_length=200)]
    cnpj: str
    address: Annotated[str, Field(min_length=5, max_length=300)]
    #: integration (default): the client's systems; administration: also its rulers and policies.
    scope: Scope = "integration"


class InvoiceView(BaseModel):
    """An invoice as the API answers it (store.invoice_view); ``debtor`` is null once the person was erased."""

    id: UUID
    external_id: str
    status: Literal["open", "paid", "cancelled"]
    amount_cents: int
    paid_cents: int
    outstanding_cents: int
    due_date: date
    debtor_id: UUID
    debtor: dict[str, Any] | None
    description: str | None
    tags: list[str]
    created_at: datetime
    payments: list[dict[str, Any]]


class RegisteredInvoice(InvoiceView):
    created: bool = Field(description="false when the external id was already registered (nothing changed)")


class RegisteredBatch(BaseModel):
    invoices: list[RegisteredInvoice]


class InvoicePage(BaseModel):
    invoices: list[InvoiceView]
    next: UUID | None = Field(description="pass as `after` for the next page; null on the last one")


IdempotencyKey = Annotated[str | None, Header(max_length=200)]


def keyring_of_request(request: Request) -> Keyring:
    runtime = runtime_of(request)
    return keyring_of(runtime.extras, runtime.settings)


async def _in_transaction(
    request: Request, tenant: Tenant, idempotency_key: str | None,
    work: Callable[[asyncpg.Connection], Awaitable[tuple[int, Any]]],
) -> JSONResponse:
    """Runs ``work`` in one transaction; with an Idempotency-Key, a replay returns the first response."""
    body = await request.body()
    fingerprint = hashlib.sha256(request.method.encode() + request.url.path.encode() + body).digest()
    keyring = keyring_of_request(request)
    async with runtime_of(request).pool.acquire() as conn, conn.transaction():
        if idempotency_key:
            previous = await store.claim_idempotency_key(conn, keyring, tenant.id, idempotency_key, fingerprint)
            if previous is not None:
                if previous[0] != fingerprint:
                    raise ApiError(422, "Idempotency-Key", "already used with a different request")
                return JSONResponse(previous[2], status_code=previous[1], headers={"Idempotent-Replayed": "true"})
        status, payload = await work(conn)
        if idempotency_key:
            await store.store_idempotent_response(conn, keyring, tenant.id, idempotency_key, status, payload)
    return JSONResponse(payload, status_code=status)


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except json.JSONDecodeError as exc:
        raise ApiError(400, "(body)", f"invalid JSON: {exc.msg} at position {exc.pos}") from exc
    except UnicodeDecodeError as exc:  # JSON is UTF-8 text
        raise ApiError(400, "(body)", f"not UTF-8 text at position {exc.start}") from exc


_ONE_OR_BATCH = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
    NewInvoice.model_json_schema(), InvoiceBatch.model_json_schema(),
]}}}}}


@router.post("/v1/invoices", status_code=201, tags=["invoices"], openapi_extra=_ONE_OR_BATCH,
             response_model=RegisteredInvoice | RegisteredBatch,
             responses={200: {"model": RegisteredInvoice | RegisteredBatch, "description": "All already registered"}})
async def register_invoices(
    request: Request, tenant: TenantDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Registers one invoice (the body is an invoice) or a batch (``{"invoices": [...]}``, all or nothing)."""
    body = await _json_body(request)
    batch = isinstance(body, dict) and "invoices" in body
    if batch and isinstance(body["invoices"], list):
        # Counted before validating: a huge batch is refused without building an error per item.
        if len(body["invoices"]) > MAX_BATCH:
            raise ApiError(413, "invoices", f"at most {MAX_BATCH} invoices per request")
        if not body["invoices"]:
            raise ApiError(422, "invoices", "must hold at least one invoice")
    raw = await request.body()
    try:  # validated from JSON text: dates must be ISO strings, amounts JSON integers
        invoices = InvoiceBatch.model_validate_json(raw).invoices if batch else [NewInvoice.model_validate_json(raw)]
    except ValidationError as exc:
        raise ApiError.invalid(exc) from exc

    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        keyring = keyring_of_request(request)
        results = await handlers.register_invoices(conn, keyring, tenant, invoices)
        views = [{**(await store.invoice_view(conn, keyring, tenant.id, r.invoice_id) or {}), "created": r.created}
                 for r in results]
        created_any = any(r.created for r in results)
        return (201 if created_any else 200), ({"invoices": views} if batch else views[0])

    return await _in_transaction(request, tenant, idempotency_key, work)


async def _load_for_update(conn: asyncpg.Connection, tenant: Tenant, invoice_id: UUID) -> Any:
    invoice = await store.load_invoice(conn, tenant.id, invoice_id=invoice_id, for_update=True)
    if invoice is None:  # another tenant's invoice looks exactly like a missing one
        raise ApiError(404, "invoice_id", "no such invoice")
    return invoice


@router.post("/v1/invoices/{invoice_id}/payments", status_code=201, tags=["invoices"], responses=errors(409),
             response_model=InvoiceView)
async def record_payment(request: Request, invoice_id: UUID, payment: PaymentIn, tenant: TenantDep,
                         idempotency_key: IdempotencyKey = None) -> JSONResponse:
    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        invoice = await _load_for_update(conn, tenant, invoice_id)
        try:
            await handlers.record_payment(conn, tenant, invoice, payment.amount_cents,
                                          payment.paid_at or datetime.now(UTC),
                                          idempotency_key or str(uuid.uuid4()))
        except InvoiceNotOpen as exc:
            raise ApiError(409, "status", str(exc)) from exc
        except PaymentExceedsBalance as exc:
            raise ApiError(422, "amount_cents", str(exc)) from exc
        return 201, await store.invoice_view(conn, keyring_of_request(request), tenant.id, invoice_id)

    return await _in_transaction(request, tenant, idempotency_key, work)


@router.post("/v1/invoices/{invoice_id}/cancel", tags=["invoices"], responses=errors(409), response_model=InvoiceView)
async def cancel_invoice(request: Request, invoice_id: UUID, tenant: TenantDep,
                         cancel: CancelIn | None = None, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        invoice = await _load_for_update(conn, tenant, invoice_id)
        try:
            await handlers.cancel_invoice(conn, tenant, invoice, (cancel or CancelIn()).reason)
        except InvoiceNotOpen as exc:
            raise ApiError(409, "status", str(exc)) from exc
        return 200, await store.invoice_view(conn, keyring_of_request(request), tenant.id, invoice_id)

    return await _in_transaction(request, tenant, idempotency_key, work)


@router.get("/v1/invoices", tags=["invoices"], response_model=None,
            responses={200: {"model": InvoicePage}})
async def list_invoices(
    request: Request, tenant: TenantDep, external_id: str | None = None,
    status: Annotated[str | None, Query(pattern="^(open|paid|cancelled)$")] = None,
    after: UUID | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The tenant's invoices, filtered; page with ``after`` = the ``next`` value of the previous page."""
    items = await store.list_invoices(runtime_of(request).pool, keyring_of_request(request), tenant.id,
                                      external_id=external_id, status=status, after=after, limit=limit)
    await audit.read(runtime_of(request).pool, audit.key_holder(tenant), "invoices",
                     ",".join(i["id"] for i in items) if external_id else f"{len(items)} invoices")
    return {"invoices": items, "next": items[-1]["id"] if len(items) == limit else None}


@router.get("/v1/invoices/{invoice_id}", tags=["invoices"], response_model=None,
            responses={200: {"model": InvoiceView}})
async def get_invoice(request: Request, invoice_id: UUID, tenant: TenantDep) -> dict[str, Any]:
    view = await store.invoice_view(runtime_of(request).pool, keyring_of_request(request), tenant.id, invoice_id)
    if view is None:
        raise ApiError(404, "invoice_id", "no such invoice")
    await audit.read(runtime_of(request).pool, audit.key_holder(tenant), "invoice", invoice_id)
    return view


@router.post("/admin/tenants", status_code=201, tags=["admin"], response_model=None,
             responses=answers(RegisteredTenant, 201))
async def add_tenant(request: Request, tenant_in: TenantIn,
                     x_admin_token: Annotated[str | None, Header()] = None) -> dict[str, str]:
    """Registers a client company and returns its API key (shown once; only a hash is stored)."""
    runtime = runtime_of(request)
    require_admin_token(request, x_admin_token)
    try:
        cnpj = normalize_document(tenant_in.cnpj)
        if not is_valid_cnpj(cnpj):
            raise ValueError("must be a CNPJ")
    except ValueError as exc:
        raise ApiError(422, "cnpj", str(exc)) from exc
    tenant, api_key = await create_tenant(runtime.pool, tenant_in.name, cnpj, tenant_in.address, tenant_in.scope)
    return {"tenant_id": tenant.id, "api_key": api_key, "scope": tenant.scope}


@router.post("/admin/tenants/{tenant_id}/api-key/rotate", tags=["admin"], response_model=None,
             responses=answers(TenantKey))
async def rotate_tenant_key(request: Request, tenant_id: Annotated[str, Path(max_length=64)],
                            x_admin_token: Annotated[str | None, Header()] = None) -> dict[str, str]:
    """Replaces a client company's API key (shown once); the old key stops working in every service."""
    runtime = runtime_of(request)
    require_admin_token(request, x_admin_token)
    api_key = await rotate_api_key(runtime.pool, tenant_id)
    if api_key is None:
        raise ApiError(404, "tenant_id", "no such tenant")
    runtime.extras["tenants"].forget()
    return {"tenant_id": tenant_id, "api_key": api_key}
