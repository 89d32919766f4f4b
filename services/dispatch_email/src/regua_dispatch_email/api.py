"""The unsubscribe link of every e-mail. GET shows a confirmation (mail scanners prefetch links);
POST records the opt-out (also RFC 8058 one-click from the mail client)."""

import uuid
from datetime import UTC, datetime
from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from regua_dispatch_email.handlers import opt_out
from regua_platform import links
from regua_platform.service import runtime_of

router = APIRouter(tags=["unsubscribe"])

_PAGE = """<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}}
button{{font-size:1rem;padding:.6rem 1.2rem}}</style></head><body><h1>{title}</h1>{body}</body></html>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=escape(title), body=body), status_code=status)


_INVALID_LINK: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid or expired link (a page)", "content": {"text/html": {"schema": {"type": "string"}}}}}


def _verify(request: Request, token: str) -> dict[str, str] | HTMLResponse:
    try:
        return links.verify(token, runtime_of(request).settings.link_secret, datetime.now(UTC), links.UNSUBSCRIBE)
    except links.InvalidLink as exc:
        return _page("Link inválido", f"<p>Não foi possível validar este link: {escape(str(exc))}.</p>", 400)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, responses=_INVALID_LINK)
async def confirm_page(request: Request, token: str) -> HTMLResponse:
    claims = _verify(request, token)
    if isinstance(claims, HTMLResponse):
        return claims
    return _page("Cancelar e-mails de cobrança",
                 "<p>Confirme para não receber mais e-mails sobre esta cobrança. "
                 "Outros canais de contato podem continuar.</p>"
                 f'<form method="post" action="/unsubscribe/{escape(token)}"><button>Confirmar</button></form>')


@router.post("/unsubscribe/{token}", response_class=HTMLResponse, responses=_INVALID_LINK)
async def unsubscribe(request: Request, token: str) -> HTMLResponse:
    claims = _verify(request, token)
    if isinstance(claims, HTMLResponse):
        return claims
    runtime = runtime_of(request)
    await opt_out(runtime.pool, runtime.extras["clock"], claims["t"], uuid.UUID(claims["d"]), "unsubscribe-link")
    return _page("Pronto", "<p>Você não receberá mais e-mails de cobrança sobre este débito.</p>")
