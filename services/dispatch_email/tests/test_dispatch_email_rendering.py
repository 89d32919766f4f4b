"""Every e-mail template renders a complete, compliant message (unit, no I/O)."""

import re
import uuid
from datetime import UTC, date, datetime
from importlib import resources

import pytest

from regua_contracts.common import Creditor, InvoiceSummary
from regua_contracts.contacts import (
    AGREEMENT_TEMPLATE,
    NEGOTIATION_TEMPLATE,
    ContactRequested,
    DebtSummary,
    OfferSummary,
    Recipient,
)
from regua_dispatch.templates import sample_command
from regua_dispatch_email.rendering import EmailRenderer, UnknownTemplate, build_message

TEMPLATES = sorted(
    f.name.removesuffix(".txt.j2")
    for f in (resources.files("regua_dispatch_email") / "templates").iterdir()
    if f.name.endswith(".txt.j2") and f.name != "base.txt.j2"
)
UNSUBSCRIBE = "http://127.0.0.1:8002/unsubscribe/eyJ0IjoiYWNtZSJ9.c2lnbmF0dXJl"
CREDITOR = Creditor(name="Acme Comércio Ltda", cnpj="11222333000181", address="Av. Paulista, 1000, São Paulo - SP")
FIRST = InvoiceSummary(invoice_id=uuid.uuid4(), external_id="NF-000123", amount_cents=123_456,
                       due_date=date(2027, 3, 10))
SECOND = InvoiceSummary(invoice_id=uuid.uuid4(), external_id="NF-000124", amount_cents=2_550,
                        due_date=date(2027, 3, 12))


def _command(template: str, invoices: list[InvoiceSummary] | None = None, tone: str = "friendly") -> ContactRequested:
    return ContactRequested(
        occurred_at=datetime(2027, 3, 9, 13, tzinfo=UTC), tenant_id="acme", step_id=uuid.uuid4(), step_key="D-1",
        channel="email", template=template, tone=tone,
        recipient=Recipient(debtor_id=uuid.uuid4(), name="ana maria souza", email="ana@example.com"),
        creditor=CREDITOR, invoices=invoices or [FIRST], scheduled_for=datetime(2027, 3, 9, 13, tzinfo=UTC),
    )


@pytest.fixture(scope="module")
def renderer() -> EmailRenderer:
    return EmailRenderer()


def test_the_folder_holds_the_expected_templates() -> None:
    assert TEMPLATES == ["agreement", "bureau_notice", "negotiation", "notice", "reminder", "thank_you"]


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_renders_a_complete_message(renderer: EmailRenderer, template: str) -> None:
    rendered = renderer.render(_command(template), UNSUBSCRIBE)
    assert rendered.subject
    assert "\n" not in rendered.subject
    assert rendered.subject == rendered.subject.strip()
    body = rendered.body
    # CDC art. 42-A: the creditor's name, CNPJ and address.
    assert "Acme Comércio Ltda, CNPJ 11.222.333/0001-81, Av. Paulista, 1000, São Paulo - SP" in body
    assert UNSUBSCRIBE in body
    assert "R$ 1.234,56" in body
    assert "10/03/2027" in body
    assert "NF-000123" in body
    assert "Ana" in body
    assert body.endswith("\n") and not body.endswith("\n\n")
    assert rendered.subject not in body.splitlines()[0]


@pytest.mark.parametrize("template", TEMPLATES)
def test_consolidated_message_lists_every_invoice_and_the_total(renderer: EmailRenderer, template: str) -> None:
    body = renderer.render(_command(template, [FIRST, SECOND]), UNSUBSCRIBE).body
    assert "nº NF-000123: R$ 1.234,56 com vencimento em 10/03/2027" in body
    assert "nº NF-000124: R$ 25,50 com vencimento em 12/03/2027" in body
    assert "Total: R$ 1.260,06" in body
    assert UNSUBSCRIBE in body
    assert "CNPJ 11.222.333/0001-81" in body


@pytest.mark.parametrize(
    ("tone", "greeting"),
    [
        ("friendly", "Olá, Ana!"),
        ("informative", "Olá, Ana,"),
        ("cordial", "Prezado(a) Ana,"),
        ("firm", "Prezado(a) Sr(a). ana maria souza,"),
        ("formal", "Prezado(a) Sr(a). ana maria souza,"),
    ],
)
def test_the_greeting_follows_the_tone(renderer: EmailRenderer, tone: str, greeting: str) -> None:
    assert renderer.render(_command("notice", tone=tone), UNSUBSCRIBE).body.startswith(greeting + "\n")


@pytest.mark.parametrize("template", ["agent_call", "does_not_exist", "base", "../rendering"])
def test_unknown_template_raises(renderer: EmailRenderer, template: str) -> None:
    with pytest.raises(UnknownTemplate):
        renderer.render(_command(template), UNSUBSCRIBE)


def test_build_message_carries_the_headers_a_mailbox_needs(renderer: EmailRenderer) -> None:
    command = _command("notice")
    rendered = renderer.render(command, UNSUBSCRIBE)
    message = build_message(command, rendered, sender="cobranca@regua.local", message_id=f"<{command.step_id}@regua>",
                            unsubscribe_url=UNSUBSCRIBE)
    (sender,) = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Acme Comércio Ltda", "cobranca@regua.local")
    assert message["To"] == "ana@example.com"
    assert message["Subject"] == rendered.subject
    assert message["Message-ID"] == f"<{command.step_id}@regua>"
    assert message["X-Regua-Step-Id"] == str(command.step_id)
    assert message["X-Regua-Step"] == "D-1"
    assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content() == rendered.body


def test_a_negotiation_lists_each_offer_with_its_deadline_and_the_link_to_accept(renderer: EmailRenderer) -> None:
    link = "https://pagar.exemplo.com.br/s/eyJwIjoibmVnb3RpYXRpb24ifQ.c2lnbmF0dXJl"
    offers = [OfferSummary(installments=1, total_cents=111_110, installment_cents=111_110, first_due=date(2027, 3, 11),
                           discount_cents=12_346, expires_on=date(2027, 3, 16)),
              OfferSummary(installments=2, total_cents=123_456, installment_cents=61_728, first_due=date(2027, 3, 12),
                           discount_cents=0, expires_on=date(2027, 3, 15))]
    command = _command(NEGOTIATION_TEMPLATE).model_copy(update={"offers": offers, "self_service_url": link})
    rendered = renderer.render(command, UNSUBSCRIBE)
    assert rendered.subject == "Acme Comércio Ltda: proposta para regularizar sua fatura"
    assert ("Preparamos uma proposta para você regularizar a fatura abaixo.\n\n"
            "  - À vista: R$ 1.111,10, com desconto de R$ 123,46; vencimento em 11/03/2027\n"
            "  - 2x R$ 617,28 (total de R$ 1.234,56); 1ª parcela em 12/03/2027\n\n"
            "Proposta válida até 15/03/2027.\n"
            "Para aceitar, acesse o link abaixo, escolha a opção e receba o código PIX para o pagamento:\n"
            f"{link}\n\n") in rendered.body
    assert "ACORDO" not in rendered.body  # e-mail replies do not accept offers


def test_an_offer_with_a_down_payment_says_so(renderer: EmailRenderer) -> None:
    offer = OfferSummary(installments=3, total_cents=100_000, down_payment_cents=50_000, installment_cents=25_000,
                         first_due=date(2027, 3, 11), discount_cents=0, expires_on=date(2027, 3, 15))
    rendered = renderer.render(_command(NEGOTIATION_TEMPLATE).model_copy(update={"offers": [offer]}), UNSUBSCRIBE)
    assert "  - Entrada de R$ 500,00 + 2x R$ 250,00 (total de R$ 1.000,00); entrada em 11/03/2027\n" \
        in rendered.body


def test_a_negotiation_without_offers_invites_to_learn_them(renderer: EmailRenderer) -> None:
    body = renderer.render(_command(NEGOTIATION_TEMPLATE), UNSUBSCRIBE).body
    assert "Preparamos condições especiais" in body and "responda a este e-mail para conhecer as opções" in body


def test_an_agreement_lists_each_installment_with_its_pix_code_and_reference_and_the_link(
        renderer: EmailRenderer) -> None:
    sample = sample_command("email", AGREEMENT_TEMPLATE)
    first, second = sample.installments
    second = second.model_copy(update={"amount_cents": 61_727})
    command = _command(AGREEMENT_TEMPLATE).model_copy(update={
        "installments": [second, first], "self_service_url": sample.self_service_url, "step_key": AGREEMENT_TEMPLATE})
    rendered = renderer.render(command, UNSUBSCRIBE)
    assert rendered.subject == "Acme Comércio Ltda: acordo confirmado"
    assert ("Seu acordo para regularizar a fatura abaixo está confirmado. Pague cada parcela até o seu vencimento "
            "com o PIX copia e cola: copie o código e cole no app do seu banco, na opção PIX copia e cola.\n\n"
            "Parcela 1 de 2: R$ 617,28, vencimento em 11/03/2027\n"
            f"PIX copia e cola:\n{first.pix_copia_e_cola}\n"
            f"Referência do pagamento: {first.payment_reference}\n\n"
            "Parcela 2 de 2: R$ 617,27, vencimento em 11/04/2027\n"
            f"PIX copia e cola:\n{second.pix_copia_e_cola}\n"
            f"Referência do pagamento: {second.payment_reference}\n\n"
            "O QR Code de cada vencimento e o andamento do acordo estão em:\n"
            f"{sample.self_service_url}\n\n") in rendered.body
    message = build_message(command, rendered, sender="cobranca@regua.local", message_id="<m@regua>",
                            unsubscribe_url=UNSUBSCRIBE)
    assert second.pix_copia_e_cola in message.get_content()  # a long line survives the transfer encoding whole


def test_a_single_payment_agreement_without_a_link_keeps_its_code_in_the_e_mail(renderer: EmailRenderer) -> None:
    only = sample_command("email", AGREEMENT_TEMPLATE).installments[0].model_copy(
        update={"amount_cents": 18_000, "due_date": date(2026, 12, 5)})
    body = renderer.render(_command(AGREEMENT_TEMPLATE).model_copy(update={"installments": [only]}), UNSUBSCRIBE).body
    assert "Pague até o vencimento com o PIX copia e cola" in body
    assert f"Pagamento único: R$ 180,00, vencimento em 05/12/2026\nPIX copia e cola:\n{only.pix_copia_e_cola}\n" in body
    assert "Guarde este e-mail: ele traz o código PIX de cada vencimento." in body


def test_an_agreement_without_installments_asks_to_reply(renderer: EmailRenderer) -> None:
    body = renderer.render(_command(AGREEMENT_TEMPLATE), UNSUBSCRIBE).body
    assert ("está confirmado.\nPara receber os valores, vencimentos e códigos PIX, responda a este e-mail.\n"
            in body)


def test_installments_are_stated_exactly_and_the_updated_debt_they_are_taken_from(renderer: EmailRenderer) -> None:
    # 1.015,00 in three: 338,34 + 338,33 + 338,33 (negotiation's split), never "3x de R$ 338,34".
    uneven = OfferSummary(installments=3, total_cents=101_500, installment_cents=33_834, first_due=date(2027, 3, 11),
                          discount_cents=3_045, expires_on=date(2027, 3, 15))
    even = OfferSummary(installments=2, total_cents=101_500, installment_cents=50_750, first_due=date(2027, 3, 11),
                        discount_cents=3_045, expires_on=date(2027, 3, 15))
    debt = DebtSummary(principal_cents=101_500, fine_cents=2_030, interest_cents=1_015, total_cents=104_545,
                       as_of=date(2027, 3, 10))
    body = renderer.render(_command(NEGOTIATION_TEMPLATE).model_copy(
        update={"offers": [even, uneven], "updated_debt": debt}), UNSUBSCRIBE).body
    assert ("Valor atualizado da dívida em 10/03/2027: principal de R$ 1.015,00, multa de R$ 20,30 e juros de "
            "R$ 10,15, total de R$ 1.045,45. Os descontos abaixo são calculados sobre esse total.\n") in body
    assert "  - 2x R$ 507,50 (total de R$ 1.015,00), com desconto de R$ 30,45; 1ª parcela em 11/03/2027\n" in body
    assert ("  - 1x R$ 338,34 + 2x R$ 338,33 (total de R$ 1.015,00), com desconto de R$ 30,45; 1ª parcela em "
            "11/03/2027\n") in body
    assert "3x" not in body
    # As negotiation now states it: the first that differs as down_payment_cents; the cents are no down payment.
    stated = uneven.model_copy(update={"down_payment_cents": 33_834, "installment_cents": 33_833})
    restated = renderer.render(_command(NEGOTIATION_TEMPLATE).model_copy(update={"offers": [stated]}), UNSUBSCRIBE)
    assert "  - 1x R$ 338,34 + 2x R$ 338,33 (total de R$ 1.015,00)" in restated.body
    assert "Entrada" not in restated.body and "1ª parcela em 11/03/2027" in restated.body
    without = renderer.render(_command(NEGOTIATION_TEMPLATE).model_copy(update={"offers": [even]}), UNSUBSCRIBE)
    assert "Valor atualizado" not in without.body  # no updated debt in the command: nothing made up


def test_the_prior_notice_of_a_bureau_listing_states_the_day_to_pay_by(renderer: EmailRenderer) -> None:
    command = _command("bureau_notice", tone="firm").model_copy(update={"pay_by": date(2027, 4, 9)})
    rendered = renderer.render(command, UNSUBSCRIBE)
    assert rendered.subject == "Aviso prévio: regularize sua fatura com Acme Comércio Ltda até 09/04/2027"
    assert "se a dívida não for regularizada\naté 09/04/2027, o débito poderá ser registrado" in rendered.body


def test_without_a_day_to_pay_by_the_prior_notice_makes_none_up(renderer: EmailRenderer) -> None:
    rendered = renderer.render(_command("bureau_notice", [FIRST, SECOND], tone="firm"), UNSUBSCRIBE)
    assert "no prazo legal contado do recebimento deste aviso, o débito poderá ser registrado" in rendered.body
    dates = set(re.findall(r"\d\d/\d\d/\d{4}", rendered.subject + rendered.body))
    assert dates == {"10/03/2027", "12/03/2027"}  # the invoices' due dates, no deadline invented
    assert "até" not in rendered.subject


def test_a_reminder_of_invoices_due_on_different_days_says_from_the_first(renderer: EmailRenderer) -> None:
    assert renderer.render(_command("reminder", [SECOND, FIRST]), UNSUBSCRIBE).subject == (
        "Lembrete: suas faturas com Acme Comércio Ltda vencem a partir de 10/03/2027")
    same_day = SECOND.model_copy(update={"due_date": FIRST.due_date})
    assert renderer.render(_command("reminder", [FIRST, same_day]), UNSUBSCRIBE).subject == (
        "Lembrete: suas faturas com Acme Comércio Ltda vencem em 10/03/2027")
    assert renderer.render(_command("reminder"), UNSUBSCRIBE).subject == (
        "Lembrete: sua fatura com Acme Comércio Ltda vence em 10/03/2027")
