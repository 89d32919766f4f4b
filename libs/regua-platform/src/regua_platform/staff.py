"""Who operates the agency: staff members (agents, supervisors, admins) authenticated by a signed staff
token (header X-Staff-Token: HMAC with REGUA_STAFF_TOKEN_SECRET, carrying the staff id, role, the tenant it
may act for or ``*`` for the whole agency, and an expiry), as opposed to client companies' API keys.

Operator actions (answering disputes, call outcomes, accepting offers for a debtor) need a staff token
(``OperatorDep``); configuration (rulers, negotiation policies, templates) needs a supervisor's or admin's
token or an administration-scoped API key (``ConfigDep``). Either way the actor comes from the credential,
never from the body, and lands in the audit log (audit.py). Wrong credentials count against the client
IP's attempts (ratelimit.py): 429 with Retry-After past REGUA_AUTH_ATTEMPTS_PER_MINUTE.

    python -m regua_platform.staff issue --staff-id ana.souza --role agent --tenant acme [--hours 12]
"""

import argparse
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, get_args

from fastapi import Depends, Header, Request

from regua_platform import links
from regua_platform.http import ApiError
from regua_platform.ratelimit import count_failure, refuse_while_spent
from regua_platform.service import runtime_of
from regua_platform.tenants import Tenant, TenantDirectory, current_tenant

Role = Literal["agent", "supervisor", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
CONFIGURERS = frozenset({"supervisor", "admin"})
AGENCY_WIDE = "*"
HEADER = "X-Staff-Token"


@dataclass(frozen=True)
class StaffClaims:
    staff_id: str
    role: str
    tenant: str  # a tenant id, or AGENCY_WIDE


@dataclass(frozen=True)
class Actor:
    """Who performs an action, and for which tenant: what the audit log records."""

    id: str
    role: str
    tenant: Tenant


def issue(secret: str, staff_id: str, role: str, tenant: str, expires_at: datetime) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not 0 < len(staff_id) <= 64 or not tenant:
        raise ValueError("a staff id has 1 to 64 characters, and a token names a tenant (or *)")
    return links.sign("staff", {"s": staff_id, "r": role, "t": tenant}, secret, expires_at)


def verify(token: str, secret: str, now: datetime) -> StaffClaims:
    body = links.verify(token, secret, now, "staff")
    if body.get("exp") is None or body.get("r") not in ROLES or not body.get("s") or not body.get("t"):
        raise links.InvalidLink("not a staff token")
    return StaffClaims(str(body["s"]), str(body["r"]), str(body["t"]))


def _refuse(request: Request, status: int, field: str, reason: str) -> ApiError:
    count_failure(request)  # a wrong credential is a guess: it counts
    return ApiError(status, field, reason)


def require_admin_token(request: Request, token: str | None) -> None:
    """The agency's admin token (X-Admin-Token), compared in constant time; wrong guesses are limited."""
    refuse_while_spent(request, "X-Admin-Token")
    if not hmac.compare_digest((token or "").encode(), runtime_of(request).settings.admin_token.encode()):
        raise _refuse(request, 401, "X-Admin-Token", "missing or wrong admin token")


async def _staff_actor(request: Request, token: str, tenant_id: str | None) -> Actor:
    runtime = runtime_of(request)
    refuse_while_spent(request, HEADER)
    try:
        claims = verify(token, runtime.settings.staff_token_secret, datetime.now(UTC))
    except links.InvalidLink as exc:
        raise _refuse(request, 401, HEADER, f"invalid staff token: {exc}") from exc
    if claims.tenant != AGENCY_WIDE and tenant_id not in (None, claims.tenant):
        raise ApiError(403, "X-Tenant-Id", "this staff token does not act for that tenant")
    wanted = claims.tenant if claims.tenant != AGENCY_WIDE else tenant_id
    if wanted is None:
        raise ApiError(422, "X-Tenant-Id", "an agency-wide staff token must name the tenant it acts for")
    directory: TenantDirectory = runtime.extras["tenants"]
    tenant = await directory.by_id(wanted)
    if tenant is None:
        raise ApiError(404, "X-Tenant-Id", "no such tenant")
    return Actor(claims.staff_id, claims.role, tenant)


async def current_operator(request: Request, x_staff_token: Annotated[str | None, Header()] = None,
                           x_tenant_id: Annotated[str | None, Header()] = None,
                           x_api_key: Annotated[str | None, Header()] = None) -> Actor:
    if x_staff_token:
        return await _staff_actor(request, x_staff_token, x_tenant_id)
    if x_api_key:
        await current_tenant(request, x_api_key)  # 401 for an unknown key, 403 for a known one
        raise ApiError(403, HEADER, "an operator action: a staff token is required, an API key is not enough")
    raise ApiError(401, HEADER, "missing staff token")


async def current_configurer(request: Request, x_staff_token: Annotated[str | None, Header()] = None,
                             x_tenant_id: Annotated[str | None, Header()] = None,
                             x_api_key: Annotated[str | None, Header()] = None) -> Actor:
    if x_staff_token:
        actor = await _staff_actor(request, x_staff_token, x_tenant_id)
        if actor.role not in CONFIGURERS:
            raise ApiError(403, HEADER, "configuration needs a supervisor or admin")
        return actor
    tenant = await current_tenant(request, x_api_key)
    if tenant.scope != "administration":
        raise ApiError(403, "X-API-Key", "configuration needs an administration key; this key integrates")
    return Actor(f"api-key:{tenant.id}", "administration", tenant)


OperatorDep = Annotated[Actor, Depends(current_operator)]
ConfigDep = Annotated[Actor, Depends(current_configurer)]


def main(argv: list[str] | None = None) -> None:
    from regua_platform.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m regua_platform.staff")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("issue", help="print a staff token (X-Staff-Token)")
    cmd.add_argument("--staff-id", required=True)
    cmd.add_argument("--role", choices=ROLES, required=True)
    cmd.add_argument("--tenant", required=True, help=f"the tenant id it acts for, or {AGENCY_WIDE!r}")
    cmd.add_argument("--hours", type=float, default=None, help="lifetime (default REGUA_STAFF_TOKEN_HOURS)")
    args = parser.parse_args(argv)
    settings = Settings()
    expires = datetime.now(UTC) + timedelta(hours=args.hours or settings.staff_token_hours)
    print(issue(settings.staff_token_secret, args.staff_id, args.role, args.tenant, expires))


if __name__ == "__main__":
    main()
