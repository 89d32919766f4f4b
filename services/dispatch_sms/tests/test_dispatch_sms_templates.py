"""The shipped SMS templates pass the rules; every collection SMS keeps within two parts with the worst case of
a usual creditor, and a template that does not is refused when saved; a negotiation message states two offers
with their reply codes, an agreement's confirmation its installments and first PIX code (unit)."""

from typing import Any

import pytest

from regua_contracts.common import Creditor
from regua_contracts.contacts import AGREEMENT_TEMPLATE, NEGOTIATION_TEMPLATE, ContactRequested
from regua_dispatch.formatting import gsm7
from regua_dispatch.pipeline import Message
from regua_dispatch.provider import ProviderClient, RetryPolicy
from regua_dispatch.registry import TemplateRegistry, load_defaults
from regua_dispatch.templates import (
    BUREAU_NOTICE_TEMPLATE,
    USUAL_CREDITOR,
    MessageTemplate,
    TemplateRejected,
    check,
    render,
    sample_command,
    values,
    worst_case_command,
)
from regua_dispatch_sms.adapter import COLLECTION_TEMPLATES, MAX_SEGMENTS, SmsAdapter, check_length, max_segments
from regua_dispatch_sms.segments import measure
from regua_platform.ratelimit import TokenBucket

CREDITOR = "Comércio de Exemplo Ltda, CNPJ 11.222.333/0001-81, Av. Paulista, 1000, Sao Paulo - SP"
SHIPPED = load_defaults("regua_dispatch_sms", "sms", check_length)


def test_every_ruler_template_is_shipped_and_compliant() -> None:
    assert sorted(SHIPPED) == ["agreement", "bureau_notice", "negotiation", "notice", "reminder", "thank_you"]
    assert COLLECTION_TEMPLATES == set(SHIPPED) - {AGREEMENT_TEMPLATE}
    for name, template in SHIPPED.items():
        text = render(template.body, values(sample_command("sms", name)))
        assert CREDITOR in text  # CDC art. 42-A: name, CNPJ, address (São -> Sao: GSM-7)
        assert "responda SAIR" in text


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_templates_are_written_in_gsm7_and_their_values_are_transliterated(name: str) -> None:
    body = SHIPPED[name].body
    assert gsm7(body) == body, {c for c in body if gsm7(c) != c}  # no UCS-2 fallback for our own templates
    for invoices in (1, 4):
        text = render(body, values(worst_case_command("sms", name, invoices)))
        assert measure(text).encoding == "GSM7"
        assert "Elétricos" in text and "Sao Paulo" in text  # é is in the GSM 03.38 alphabet, ã is not


def _parts(name: str, invoices: int, creditor: Creditor | None = None, **update: object) -> int:
    command = worst_case_command("sms", name, invoices, creditor).model_copy(update=update)
    return measure(render(SHIPPED[name].body, values(command))).segments


#: Parts of each shipped SMS with the standard worst case of a usual creditor (the rule check_length applies:
#: regua_dispatch.templates.worst_case_command with USUAL_CREDITOR, a 40-character name and a 60-character
#: address; a long debtor name, long invoice numbers, a 1x-12x menu, a 12-installment agreement and its PIX
#: code, the short link), with one invoice and with four. Every collection text within two parts; none fits one
#: (the creditor's name, CNPJ and address and the opt-out alone take 161 characters with this creditor). The
#: agreement confirmation, the answer to the debtor's "ACORDO n", takes four: its PIX code alone is 186.
USUAL_CREDITOR_PARTS = {"reminder": (2, 2), "notice": (2, 2), "thank_you": (2, 2), "bureau_notice": (2, 2),
                        "negotiation": (2, 2), "agreement": (4, 4)}
#: The same with the long creditor of worst_case_command (a 50-character name, a 71-character address). Before
#: (UCS-2, each invoice listed): agreement 10/10, bureau_notice 7/10, negotiation 11/11, notice 6/9, reminder
#: 5/8, thank_you 6/9; then (GSM-7): bureau_notice 3/3, negotiation 3/3, agreement 4/4, the others 2/2
#: (docs/PERFORMANCE.md, "SMS segments per template").
WORST_CASE_PARTS = {"reminder": (2, 2), "notice": (2, 2), "thank_you": (2, 2), "bureau_notice": (3, 2),
                    "negotiation": (3, 3), "agreement": (4, 4)}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_sms_parts_per_template_with_a_usual_creditor(name: str) -> None:
    assert (_parts(name, 1, USUAL_CREDITOR), _parts(name, 4, USUAL_CREDITOR)) == USUAL_CREDITOR_PARTS[name]
    if name in COLLECTION_TEMPLATES:
        assert max(USUAL_CREDITOR_PARTS[name]) <= MAX_SEGMENTS == 2
    assert max(USUAL_CREDITOR_PARTS[name]) == max_segments(SHIPPED[name])  # the limit the check holds it to


@pytest.mark.parametrize("name", sorted(WORST_CASE_PARTS))
def test_sms_parts_per_template_with_the_worst_case(name: str) -> None:
    assert (_parts(name, 1), _parts(name, 4)) == WORST_CASE_PARTS[name]


#: Creditors as they come: the issue's example, the sample's, and USUAL_CREDITOR at the limits.
CREDITORS = [Creditor(name="Energia Solar Horizonte Ltda", cnpj="11222333000181",
                      address="Rua das Palmeiras, 200, Belo Horizonte - MG"),
             sample_command("sms").creditor, USUAL_CREDITOR]


@pytest.mark.parametrize("name", sorted(COLLECTION_TEMPLATES))
@pytest.mark.parametrize("creditor", CREDITORS, ids=lambda c: c.name)
def test_a_collection_sms_takes_two_parts_and_none_fits_one(name: str, creditor: Creditor) -> None:
    sample = sample_command("sms")
    for invoices in (1, 4):
        assert _parts(name, invoices, creditor) == 2
        assert _parts(name, invoices, creditor, recipient=sample.recipient, tone="friendly") == 2
    # None fits one part, even for "Ana" with one invoice: the creditor's identification and the opt-out take
    # 130 to 160 characters of the 160, before a word about the debt.
    assert _parts(name, 1, creditor, recipient=sample.recipient.model_copy(update={"name": "Ana"})) == 2


def test_without_a_day_to_pay_by_the_bureau_notice_still_takes_two_parts() -> None:
    for invoices in (1, 4):
        assert _parts(BUREAU_NOTICE_TEMPLATE, invoices, USUAL_CREDITOR, pay_by=None) == 2


@pytest.mark.parametrize("name", sorted(COLLECTION_TEMPLATES))
def test_a_collection_template_over_two_parts_is_refused_when_saved(name: str) -> None:
    base = "{{greeting}} {{creditor}}. Responda SAIR. "
    units = max(measure(render(base, values(worst_case_command("sms", name, n, USUAL_CREDITOR)))).units
                for n in (1, 4))
    check(MessageTemplate(name, "sms", base + "x" * (306 - units)), check_length)  # 306 GSM-7 characters
    with pytest.raises(TemplateRejected, match=r"renders to 3 SMS parts \(GSM7, 307 units\) with 1 invoice and a "
                                               r"usual creditor \(a 40-character name, a 60-character address\); "
                                               r"a collection SMS takes at most 2 \(306 GSM7 units\); state less"):
        check(MessageTemplate(name, "sms", base + "x" * (307 - units)), check_length)


def test_a_template_listing_every_invoice_is_refused_for_the_debtor_with_four() -> None:
    body = "{{first_name}}, a fatura {{invoices}} segue em aberto. {{creditor}}. Responda SAIR p/ sair."
    with pytest.raises(TemplateRejected, match=r"with 4 invoices and a usual creditor") as caught:
        check(MessageTemplate("notice", "sms", body), check_length)
    assert caught.value.field == "body"
    check(MessageTemplate("notice", "sms", body.replace("{{invoices}}", "{{your_invoices}}")), check_length)


def test_a_template_outside_the_gsm7_alphabet_is_told_why_it_is_long() -> None:
    body = "{{greeting}} não identificamos o pagamento de {{your_invoices}}. {{creditor}}. Responda SAIR."
    with pytest.raises(TemplateRejected, match=r"SMS parts \(UCS2, .*makes the whole text UCS-2"):
        check(MessageTemplate("notice", "sms", body), check_length)
    check(MessageTemplate("notice", "sms", gsm7(body)), check_length)


def test_a_template_a_tenant_names_for_a_ruler_step_is_held_to_two_parts() -> None:
    assert max_segments(MessageTemplate("second_notice", "sms", "x")) == 2


class _NoTenantTemplates:
    """A connection on which no tenant saved its own template: the shipped ones are used."""

    async def fetch(self, *_: Any) -> list[Any]:
        return []


async def _compose(command: ContactRequested) -> Message:
    client = ProviderClient("sms", "http://sms.invalid", "token", bucket=TokenBucket(0), retry=RetryPolicy(),
                            timeout_seconds=1, connections=1)
    registry = TemplateRegistry("sms", load_defaults("regua_dispatch_sms", "sms", check_length))
    conn: Any = _NoTenantTemplates()
    composed = await SmsAdapter(client, registry, "REGUA").compose(conn, [command], command.occurred_at)
    message = composed[command.step_id]
    assert isinstance(message, Message)
    return message


async def test_a_negotiation_sms_states_two_offers_with_their_codes_the_deadline_and_the_link() -> None:
    command = worst_case_command("sms", NEGOTIATION_TEMPLATE, 1, USUAL_CREDITOR)
    message = await _compose(command)
    assert message.payload["text"] == (
        "Prezado(a) Maximiliano, responda ACORDO 1 (à vista R$ 11.091,96) ou ACORDO 12 (12x) até 17/03. "
        "https://pagar.exemplo.com.br/p/Xq3vR8kLm2Pz\n"
        "Credor: Energia Solar Horizonte Instalacoes Ltda, CNPJ 11.222.333/0001-81, Rua das Palmeiras, 200, sl. 12, "
        "Savassi, Belo Horizonte - MG. Para sair, responda SAIR")
    assert (message.payload["encoding"], message.payload["segments"]) == ("GSM7", 2)  # 3 before, 11 in UCS-2


async def test_a_bureau_notice_sms_states_the_amount_the_day_to_pay_by_and_what_follows() -> None:
    command = worst_case_command("sms", BUREAU_NOTICE_TEMPLATE, 4, USUAL_CREDITOR)
    message = await _compose(command)
    assert message.payload["text"] == (
        "Sr(a). Maximiliano, sem pagamento de suas 4 faturas, total R$ 49.449,34, até 30/03/2027, o debito podera "
        "ser negativado.\n"
        "Credor: Energia Solar Horizonte Instalacoes Ltda, CNPJ 11.222.333/0001-81, Rua das Palmeiras, 200, sl. 12, "
        "Savassi, Belo Horizonte - MG. Para sair, responda SAIR")
    assert (message.payload["encoding"], message.payload["segments"]) == ("GSM7", 2)  # 3 before, 10 in UCS-2


async def test_an_agreement_sms_states_the_installments_the_first_pix_code_alone_and_the_link() -> None:
    command = sample_command("sms", AGREEMENT_TEMPLATE)
    first, second = command.installments
    message = await _compose(command)
    text = message.payload["text"]
    assert text == (
        "Ola, Maria, acordo confirmado, com 2 parcelas: R$ 617,28 em 11/03/2027 e R$ 617,28 em 11/04/2027. "
        f"PIX da 1a parcela:\n{first.pix_copia_e_cola}\n"
        f"Demais parcelas: {command.self_service_url}\n"
        f"Credor: {CREDITOR}. Para sair, responda SAIR")
    assert second.pix_copia_e_cola not in text  # the page has it: one code keeps the SMS short enough
    assert (message.payload["encoding"], message.payload["segments"]) == ("GSM7", 5)  # 11 parts in UCS-2 before
    assert message.detail["template"] == AGREEMENT_TEMPLATE


async def test_an_agreement_sms_without_installments_is_still_sent_sensibly() -> None:
    command = sample_command("sms", AGREEMENT_TEMPLATE).model_copy(update={"installments": []})
    text = (await _compose(command)).payload["text"]
    assert text.startswith("Ola, Maria, acordo confirmado, com valores e vencimentos sob consulta. PIX da 1a "
                           f"parcela:\nsob consulta\nDemais parcelas: {command.self_service_url}\n")


def test_an_agreement_template_may_take_up_to_four_sms_parts() -> None:
    base = "{{greeting}} {{installments}} {{pix}} {{link}} {{creditor}}. Responda SAIR. "
    units = max(measure(render(base, values(worst_case_command("sms", AGREEMENT_TEMPLATE, n, USUAL_CREDITOR)))).units
                for n in (1, 4))
    four = base + "x" * (4 * 153 - units)  # GSM-7 (values transliterated): 153 septets a part
    check(MessageTemplate(AGREEMENT_TEMPLATE, "sms", four), check_length)
    with pytest.raises(TemplateRejected, match=r"renders to 5 SMS parts \(GSM7, 613 units\) with .*; the agreement "
                                               r"confirmation takes at most 4 \(612 GSM7 units\)"):
        check(MessageTemplate(AGREEMENT_TEMPLATE, "sms", four + "x"), check_length)
