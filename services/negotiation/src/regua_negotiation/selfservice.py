"""The debtor's self-service page: a signed, expiring link opens their open debts with this tenant, the
offers and their deadlines; they accept one and get each installment's PIX code (copy button, QR).
The link names one tenant and one debtor; every query below is scoped by both."""

from datetime import date
from typing import Any
from uuid import UUID

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from regua_negotiation import handlers, store, views
from regua_platform import links
from regua_platform.privacy import keyring_of
from regua_platform.ratelimit import over_limit, retry_after
from regua_platform.service import Runtime, runtime_of

router = APIRouter(include_in_schema=False)
_env = Environment(loader=PackageLoader("regua_negotiation", "templates"), autoescape=select_autoescape(["j2"]))


def brl(cents: int) -> str:
    reais, centavos = divmod(cents, 100)
    return f"R$ {reais:,}".replace(",", ".") + f",{centavos:02d}"


def br_date(value: str | date) -> str:
    d = date.fromisoformat(value) if isinstance(value, str) else value
    return d.strftime("%d/%m/%Y")


def cnpj(digits: str) -> str:
    if len(digits) != 14 or not digits.isdigit():
        return digits
    return f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}"


def qr_data_uri(payload: str) -> str:
    uri: str = segno.make(payload, error="m").svg_data_uri(scale=4)
    return uri


_env.filters.update(brl=brl, br_date=br_date, cnpj=cnpj, qr=qr_data_uri)


def _error(status: int, title: str, message: str) -> HTMLResponse:
    html = _env.get_template("error.html.j2").render(title=title, message=message)
    return HTMLResponse(html, status_code=status)


def _subject(runtime: Runtime, token: str) -> tuple[str, UUID] | HTMLResponse:
    """The tenant and debtor a link names, or the error page for a tampered, foreign or expired link."""
    _, now = views.today_and_now(runtime)
    try:
        body = links.verify(token, runtime.settings.link_secret, now, links.SELF_SERVICE)
        return str(body["t"]), UUID(str(body["d"]))
    except links.InvalidLink as exc:
        if "expired" in str(exc):
            return _error(410, "Link expirado",
                          "Este link expirou. Peça um novo link ao atendimento ou responda à nossa mensagem.")
        return _error(400, "Link inválido", "Este link não é válido. Confira se ele foi copiado por inteiro "
                      "ou peça um novo link ao atendimento.")
    except (KeyError, ValueError):
        return _error(400, "Link inválido", "Este link não é válido. Peça um novo link ao atendimento.")


@router.get("/p/{code}", response_class=HTMLResponse)
async def short(request: Request, code: str) -> Response:
    """A message's short link: on to the signed link it stands for, which the page verifies (and may find
    expired); an unknown code gets the same error page as a tampered link. Codes are short, so guessing is
    limited per client IP and per code (REGUA_AUTH_ATTEMPTS_PER_MINUTE): 429 with Retry-After past it."""
    if wait := over_limit(request, f"code:{code[:32]}"):
        page = _error(429, "Muitas tentativas", "Muitas tentativas seguidas. Aguarde um minuto e tente de novo.")
        page.headers.update(retry_after(wait))
        return page
    token = await store.short_link(runtime_of(request).pool, code) if len(code) <= 32 else None
    if token is None:
        return _error(400, "Link inválido", "Este link não é válido. Confira se ele foi copiado por inteiro "
                      "ou peça um novo link ao atendimento.")
    return RedirectResponse(f"/s/{token}", status_code=303)


@router.get("/s/{token}", response_class=HTMLResponse)
async def page(request: Request, token: str) -> Response:
    runtime = runtime_of(request)
    subject = _subject(runtime, token)
    if isinstance(subject, HTMLResponse):
        return subject
    tenant_id, debtor_id = subject
    today, now = views.today_and_now(runtime)
    context: dict[str, Any] = {"token": token, "today": today}
    async with runtime.pool.acquire() as conn, conn.transaction():
        debtor, creditor = await store.debtor_and_creditor(conn, keyring_of(runtime.extras, runtime.settings),
                                                           tenant_id, debtor_id)
        if not debtor:
            return _error(404, "Nada encontrado", "Não encontramos dívidas em aberto para este link.")
        _, policy, _ = await store.current_policy(conn, tenant_id)
        context["debts"] = views.debts_view(await store.open_debts(conn, tenant_id, debtor_id), today, policy)
        context["disputed"] = await store.disputed_of_debtor(conn, tenant_id, debtor_id)
        context["offers"] = [views.offer_view(r)
                             for r in await handlers.current_offers(conn, tenant_id, debtor_id, today, now)]
        context["agreements"] = [await views.agreement_view(conn, a)
                                 for a in await store.agreements_of(conn, tenant_id, debtor_id)
                                 if a["status"] == "active"]
    context.update(debtor_name=str(debtor.get("name", "")).split(" ")[0], creditor=creditor,
                   error=request.query_params.get("erro"))
    return HTMLResponse(_env.get_template("page.html.j2").render(context))


@router.post("/s/{token}/offers/{offer_id}/accept")
async def accept(request: Request, token: str, offer_id: UUID) -> Response:
    runtime = runtime_of(request)
    subject = _subject(runtime, token)
    if isinstance(subject, HTMLResponse):
        return subject
    tenant_id, debtor_id = subject
    today, now = views.today_and_now(runtime)
    async with runtime.pool.acquire() as conn, conn.transaction():
        tenant = await store.tenant(conn, tenant_id)
        if tenant is None:
            return _error(404, "Nada encontrado", "Não encontramos dívidas em aberto para este link.")
        try:
            await handlers.accept_offer(conn, tenant, offer_id, "self-service", today, now, debtor_id)
        except handlers.InvoiceDisputed:
            return RedirectResponse(f"/s/{token}?erro=contestacao", status_code=303)
        except handlers.OfferUnavailable:
            return RedirectResponse(f"/s/{token}?erro=proposta", status_code=303)
    return RedirectResponse(f"/s/{token}#acordo", status_code=303)
