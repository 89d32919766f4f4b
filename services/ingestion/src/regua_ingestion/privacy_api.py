"""Operator endpoints of data-subject requests (LGPD art. 18), behind the admin token. Every call is recorded
in privacy_access_log with the operator named in ``X-Actor``. Thin: parse, call a handler, map errors."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from regua_contracts.common import UF, Document, Email, IbgeCode, Phone, Postcode
from regua_contracts.privacy import PERSON_DATA_HOLDERS
from regua_ingestion import privacy_handlers, privacy_store
from regua_ingestion.api import keyring_of_request
from regua_ingestion.privacy_handlers import UnknownPerson
from regua_ingestion.schemas import ContactCorrected, ExportRequested, PersonErased, PersonExport
from regua_platform.http import ApiError, answers
from regua_platform.service import runtime_of

router = APIRouter(prefix="/admin/privacy", tags=["privacy"])
AdminToken = Annotated[str | None, Header()]
Actor = Annotated[str, Header(min_length=2, max_length=200, description="who makes the request (audit log)")]


class PersonIn(BaseModel):
    document: Document


class CorrectionIn(PersonIn):
    email: Email | None = None
    phone: Phone | None = None
    state: UF | None = None
    postcode: Postcode | None = None
    city_ibge: IbgeCode | None = None


def _admin(request: Request, token: str | None) -> None:
    if token != runtime_of(request).settings.admin_token:
        raise ApiError(401, "X-Admin-Token", "missing or wrong admin token")


def _unknown() -> ApiError:
    return ApiError(404, "document", "no data is held about this document")


@router.post("/exports", status_code=202, response_model=None, responses=answers(ExportRequested, 202))
async def request_export(request: Request, person: PersonIn, x_actor: Actor,
                         x_admin_token: AdminToken = None) -> dict[str, Any]:
    """Asks every service for what it holds about the person; download it from ``GET .../exports/{id}``."""
    _admin(request, x_admin_token)
    async with runtime_of(request).pool.acquire() as conn, conn.transaction():
        try:
            request_id = await privacy_handlers.request_export(conn, keyring_of_request(request), x_actor,
                                                               person.document)
        except UnknownPerson:  # answered after the commit: the look-up stays in the access log
            request_id = None
    if request_id is None:
        raise _unknown()
    return {"request_id": str(request_id), "status": "pending", "services": list(PERSON_DATA_HOLDERS)}


@router.get("/exports/{request_id}", response_model=None, responses=answers(PersonExport))
async def download_export(request: Request, request_id: UUID, x_actor: Actor,
                          x_admin_token: AdminToken = None) -> JSONResponse:
    """Everything held about the person, by service and table; ``complete`` once every service answered."""
    _admin(request, x_admin_token)
    async with runtime_of(request).pool.acquire() as conn, conn.transaction():
        export = await privacy_store.export_of(conn, keyring_of_request(request), request_id)
        if export is None:
            raise ApiError(404, "request_id", "no such export request")
        missing = [s for s in PERSON_DATA_HOLDERS if s not in export["services"]]
        await privacy_store.log_access(conn, x_actor, "export-downloaded", UUID(export["person_id"]), request_id,
                                       complete=not missing)
    return JSONResponse({"request_id": str(request_id), "complete": not missing, "missing": missing, **export},
                        headers={"Content-Disposition": f'attachment; filename="person-data-{request_id}.json"'})


@router.post("/corrections", response_model=None, responses=answers(ContactCorrected))
async def correct_contact(request: Request, correction: CorrectionIn, x_actor: Actor,
                          x_admin_token: AdminToken = None) -> dict[str, Any]:
    """Replaces the person's e-mail, phone or address fields in every service holding them."""
    _admin(request, x_admin_token)
    changes = correction.model_dump(exclude={"document"}, exclude_none=True)
    if not changes:
        raise ApiError(422, "(body)", "nothing to correct: give email, phone, state, postcode or city_ibge")
    async with runtime_of(request).pool.acquire() as conn, conn.transaction():
        try:
            request_id, invoices = await privacy_handlers.correct_contact(
                conn, keyring_of_request(request), x_actor, correction.document, changes)
        except UnknownPerson:
            request_id, invoices = None, 0
    if request_id is None:
        raise _unknown()
    return {"request_id": str(request_id), "corrected": sorted(changes), "invoices": invoices}


@router.post("/erasures", response_model=None, responses=answers(PersonErased))
async def request_erasure(request: Request, person: PersonIn, x_actor: Actor,
                          x_admin_token: AdminToken = None) -> JSONResponse:
    """Erases the person in every service when no legal basis remains; 409 with the reason otherwise."""
    _admin(request, x_admin_token)
    runtime = runtime_of(request)
    async with runtime.pool.acquire() as conn, conn.transaction():
        try:
            request_id, refusal = await privacy_handlers.request_erasure(
                conn, keyring_of_request(request), x_actor, person.document, runtime.settings.privacy_retention_days)
        except UnknownPerson:
            request_id, refusal = None, None
    if request_id is None:
        raise _unknown()
    if refusal:
        return JSONResponse({"request_id": str(request_id), "status": "refused",
                             "errors": [{"field": "document", "reason": refusal}]}, status_code=409)
    return JSONResponse({"request_id": str(request_id), "status": "erased"})
