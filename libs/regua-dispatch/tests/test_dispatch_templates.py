"""Template rules are checked when a template is saved (unit, no I/O)."""

import uuid
from datetime import date

import pytest

from regua_contracts.common import InvoiceSummary
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

GOOD = "{{greeting}} Fatura {{invoices}}. Cobrança de {{creditor}}. Para não receber mais, responda SAIR."


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
    command = sample_command("sms")
    second = InvoiceSummary(invoice_id=uuid.uuid4(), external_id="NF-9", amount_cents=2_550, due_date=date(2027, 3, 1))
    known = values(command.model_copy(update={"invoices": [*command.invoices, second]}))
    assert known["creditor"] == "Comércio de Exemplo Ltda, CNPJ 11.222.333/0001-81, Av. Paulista, 1000, São Paulo - SP"
    assert known["invoices"] == ("nº NF-000123 de R$ 1.234,56 com vencimento em 09/03/2027; "
                                 "nº NF-9 de R$ 25,50 com vencimento em 01/03/2027")
    assert (known["total"], known["due_date"]) == ("R$ 1.260,06", "01/03/2027")
    assert all("\n" not in v for v in known.values())


@pytest.mark.parametrize(("tone", "greeting"), [
    ("friendly", "Olá, Maria!"), ("informative", "Olá, Maria,"), ("cordial", "Prezado(a) Maria,"),
    ("firm", "Prezado(a) Sr(a). Maria Aparecida dos Santos,"),
])
def test_the_greeting_follows_the_tone(tone: str, greeting: str) -> None:
    assert values(sample_command("sms").model_copy(update={"tone": tone}))["greeting"] == greeting


def test_positional_parameters_follow_the_placeholders_in_order() -> None:
    known = values(sample_command("whatsapp"))
    body = "{{greeting}} {{total}} de {{creditor}}; {{total}}. Responda SAIR."
    assert parameters(body, known) == [known["greeting"], known["total"], known["creditor"], known["total"]]
    assert provider_body(body) == "{{1}} {{2}} de {{3}}; {{4}}. Responda SAIR."
    assert render(body, known).startswith("Olá, Maria, R$ 1.234,56 de Comércio de Exemplo Ltda")
