"""The debtor's self-service page in headless Chromium (Debian's package, driven by Playwright): open the
signed link, accept an offer, see the PIX code and its QR; tampered, foreign and expired links are refused.

CI needs `apt-get install -y chromium` (Playwright's own browser download is not used)."""

import shutil
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import brcode
import httpx
import pytest
from crccheck.crc import Crc16CcittFalse

from tests.support.client import Platform, eventually
from tests.support.negotiation import (
    agreements,
    at,
    case_status,
    days,
    negotiation_api,
    new_tenant,
    register,
    set_clocks,
    wait_offers,
)

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed "
                                "(apt-get install -y chromium)")
sync_api = pytest.importorskip("playwright.sync_api")
if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="module")
def browser() -> Iterator["Browser"]:
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield launched
        launched.close()


def test_open_link_accept_offer_see_pix(platform: Platform, browser: "Browser") -> None:
    _, api_key = new_tenant(platform, "Ótica Visão Clara Ltda")
    now = set_clocks(platform, platform.now())
    due = (now + days(2)).date()
    mine = register(platform, api_key, f"page.{uuid.uuid4().hex[:10]}@example.com", due, 20_000)
    other = register(platform, api_key, f"other.{uuid.uuid4().hex[:10]}@example.com", due, 55_500)
    set_clocks(platform, at(due + days(5)))
    other_offers = wait_offers(platform, api_key, other["debtor_id"])
    wait_offers(platform, api_key, mine["debtor_id"])

    with negotiation_api(platform, api_key) as neg:
        link = neg.post(f"/v1/debtors/{mine['debtor_id']}/self-service-link").json()
    url = platform.stack.url("negotiation") + link["path"]

    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="pt-BR")  # a phone
    response = page.goto(url)
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text() == "Olá, Ana"
    assert page.locator("html").get_attribute("lang") == "pt-BR"
    content = page.content()
    assert "R$ 200,00" in content and "proposta válida até" in content
    assert other["external_id"] not in content and "R$ 555,00" not in content  # nobody else's debt
    assert page.locator("form.offer").count() == 2

    page.locator('form.offer[data-installments="1"] button').click()
    page.wait_for_selector("textarea.pix")
    payload = page.locator("textarea.pix").first.input_value()
    parsed = brcode.QR(payload)
    assert parsed.TA_value == "200.00" and parsed.MN_value == "Otica Visao Clara"
    assert parsed.CRC_value == f"{Crc16CcittFalse.calc(payload[:-4].encode()):04X}"
    assert (page.locator("img.qr").first.get_attribute("src") or "").startswith("data:image/svg+xml")
    page.locator("section#acordo button").first.click()
    page.wait_for_function("document.querySelector('section#acordo button').textContent === 'Código copiado!'")
    made = agreements(platform, api_key, mine["debtor_id"])
    assert made[0]["accepted_via"] == "self-service"
    eventually(lambda: case_status(platform, api_key, mine["id"]) == ("paused", "agreement"), 30,
               what="the ruler to pause the case")

    # A link cannot reach another debtor's offer: it answers like a missing one.
    token = link["path"].removeprefix("/s/")
    r = httpx.post(f"{platform.stack.url('negotiation')}/s/{token}/offers/{other_offers[0]['offer_id']}/accept")
    assert r.status_code == 303 and r.headers["location"].endswith("?erro=proposta")
    assert agreements(platform, api_key, other["debtor_id"]) == []

    # Tampered: one character of the signed payload changed.
    tampered = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    response = page.goto(f"{platform.stack.url('negotiation')}/s/{tampered}")
    assert response is not None and response.status == 400
    assert page.locator("h1#erro").inner_text() == "Link inválido"

    # Expired: the link lives for the policy's 7 days.
    set_clocks(platform, now + days(16))
    response = page.goto(url)
    assert response is not None and response.status == 410
    assert page.locator("h1#erro").inner_text() == "Link expirado"
    page.close()
