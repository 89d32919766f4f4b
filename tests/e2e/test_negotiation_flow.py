"""Negotiation over real processes: invoice -> notice -> negotiation request -> offer -> acceptance ->
installments paid -> thank-you; and a broken agreement resumes the ruler."""

import uuid
from datetime import date

import brcode
from crccheck.crc import Crc16CcittFalse

from regua_contracts.contacts import DebtorReplied, NegotiationRequested
from tests.support.client import Platform, eventually
from tests.support.negotiation import (
    agreements,
    at,
    case_status,
    days,
    negotiation_api,
    new_tenant,
    offers,
    publish_contact_fact,
    register,
    set_clocks,
    wait_offers,
)


def test_offer_accepted_installments_paid_thank_you(platform: Platform) -> None:
    tenant_id, api_key = new_tenant(platform, "Ótica Visão Clara Ltda")
    email = f"neg.{uuid.uuid4().hex[:10]}@example.com"
    set_clocks(platform, platform.now())
    # D+1 on a contact day, and the due date itself a business day (one on a Sunday is payable on Monday without
    # fine, and the test needs a fine to waive), whatever day the clock is on.
    due = platform.due_date_for((0, 1), after_days=3)
    invoice = register(platform, api_key, email, due, 20_000)
    invoice_id, debtor_id = invoice["id"], invoice["debtor_id"]

    set_clocks(platform, at(due + days(1)))  # D+1: the ruler's notice
    eventually(lambda: "D+1" in [m["step"] for m in platform.mail_to(email)], 30, what="the D+1 notice")

    publish_contact_fact(platform, NegotiationRequested(occurred_at=platform.now(), tenant_id=tenant_id,
                                                        debtor_id=uuid.UUID(debtor_id), channel="whatsapp",
                                                        source="reply"))
    menu = wait_offers(platform, api_key, debtor_id)
    assert [(o["installments"], o["total_cents"]) for o in menu] == [(1, 20_000), (2, 20_000)]
    assert menu[0]["discount_cents"] == menu[0]["updated_debt_cents"] - 20_000 > 0  # fine and interest waived

    with negotiation_api(platform, api_key) as neg:
        r = neg.post(f"/v1/offers/{menu[1]['offer_id']}/accept", headers=platform.operator(api_key))
        assert r.status_code == 201, r.text
        agreement = r.json()
        superseded = neg.post(f"/v1/offers/{menu[0]['offer_id']}/accept", headers=platform.operator(api_key))
        assert superseded.status_code == 409
    assert [i["amount_cents"] for i in agreement["installments"]] == [10_000, 10_000]
    for inst in agreement["installments"]:
        payload = inst["pix_copia_e_cola"]
        parsed = brcode.QR(payload)
        assert parsed.TA_value == "100.00" and parsed.MAI_CHAVEPIX_value == "pix@otica.example"
        assert parsed.ADF_REF_value == inst["payment_reference"]
        assert parsed.CRC_value == f"{Crc16CcittFalse.calc(payload[:-4].encode()):04X}"
    eventually(lambda: case_status(platform, api_key, invoice_id) == ("paused", "agreement"), 30,
               what="the ruler to pause the case")

    with platform.api(api_key) as api:
        assert api.post(f"/v1/invoices/{invoice_id}/payments", json={"amount_cents": 10_000}).status_code == 201
        eventually(lambda: agreements(platform, api_key, debtor_id)[0]["installments"][0]["paid_cents"] == 10_000,
                   30, what="the first installment paid")
        assert agreements(platform, api_key, debtor_id)[0]["status"] == "active"
        assert api.post(f"/v1/invoices/{invoice_id}/payments", json={"amount_cents": 10_000}).status_code == 201
    eventually(lambda: agreements(platform, api_key, debtor_id)[0]["status"] == "settled", 30,
               what="the agreement settled")
    eventually(lambda: case_status(platform, api_key, invoice_id)[0] == "stopped", 30, what="the case stopped")
    eventually(lambda: "thank-you" in [m["step"] for m in platform.mail_to(email)], 30, what="the thank-you")
    assert offers(platform, api_key, debtor_id) == []  # nothing left to negotiate


def test_reply_code_agreement_broken_resumes_the_ruler(platform: Platform) -> None:
    tenant_id, api_key = new_tenant(platform, "Loja Acordo Quebrado Ltda")
    email = f"neg.{uuid.uuid4().hex[:10]}@example.com"
    set_clocks(platform, platform.now())
    # A business day: a due date on a weekend is payable on Monday without fine or interest, and the test
    # needs the fine and interest that a broken agreement brings back.
    due = platform.due_date_for((0, 1))
    invoice = register(platform, api_key, email, due, 30_000)
    invoice_id, debtor_id = invoice["id"], invoice["debtor_id"]
    set_clocks(platform, at(due + days(1)))
    wait_offers(platform, api_key, debtor_id)

    publish_contact_fact(platform, DebtorReplied(occurred_at=platform.now(), tenant_id=tenant_id,
                                                 debtor_id=uuid.UUID(debtor_id), channel="whatsapp",
                                                 text=" Acordo 2x ", received_at=platform.now()))
    made = eventually(lambda: agreements(platform, api_key, debtor_id), 30, what="the agreement by reply code")
    assert made[0]["accepted_via"] == "reply" and len(made[0]["installments"]) == 2
    eventually(lambda: case_status(platform, api_key, invoice_id) == ("paused", "agreement"), 30,
               what="the ruler to pause the case")

    first_due = made[0]["installments"][0]["due_date"]
    set_clocks(platform, at(date.fromisoformat(first_due) + days(3), 12))  # within the 3-day tolerance
    assert agreements(platform, api_key, debtor_id)[0]["status"] == "active"
    set_clocks(platform, at(date.fromisoformat(first_due) + days(4), 12))  # beyond it
    broken = eventually(lambda: [a for a in agreements(platform, api_key, debtor_id) if a["status"] == "broken"],
                        30, what="the agreement broken")
    assert "installment 1" in broken[0]["reason"] and broken[0]["balance_cents"] > 30_000  # discounts revoked
    eventually(lambda: case_status(platform, api_key, invoice_id)[0] == "active", 30,
               what="the ruler to resume the case")

