"""A small client for a running local platform, as a client company and an operator use it (demo, tests)."""

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from regua_compliance import is_no_contact_day
from regua_localstack.smtp_sink import read_mailbox
from regua_localstack.stack import ADMIN_TOKEN, STAFF_TOKEN_SECRET, LocalStack
from regua_platform import staff

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 30.0, interval: float = 0.2, what: str = "") -> T:
    """Polls until ``check`` returns something truthy; fails with the last value otherwise."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = check()
    assert value, f"timed out waiting for {what or check}: last value {value!r}"
    return value


class Platform:
    """HTTP access to the services of a LocalStack."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.admin = {"X-Admin-Token": ADMIN_TOKEN}
        self.tenant_of: dict[str, str] = {}  # API key -> tenant id, for staff acting for that tenant

    def new_tenant(self, name: str = "Loja Exemplo Ltda", cnpj: str = "11222333000181",
                   address: str = "Av. Paulista, 1000, São Paulo - SP", scope: str = "administration",
                   ) -> tuple[str, str]:
        """A client company and its API key: by default an administration key (it also edits its rulers and
        policies, as the demo's client does); ``scope="integration"`` for a key that only integrates."""
        r = httpx.post(f"{self.stack.url('ingestion')}/admin/tenants", headers=self.admin,
                       json={"name": name, "cnpj": cnpj, "address": address, "scope": scope})
        r.raise_for_status()
        body = r.json()
        self.tenant_of[body["api_key"]] = body["tenant_id"]
        self.wait_tenant_known("ruler", body["api_key"])
        return body["tenant_id"], body["api_key"]

    def wait_tenant_known(self, service: str, api_key: str) -> None:
        """Other services learn of a new tenant from its event; wait until ``service`` accepts the key."""
        probe = {"ruler": "/v1/rulers/default", "negotiation": "/v1/negotiation-policy"}.get(service, "/v1/ping")
        eventually(lambda: httpx.get(f"{self.stack.url(service)}{probe}", headers={"X-API-Key": api_key})
                   .status_code != 401, 20, 0.1, what=f"{service} to know the new tenant")

    def staff(self, tenant_id: str, staff_id: str = "ag-1", role: str = "agent") -> dict[str, str]:
        """Headers of a staff member acting for ``tenant_id`` (``*``: the whole agency, naming the tenant
        per request with X-Tenant-Id), as the console's login or `python -m regua_platform.staff` gives."""
        token = staff.issue(STAFF_TOKEN_SECRET, staff_id, role, tenant_id, datetime.now(UTC) + timedelta(hours=12))
        return {"X-Staff-Token": token}

    def operator(self, api_key: str, staff_id: str = "ag-1", role: str = "agent") -> dict[str, str]:
        """Headers of a staff member acting for the tenant of ``api_key`` (one made by ``new_tenant``)."""
        return self.staff(self.tenant_of[api_key], staff_id, role)

    def api(self, api_key: str) -> httpx.Client:
        return httpx.Client(base_url=self.stack.url("ingestion"), headers={"X-API-Key": api_key}, timeout=30)

    def clock(self) -> dict[str, Any]:
        r = httpx.get(f"{self.stack.url('ruler')}/admin/clock", headers=self.admin)
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body

    def now(self) -> datetime:
        return datetime.fromisoformat(self.clock()["now"])

    def set_clock(self, now: datetime) -> None:
        r = httpx.post(f"{self.stack.url('ruler')}/admin/clock", headers=self.admin, json={"now": now.isoformat()})
        r.raise_for_status()

    def stats(self) -> dict[str, dict[str, int]]:
        r = httpx.get(f"{self.stack.url('ruler')}/admin/stats", headers=self.admin)
        r.raise_for_status()
        body: dict[str, dict[str, int]] = r.json()
        return body

    def due_date_for(self, offsets: tuple[int, ...], after_days: int = 2, state: str | None = "SP") -> date:
        """A due date, at least ``after_days`` ahead of the ruler's clock, whose step days (due + offset)
        are all contact days (no Sunday, no holiday, no Saturday): tests then know when each step fires."""
        due = self.now().date() + timedelta(days=after_days)
        while any((d := due + timedelta(days=o)).weekday() == 5 or is_no_contact_day(d, state) for o in offsets):
            due += timedelta(days=1)
        return due

    def wait_no_due_steps(self, timeout: float = 60.0) -> None:
        eventually(lambda: self.clock()["due_steps"] == 0, timeout, what="the ruler to fire every due step")

    def mail(self) -> list[dict[str, Any]]:
        return read_mailbox(Path(self.stack.mailbox))

    def mail_to(self, address: str) -> list[dict[str, Any]]:
        return [m for m in self.mail() if address in m["to"]]
