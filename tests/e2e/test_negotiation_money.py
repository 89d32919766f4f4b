"""Money stated exactly and disputes, over real processes: a policy above the legal ceilings or with a PIX key
outside the DICT formats is refused; the self-service page states unequal installments exactly; a disputed
invoice leaves the offers and cannot be agreed until the dispute is rejected."""

import uuid

from tests.support.client import Platform, eventually
from tests.support.money import answer_dispute, open_dispute, page_text, put_policy
from tests.support.negotiation import (
    POLICY,
    at,
    days,
    negotiation_api,
    new_tenant,
    offers,
    register,
    set_clocks,
    wait_offers,
)


def test_policy_above_the_legal_ceilings_or_with_a_bad_pix_key_is_refused(platform: Platform) -> None:
    _, api_key = new_tenant(platform, "Ótica Visão Clara Ltda")
    r = put_policy(platform, api_key, {**POLICY, "interest_monthly_rate": "0.02"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "interest_monthly_rate"
    assert "legal ceiling" in r.json()["errors"][0]["reason"]
    r = put_policy(platform, api_key, {**POLICY, "pix_key": "Pix@Otica.example"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "pix_key"
    assert "lower case" in r.json()["errors"][0]["reason"]
    r = put_policy(platform, api_key, {**POLICY, "pix_key": "52998224724"})
    assert r.status_code == 422 and "check digits" in r.json()["errors"][0]["reason"]
    assert put_policy(platform, api_key, {**POLICY, "pix_key": str(uuid.uuid4())}).status_code == 201


def test_page_states_unequal_installments_exactly(platform: Platform) -> None:
    _, api_key = new_tenant(platform, "Ótica Visão Clara Ltda")
    assert put_policy(platform, api_key, {**POLICY, "max_installments": 3}).status_code == 201
    now = set_clocks(platform, platform.now())
    due = (now + days(2)).date()
    debt = register(platform, api_key, f"money.{uuid.uuid4().hex[:10]}@example.com", due, 101_500)
    set_clocks(platform, at(due + days(8)))
    menu = wait_offers(platform, api_key, debt["debtor_id"])
    three = next(o for o in menu if o["installments"] == 3)
    assert three["installment_amounts"] == [33_834, 33_833, 33_833]
    assert (three["first_installment_cents"], three["installment_cents"]) == (33_834, 33_833)
    updated = three["updated_debt"]
    assert updated["principal_cents"] == 101_500 and updated["fine_cents"] > 0
    assert updated["total_cents"] == three["total_cents"] + three["discount_cents"]
    text = page_text(platform, api_key, debt["debtor_id"])
    assert "1x R$ 338,34 + 2x R$ 338,33" in text and "3x de R$ 338,34" not in text


def test_a_disputed_invoice_is_not_offered_nor_agreed(platform: Platform) -> None:
    _, api_key = new_tenant(platform, "Ótica Visão Clara Ltda")
    now = set_clocks(platform, platform.now())
    due = (now + days(2)).date()
    email = f"dispute.{uuid.uuid4().hex[:10]}@example.com"
    kept = register(platform, api_key, email, due, 20_000, n=1)
    contested = register(platform, api_key, email, due, 30_000, n=2)
    debtor_id = kept["debtor_id"]
    set_clocks(platform, at(due + days(5)))
    menu = eventually(lambda: [o for o in offers(platform, api_key, debtor_id) if len(o["invoice_ids"]) == 2],
                      30, what="offers over both invoices")

    open_dispute(platform, api_key, contested["id"])
    fresh = eventually(lambda: [o for o in offers(platform, api_key, debtor_id)
                                if o["invoice_ids"] == [kept["id"]]], 30, what="offers without the disputed invoice")
    assert fresh[0]["total_cents"] == 20_000
    with negotiation_api(platform, api_key) as neg:
        r = neg.post(f"/v1/offers/{menu[0]['offer_id']}/accept", headers=platform.operator(api_key))
        assert r.status_code == 409 and "under dispute" in r.json()["errors"][0]["reason"]
    assert "em contestação" in page_text(platform, api_key, debtor_id)

    answer_dispute(platform, api_key, contested["id"], "rejected")
    eventually(lambda: [o for o in offers(platform, api_key, debtor_id) if len(o["invoice_ids"]) == 2], 30,
               what="offers over both invoices again once the dispute is rejected")
