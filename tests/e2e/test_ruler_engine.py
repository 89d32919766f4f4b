"""The ruler as a tenant uses it: rulers as versioned data, consolidation, calendar, disputes, variants."""

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from regua_localstack.portfolio import cpf
from tests.support.client import Platform, eventually

SP = ZoneInfo("America/Sao_Paulo")
RULER_V2 = """
name: default
segments:
  - name: big
    when: {min_amount_cents: 500000}
    steps:
      - {key: D+2, offset_days: 2, send: [email], template: notice, tone: informative}
  - name: rest
    steps:
      - {key: D+1, offset_days: 1, send: [email], template: notice, tone: informative}
      - {key: D+3, offset_days: 3, send: [email], template: negotiation, tone: cordial}
"""


def local(day: date, hour: int = 10, minute: int = 1) -> datetime:
    return datetime.combine(day, time(hour, minute), SP).astimezone(UTC)


def next_weekday(start: date, weekday: int) -> date:
    return start + timedelta(days=(weekday - start.weekday()) % 7 or 7)


def debtor(email: str, **extra: Any) -> dict[str, Any]:
    return {"document": cpf(random.Random(email)), "name": "Marcos Vieira", "email": email, **extra}


def ruler_api(platform: Platform, api_key: str) -> httpx.Client:
    return httpx.Client(base_url=platform.stack.url("ruler"), headers={"X-API-Key": api_key}, timeout=30)


def wait_case(platform: Platform, api_key: str, invoice_id: str) -> dict[str, Any]:
    with ruler_api(platform, api_key) as ruler:
        def fetch() -> dict[str, Any] | None:
            r = ruler.get(f"/v1/invoices/{invoice_id}/case")
            return r.json() if r.status_code == 200 else None
        case: dict[str, Any] = eventually(fetch, 30, what="the case to open")
        return case


def test_rulers_are_versioned_data_and_cases_keep_their_version(platform: Platform) -> None:
    _, key = platform.new_tenant("Loja Versão Ltda", "11222333000181")
    due = next_weekday(platform.now().date() + timedelta(days=3), 1)  # a Tuesday
    with platform.api(key) as api, ruler_api(platform, key) as ruler:
        first = api.post("/v1/invoices", json={"external_id": "V-1", "amount_cents": 10_000, "due_date": str(due),
                                               "debtor": debtor(f"v1.{uuid.uuid4().hex[:8]}@example.com")})
        assert wait_case(platform, key, first.json()["id"])["ruler_version"] == 1

        bad = ruler.put("/v1/rulers/default", content="name: default\nsegments: []\n",
                        headers={"content-type": "application/yaml"})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "segments"
        no_catch_all = RULER_V2.replace("  - name: rest\n", "  - name: rest\n    when: {max_amount_cents: 10}\n")
        r = ruler.put("/v1/rulers/default", content=no_catch_all)
        assert r.status_code == 422 and "last segment must have no conditions" in r.text
        r = ruler.put("/v1/rulers/default", content=RULER_V2, headers={"content-type": "application/yaml"})
        assert r.status_code == 201, r.text
        assert r.json() == {"name": "default", "version": 2}
        assert [v["version"] for v in ruler.get("/v1/rulers/default").json()["versions"]] == [1, 2]

        second = api.post("/v1/invoices", json={"external_id": "V-2", "amount_cents": 900_000,
                                                "due_date": str(due),
                                                "debtor": debtor(f"v2.{uuid.uuid4().hex[:8]}@example.com")})
        case2 = wait_case(platform, key, second.json()["id"])
        assert (case2["ruler_version"], case2["segment"]) == (2, "big")
        assert [s["step_key"] for s in case2["steps"]] == ["D+2"]
        assert wait_case(platform, key, first.json()["id"])["ruler_version"] == 1  # kept its version

        moved = ruler.post("/v1/rulers/default/migrate", json={})
        assert moved.status_code == 200 and moved.json()["cases_migrated"] >= 1
        case1 = wait_case(platform, key, first.json()["id"])
        assert (case1["ruler_version"], case1["segment"]) == (2, "rest")
        assert [s["step_key"] for s in case1["steps"] if s["status"] == "pending"] == ["D+1", "D+3"]


def test_several_invoices_of_one_debtor_on_one_day_get_one_message(platform: Platform) -> None:
    _, key = platform.new_tenant("Condomínio Jardim das Flores", "11444777000161")
    email = f"cons.{uuid.uuid4().hex[:8]}@example.com"
    due = platform.due_date_for((1,))
    with platform.api(key) as api:
        for n, amount in enumerate((12_000, 34_500, 7_990)):
            r = api.post("/v1/invoices", json={"external_id": f"C-{n}", "amount_cents": amount,
                                               "due_date": str(due), "debtor": debtor(email)})
            assert r.status_code == 201
            wait_case(platform, key, r.json()["id"])
    platform.set_clock(local(due + timedelta(days=1)))
    mail = eventually(lambda: platform.mail_to(email), 30, what="the D+1 e-mail")
    platform.wait_no_due_steps()
    mail = [m for m in platform.mail_to(email) if m["step"] == "D+1"]
    assert len(mail) == 1  # one consolidated message, not three
    body = mail[0]["body"]
    assert all(f"C-{n}" in body for n in range(3))
    assert "Total: R$ 544,90" in body


def test_a_step_on_a_sunday_waits_for_monday_and_rj_has_no_saturday(platform: Platform) -> None:
    _, key = platform.new_tenant("Auto Escola Rio", "11222333000181")
    sp_email, rj_email = (f"{uf}.{uuid.uuid4().hex[:8]}@example.com" for uf in ("sp", "rj"))
    friday = next_weekday(platform.now().date() + timedelta(days=2), 4)
    with platform.api(key) as api:
        for ext, email, state, due in (("S-1", sp_email, "SP", friday + timedelta(days=1)),  # D+1 on Sunday
                                       ("R-1", rj_email, "RJ", friday)):                      # D+1 on Saturday
            r = api.post("/v1/invoices", json={"external_id": ext, "amount_cents": 5_000, "due_date": str(due),
                                               "debtor": debtor(email, state=state)})
            wait_case(platform, key, r.json()["id"])
    saturday, sunday, monday = (friday + timedelta(days=n) for n in (1, 2, 3))
    for day in (saturday, sunday):
        platform.set_clock(local(day, 13, 0))
        platform.wait_no_due_steps()
    assert [m for m in platform.mail_to(sp_email) + platform.mail_to(rj_email) if m["step"] == "D+1"] == []
    platform.set_clock(local(monday, 8, 30))  # SP opens at 08:00, RJ at 09:00
    eventually(lambda: [m["step"] for m in platform.mail_to(sp_email)] == ["D+1"], 30, what="SP on Monday 08:00")
    platform.wait_no_due_steps()
    assert platform.mail_to(rj_email) == []
    platform.set_clock(local(monday, 9, 5))
    eventually(lambda: [m["step"] for m in platform.mail_to(rj_email)] == ["D+1"], 30, what="RJ on Monday 09:00")


def test_a_dispute_pauses_the_invoice_until_answered(platform: Platform) -> None:
    _, key = platform.new_tenant("Telefonia Fala Mais", "11444777000161")
    email = f"disp.{uuid.uuid4().hex[:8]}@example.com"
    due = platform.due_date_for((1, 5))
    with platform.api(key) as api, ruler_api(platform, key) as ruler:
        invoice_id = api.post("/v1/invoices", json={"external_id": "D-1", "amount_cents": 20_000,
                                                    "due_date": str(due), "debtor": debtor(email)}).json()["id"]
        wait_case(platform, key, invoice_id)
        r = ruler.post(f"/v1/invoices/{invoice_id}/disputes", json={"reason": "Não reconheço esta dívida"})
        assert r.status_code == 201
        platform.set_clock(local(due + timedelta(days=1)))  # D+1
        platform.wait_no_due_steps()
        assert platform.mail_to(email) == []
        assert wait_case(platform, key, invoice_id)["status"] == "paused"
        r = ruler.post(f"/v1/invoices/{invoice_id}/disputes/answer", json={"outcome": "rejected"},
                        headers=platform.operator(key))
        assert r.json()["status"] == "active"
    # Collection resumes: the next step goes out on its day.
    platform.set_clock(local(due + timedelta(days=5)))  # D+5 (SMS/WhatsApp/e-mail fallback)
    eventually(lambda: "D+5" in [m["step"] for m in platform.mail_to(email)], 30, what="D+5 after the dispute")


def test_champion_challenger_performance(platform: Platform) -> None:
    share = 0.5
    _, key = platform.new_tenant("Financeira Duas Vias", "11222333000181")
    due = next_weekday(platform.now().date() + timedelta(days=2), 1)
    with ruler_api(platform, key) as ruler:
        ruler.get("/v1/rulers/default")  # the default becomes version 1
        challenger = RULER_V2.replace(
            "  - name: rest\n", f"  - name: rest\n    challenger: {{version: 1, share: {share}}}\n")
        assert ruler.put("/v1/rulers/default", content=challenger).status_code == 201
    ids = []
    with platform.api(key) as api:
        batch = [{"external_id": f"CC-{n}", "amount_cents": 10_000, "due_date": str(due),
                  "debtor": debtor(f"cc{n}.{uuid.uuid4().hex[:6]}@example.com")} for n in range(60)]
        ids = [i["id"] for i in api.post("/v1/invoices", json={"invoices": batch}).json()["invoices"]]
        variants = {i: wait_case(platform, key, i)["variant"] for i in ids}
        for invoice_id in ids[:20]:
            api.post(f"/v1/invoices/{invoice_id}/payments", json={"amount_cents": 10_000})
    assert set(variants.values()) == {"champion", "challenger"}
    with ruler_api(platform, key) as ruler:
        def perf() -> list[dict[str, Any]] | None:
            body = ruler.get("/v1/rulers/default/performance").json()["variants"]
            return body if sum(v["payments"] for v in body) == 20 else None
        result = eventually(perf, 30, what="payments to reach the ruler")
    by_variant = {v["variant"]: v for v in result}
    for name in ("champion", "challenger"):
        paid = [i for i in ids[:20] if variants[i] == name]
        assert by_variant[name]["cases"] == sum(1 for v in variants.values() if v == name)
        assert by_variant[name]["payments"] == len(paid)
        assert by_variant[name]["recovered_cents"] == 10_000 * len(paid)
