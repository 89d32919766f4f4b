"""The first end-to-end collection loop: invoice -> ruler e-mails on time -> payment -> thank-you -> silence."""

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from regua_localstack.portfolio import cpf
from tests.support.client import Platform, eventually

SP = ZoneInfo("America/Sao_Paulo")


def step_time(due: date, offset_days: int) -> datetime:
    """Just after the ruler's send hour (10:00 São Paulo) on the step's day."""
    return datetime.combine(due + timedelta(days=offset_days), time(10, 1), SP).astimezone(UTC)


def test_reminders_and_notice_then_payment_stops_everything(platform: Platform) -> None:
    _, api_key = platform.new_tenant("Ótica Visão Clara Ltda", "11222333000181")
    email = f"ana.{uuid.uuid4().hex[:10]}@example.com"
    due = platform.due_date_for((-5, -1, 1), after_days=8)
    document = cpf(random.Random(7))
    with platform.api(api_key) as api:
        r = api.post("/v1/invoices", json={
            "external_id": "NF-1001", "amount_cents": 150_000, "due_date": due.isoformat(),
            "debtor": {"document": document, "name": "Ana Beatriz Souza", "email": email,
                       "phone": "+55 11 98765-4321", "state": "SP"},
        })
        assert r.status_code == 201, r.text
        invoice_id = r.json()["id"]

        expected: list[str] = []
        for offset, key in ((-5, "D-5"), (-1, "D-1"), (1, "D+1")):
            platform.set_clock(step_time(due, offset))
            expected.append(key)
            eventually(lambda: [m["step"] for m in platform.mail_to(email)] == expected, 30,
                       what=f"e-mails {expected}")

        d_plus_1 = platform.mail_to(email)[-1]
        assert d_plus_1["subject"] == "Ótica Visão Clara Ltda: você recebeu o seu boleto?"
        assert d_plus_1["body"].startswith("Olá, Ana,")
        assert "Ótica Visão Clara Ltda" in d_plus_1["body"]
        assert "11.222.333/0001-81" in d_plus_1["body"]  # creditor identified (CDC art. 42-A)
        assert "R$ 1.500,00" in d_plus_1["body"]
        assert due.strftime("%d/%m/%Y") in d_plus_1["body"]
        assert "/unsubscribe/" in d_plus_1["body"]

        r = api.post(f"/v1/invoices/{invoice_id}/payments", json={"amount_cents": 150_000})
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "paid"

    eventually(lambda: [m["step"] for m in platform.mail_to(email)] == [*expected, "thank-you"], 30,
               what="the thank-you e-mail")
    assert "Recebemos o pagamento" in platform.mail_to(email)[-1]["body"]

    # Every later step of the ruler (D+5 ... D+30) was cancelled: nothing more is ever sent.
    platform.set_clock(step_time(due, 45))
    platform.wait_no_due_steps()
    steps = [m["step"] for m in platform.mail_to(email)]
    assert steps == ["D-5", "D-1", "D+1", "thank-you"]

    # The debtor's personal data went through every service, and none of it is in their logs (LGPD).
    logs = "".join(p.read_text() for p in (platform.stack.workdir / "logs").glob("*.log"))
    assert "service started" in logs
    for pii in (email, document, "98765-4321", "5511987654321"):
        assert pii not in logs
