"""Template rules are checked when a template is saved (unit, no I/O)."""

import re
import uuid
from datetime import date

import pytest
from crccheck.crc import Crc16CcittFalse

from regua_contracts.common import InvoiceSummary
from regua_contracts.contacts import (
    AGREEMENT_TEMPLATE,
    NEGOTIATION_TEMPLATE,
    ContactRequested,
    InstallmentSummary,
    OfferSummary,
    accepted_installments,
)
from regua_dispatch.templates import (
    MessageTemplate,
    TemplateRejected,
    check,
    parameters,
    provider_body,
    render,
    sample_command,
    values,
)

LINK = "https://pagar.exemplo.com.br/s/eyJ0IjoiYWNtZSJ9.c2lnbmF0dXJl"
GOOD = "{{greeting}} fatura {{invoices}}. Cobrança de {{creditor}}. Para não receber mais, responda SAIR."


def _t(body: str) -> MessageTemplate:
    return MessageTemplate(name="notice", channel="sms", body=body)


def test_a_compliant_template_passes() -> None:
    check(_t(GOOD))
    check(_t("{{first_name}}: {{creditor_name}}, CNPJ {{creditor_cnpj}}, {{creditor_address}}. Responda sair."))


@pytest.mark.parametrize(("body", "reason"), [
    ("{{greeting}} Fatura {{invoices}}. Para não receber mais, responda SAIR.", "must name the creditor"),
    ("{{greeting}} {{creditor_name}}, CNPJ {{creditor_cnpj}}. Responda SAIR.", "must name the creditor"),
    ("{{greeting}} Cobrança de {{creditor}}.", "responda SAIR"),
    ("{{greeting}} Cobrança de {{creditor}}. Envie SAIR.", "responda SAIR"),
    ("{{saudacao}} Cobrança de {{creditor}}. Responda SAIR.", "unknown placeholder {{saudacao}}"),
    ("   ", "must not be empty"),
])
def test_a_template_that_breaks_a_rule_is_rejected(body: str, reason: str) -> None:
    with pytest.raises(TemplateRejected, match=reason.replace("{", r"\{").replace("}", r"\}")) as caught:
        check(_t(body))
    assert caught.value.field == "body"


def test_the_opt_out_phrase_is_found_whatever_the_case_accents_and_line_breaks() -> None:
    check(_t("{{creditor}}. Para sair, RESPONDA\n  Sáir."))


def test_an_extra_channel_rule_runs_last() -> None:
    def no_long(template: MessageTemplate) -> None:
        raise TemplateRejected("body", "too long for this channel")

    with pytest.raises(TemplateRejected, match="too long"):
        check(_t(GOOD), no_long)


def test_values_name_the_creditor_and_list_every_invoice_without_line_breaks() -> None:
    command = sample_command("whatsapp")
    second = InvoiceSummary(invoice_id=uuid.uuid4(), external_id="NF-9", amount_cents=2_550, due_date=date(2027, 3, 1))
    known = values(command.model_copy(update={"invoices": [*command.invoices, second]}))
    assert known["creditor"] == "Comércio de Exemplo Ltda, CNPJ 11.222.333/0001-81, Av. Paulista, 1000, São Paulo - SP"
    assert known["invoices"] == ("nº NF-000123 de R$ 1.234,56 com vencimento em 09/03/2027; "
                                 "nº NF-9 de R$ 25,50 com vencimento em 01/03/2027")
    assert (known["total"], known["due_date"]) == ("R$ 1.260,06", "01/03/2027")
    assert all("\n" not in v for v in known.values())


@pytest.mark.parametrize(("tone", "greeting"), [
    ("friendly", "Olá, Maria,"), ("informative", "Olá, Maria,"), ("cordial", "Prezado(a) Maria,"),
    ("firm", "Prezado(a) Sr(a). Maria Aparecida dos Santos,"),
])
def test_the_greeting_follows_the_tone(tone: str, greeting: str) -> None:
    assert values(sample_command("whatsapp").model_copy(update={"tone": tone}))["greeting"] == greeting


def test_positional_parameters_follow_the_placeholders_in_order() -> None:
    known = values(sample_command("whatsapp"))
    body = "{{greeting}} {{total}} de {{creditor}}; {{total}}. Responda SAIR."
    assert parameters(body, known) == [known["greeting"], known["total"], known["creditor"], known["total"]]
    assert provider_body(body) == "{{1}} {{2}} de {{3}}; {{4}}. Responda SAIR."
    assert render(body, known).startswith("Olá, Maria, R$ 1.234,56 de Comércio de Exemplo Ltda")


def _offer(installments: int, installment_cents: int, discount_cents: int = 0, *, first_due: date = date(2026, 12, 5),
           expires_on: date = date(2026, 12, 3)) -> OfferSummary:
    return OfferSummary(installments=installments, total_cents=installment_cents * installments,
                        installment_cents=installment_cents, first_due=first_due, discount_cents=discount_cents,
                        expires_on=expires_on)


def _negotiation(offers: list[OfferSummary], link: str | None = LINK) -> ContactRequested:
    return sample_command("whatsapp", NEGOTIATION_TEMPLATE).model_copy(
        update={"offers": offers, "self_service_url": link})


@pytest.mark.parametrize("placeholder", ["offers", "offer_deadline", "link", "reply_codes"])
def test_offer_placeholders_are_refused_outside_the_negotiation_template(placeholder: str) -> None:
    body = f"{{{{greeting}}}} veja: {{{{{placeholder}}}}}. Cobrança de {{{{creditor}}}}. Responda SAIR."
    with pytest.raises(TemplateRejected, match=rf"\{{\{{{placeholder}\}}\}} may be used only in the 'negotiation'"
                       ) as caught:
        check(MessageTemplate(name="reminder", channel="sms", body=body))
    assert caught.value.field == "body"
    check(MessageTemplate(name=NEGOTIATION_TEMPLATE, channel="sms", body=body))


def test_negotiation_values_state_each_offer_the_deadline_the_link_and_the_reply_codes() -> None:
    later = date(2026, 12, 9)
    known = values(_negotiation([_offer(1, 18_000, 2_000, expires_on=later), _offer(2, 10_000)]))
    assert known["offers"] == ("à vista R$ 180,00 (desconto de R$ 20,00) ou 2x R$ 100,00, "
                               "com 1º vencimento em 05/12/2026")
    assert known["offer_deadline"] == "03/12/2026"  # the earliest expiry: nothing is promised beyond it
    assert known["link"] == LINK
    assert known["reply_codes"] == "ACORDO 1 (à vista) ou ACORDO 2 (2x)"
    assert all("\n" not in v for v in known.values())


def test_every_reply_code_stated_is_read_back_as_its_offer() -> None:
    menu = [_offer(1, 50_000, 5_000), _offer(2, 27_500), _offer(3, 18_334), _offer(12, 4_584)]
    stated = re.findall(r"ACORDO \d+", values(_negotiation(menu))["reply_codes"])
    assert [accepted_installments(code) for code in stated] == [1, 2, 3, 12]


def test_a_long_menu_states_the_first_offers_and_the_longest_and_points_to_the_link() -> None:
    menu = [_offer(1, 90_000, 10_000)] + [_offer(n, 100_000 // n) for n in range(2, 13)]
    known = values(_negotiation(menu))
    assert known["reply_codes"] == "ACORDO 1 (à vista), ACORDO 2 (2x), ACORDO 3 (3x) ou ACORDO 12 (12x)"
    assert "4x" not in known["offers"] and "12x R$ 83,33" in known["offers"]
    assert known["offers"].endswith(", ou outras opções no link")


def test_an_offer_with_a_down_payment_states_it() -> None:
    down = OfferSummary(installments=3, total_cents=100_000, down_payment_cents=50_000, installment_cents=25_000,
                        first_due=date(2026, 12, 5), discount_cents=0, expires_on=date(2026, 12, 3))
    known = values(_negotiation([_offer(1, 90_000, 10_000), down]))
    assert "entrada de R$ 500,00 + 2x R$ 250,00" in known["offers"]
    assert "3x de" not in known["offers"]


def test_offers_with_their_own_first_due_date_say_it_each() -> None:
    menu = [_offer(1, 18_000, 2_000, first_due=date(2026, 12, 1)), _offer(3, 6_700, 100)]
    assert values(_negotiation(menu))["offers"] == (
        "à vista R$ 180,00 (vencimento em 01/12/2026, desconto de R$ 20,00) "
        "ou 3x R$ 67,00 (1º vencimento em 05/12/2026, desconto de R$ 1,00)")


def test_the_negotiation_sample_carries_a_menu_and_a_signed_link_the_others_none() -> None:
    sample = sample_command("whatsapp", NEGOTIATION_TEMPLATE)
    assert [o.installments for o in sample.offers] == [1, 2, 3]
    assert sample.self_service_url is not None and len(sample.self_service_url) > 150  # as long as a real one
    assert (sample_command("whatsapp").offers, sample_command("whatsapp").self_service_url) == ([], None)


PIX_1, PIX_2 = (i.pix_copia_e_cola for i in sample_command("whatsapp", AGREEMENT_TEMPLATE).installments)


def _installment(number: int, amount_cents: int, due_date: date, pix: str = PIX_1) -> InstallmentSummary:
    return InstallmentSummary(number=number, amount_cents=amount_cents, due_date=due_date, pix_copia_e_cola=pix,
                              payment_reference=f"RG0a1b2c3d4e5f6a7b8c9d{number:02d}")


def _agreement(installments: list[InstallmentSummary], link: str | None = LINK) -> ContactRequested:
    return sample_command("whatsapp", AGREEMENT_TEMPLATE).model_copy(
        update={"installments": installments, "self_service_url": link})


@pytest.mark.parametrize("placeholder", ["installments", "pix", "payment_reference"])
def test_agreement_placeholders_are_refused_outside_the_agreement_template(placeholder: str) -> None:
    body = f"{{{{greeting}}}} pague: {{{{{placeholder}}}}}. Cobrança de {{{{creditor}}}}. Responda SAIR."
    for other in ("reminder", NEGOTIATION_TEMPLATE):
        with pytest.raises(TemplateRejected, match=rf"\{{\{{{placeholder}\}}\}} may be used only in the 'agreement' "
                           "template: only its messages carry the agreement's installments") as caught:
            check(MessageTemplate(name=other, channel="sms", body=body))
        assert caught.value.field == "body"
    check(MessageTemplate(name=AGREEMENT_TEMPLATE, channel="sms", body=body))


def test_a_pix_code_in_a_reminder_is_refused_and_the_link_serves_negotiation_and_agreement_alone() -> None:
    with pytest.raises(TemplateRejected, match=r"\{\{pix\}\} may be used only in the 'agreement' template"):
        check(MessageTemplate(name="reminder", channel="whatsapp", body=f"{GOOD} PIX: {{{{pix}}}}"))
    link = f"{GOOD} Veja {{{{link}}}}"
    with pytest.raises(TemplateRejected, match=r"\{\{link\}\} may be used only in the 'negotiation' or "
                       "'agreement' template: only their messages carry the debtor's self-service link"):
        check(MessageTemplate(name="reminder", channel="sms", body=link))
    for name in (NEGOTIATION_TEMPLATE, AGREEMENT_TEMPLATE):
        check(MessageTemplate(name=name, channel="sms", body=link))
    with pytest.raises(TemplateRejected, match=r"\{\{offers\}\} may be used only in the 'negotiation' template"):
        check(MessageTemplate(name=AGREEMENT_TEMPLATE, channel="sms", body=f"{GOOD} {{{{offers}}}}"))


def test_agreement_values_state_the_installments_and_the_first_ones_pix_code_and_reference() -> None:
    second, first = _installment(2, 10_000, date(2027, 1, 5), PIX_2), _installment(1, 10_002, date(2026, 12, 5))
    known = values(_agreement([second, first]))  # in any order: the first is the lowest number
    assert known["installments"] == "2 parcelas: R$ 100,02 em 05/12/2026 e R$ 100,00 em 05/01/2027"
    assert known["pix"] == PIX_1  # the one to pay now; the page has the others
    assert known["payment_reference"] == "RG0a1b2c3d4e5f6a7b8c9d01"
    assert known["link"] == LINK
    assert PIX_2 not in " ".join(known.values())
    assert all("\n" not in v for v in known.values())


def test_a_single_payment_and_many_installments_read_well_on_one_line() -> None:
    single = values(_agreement([_installment(1, 18_000, date(2026, 12, 5))]))
    assert single["installments"] == "pagamento único de R$ 180,00 até 05/12/2026"
    dues = [date(2026, 12, 5), date(2027, 1, 5), date(2027, 2, 5)]
    three = [_installment(n, 6_000, due) for n, due in enumerate(dues, start=1)]
    assert values(_agreement(three))["installments"] == (
        "3 parcelas: R$ 60,00 em 05/12/2026, R$ 60,00 em 05/01/2027 e R$ 60,00 em 05/02/2027")
    twelve = [_installment(1, 4_588, date(2026, 12, 5)),
              *(_installment(n, 4_584, date(2027, n - 1, 5)) for n in range(2, 13))]
    assert values(_agreement(twelve))["installments"] == (
        "12 parcelas: R$ 45,88 em 05/12/2026 e mais 11 de R$ 45,84 até 05/11/2027")
    uneven = [*twelve[:-1], _installment(12, 4_600, date(2027, 11, 5))]
    assert values(_agreement(uneven))["installments"] == (
        "12 parcelas: R$ 45,88 em 05/12/2026 e mais 11 somando R$ 504,40 até 05/11/2027")


@pytest.mark.parametrize(("template", "expected"), [
    # An invitation to negotiate: the reply it asks for (NEGOCIAR) brings fresh offers.
    (NEGOTIATION_TEMPLATE, {"offers": "condições especiais de desconto ou parcelamento",
                            "offer_deadline": "sob consulta", "link": "sob consulta", "reply_codes": "NEGOCIAR"}),
    (AGREEMENT_TEMPLATE, {"installments": "valores e vencimentos sob consulta", "pix": "sob consulta",
                          "payment_reference": "sob consulta", "link": "sob consulta"}),
])
def test_a_command_without_its_offers_or_installments_and_link_still_renders(template: str,
                                                                             expected: dict[str, str]) -> None:
    known = values(sample_command("whatsapp", template).model_copy(
        update={"offers": [], "installments": [], "self_service_url": None}))
    assert {name: known[name] for name in expected} == expected


def test_the_agreement_sample_carries_two_installments_with_real_looking_br_codes_and_a_link() -> None:
    sample = sample_command("whatsapp", AGREEMENT_TEMPLATE)
    assert (sample.step_key, sample.tone, sample.offers) == (AGREEMENT_TEMPLATE, "friendly", [])
    assert [(i.number, i.amount_cents) for i in sample.installments] == [(1, 61_728), (2, 61_728)]
    codes = [i.pix_copia_e_cola for i in sample.installments]
    assert len(set(codes)) == 2 and all(150 <= len(c) <= 200 for c in codes)
    for installment, code in zip(sample.installments, codes, strict=True):
        assert code.startswith("000201") and "br.gov.bcb.pix" in code and "5406617.28" in code
        assert installment.payment_reference in code  # the txid, field 62-05
        assert int(code[-4:], 16) == Crc16CcittFalse.calc(code[:-4].encode())  # the BR Code's own CRC16
    assert sample.self_service_url is not None and len(sample.self_service_url) > 150
    assert sample_command("whatsapp").installments == []
