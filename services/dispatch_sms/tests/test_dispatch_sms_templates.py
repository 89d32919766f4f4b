"""The shipped SMS templates pass the rules; a template too long for SMS is refused when saved; a
negotiation message states the offers, an agreement's confirmation its installments and first PIX code
(unit)."""

from typing import Any

import pytest

from regua_contracts.contacts import AGREEMENT_TEMPLATE, NEGOTIATION_TEMPLATE, ContactRequested
from regua_dispatch.formatting import gsm7
from regua_dispatch.pipeline import Message
from regua_dispatch.provider import ProviderClient, RetryPolicy
from regua_dispatch.registry import TemplateRegistry, load_defaults
from regua_dispatch.templates import (
    MessageTemplate,
    TemplateRejected,
    check,
    render,
    sample_command,
    values,
    worst_case_command,
)
from regua_dispatch_sms.adapter import SmsAdapter, check_length, max_segments
from regua_dispatch_sms.segments import measure
from regua_platform.ratelimit import TokenBucket

CREDITOR = "Comércio de Exemplo Ltda, CNPJ 11.222.333/0001-81, Av. Paulista, 1000, Sao Paulo - SP"
SHIPPED = load_defaults("regua_dispatch_sms", "sms", check_length)


def test_every_ruler_template_is_shipped_and_compliant() -> None:
    assert sorted(SHIPPED) == ["agreement", "bureau_notice", "negotiation", "notice", "reminder", "thank_you"]
    for name, template in SHIPPED.items():
        text = render(template.body, values(sample_command("sms", name)))
        assert CREDITOR in text  # CDC art. 42-A: name, CNPJ, address (São -> Sao: GSM-7)
        assert "responda SAIR" in text
        assert measure(text).segments < max_segments(template)  # room for a tenant's longer name


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_templates_are_written_in_gsm7_and_their_values_are_transliterated(name: str) -> None:
    body = SHIPPED[name].body
    assert gsm7(body) == body, {c for c in body if gsm7(c) != c}  # no UCS-2 fallback for our own templates
    for invoices in (1, 4):
        text = render(body, values(worst_case_command("sms", name, invoices)))
        assert measure(text).encoding == "GSM7"
        assert "Elétricos" in text and "Sao Paulo" in text  # é is in the GSM 03.38 alphabet, ã is not


#: Parts of each shipped SMS with the realistic worst case (regua_dispatch.templates.worst_case_command: a
#: 50-character creditor name, a 71-character address, a long debtor name, long invoice numbers, a 1x-12x menu
#: with the updated debt, a 12-installment agreement and its PIX code, the short link), with one invoice and
#: with four. Before (UCS-2, each invoice listed): agreement 10/10, bureau_notice 7/10, negotiation 11/11,
#: notice 6/9, reminder 5/8, thank_you 6/9 (docs/PERFORMANCE.md, "SMS segments per template").
WORST_CASE_PARTS = {"reminder": (2, 2), "notice": (2, 2), "thank_you": (2, 2), "bureau_notice": (3, 3),
                    "negotiation": (3, 3), "agreement": (4, 4)}


@pytest.mark.parametrize("name", sorted(WORST_CASE_PARTS))
def test_sms_parts_per_template_with_the_worst_case(name: str) -> None:
    parts = tuple(measure(render(SHIPPED[name].body, values(worst_case_command("sms", name, n)))).segments
                  for n in (1, 4))
    assert parts == WORST_CASE_PARTS[name]


@pytest.mark.parametrize("name", ["reminder", "notice", "thank_you", "bureau_notice"])
def test_a_collection_sms_with_a_usual_creditor_takes_two_parts(name: str) -> None:
    for invoices in (1, 4):
        command = worst_case_command("sms", name, invoices).model_copy(update={"creditor": sample_command(
            "sms").creditor, "recipient": sample_command("sms").recipient})
        assert measure(render(SHIPPED[name].body, values(command))).segments == 2


def test_a_negotiation_sms_with_a_usual_creditor_and_the_short_link_takes_three_parts() -> None:
    sample = sample_command("sms", NEGOTIATION_TEMPLATE)
    command = worst_case_command("sms", NEGOTIATION_TEMPLATE, 1).model_copy(
        update={"creditor": sample.creditor, "recipient": sample.recipient})
    assert measure(render(SHIPPED[NEGOTIATION_TEMPLATE].body, values(command))).segments == 3


def test_a_template_of_more_than_six_parts_is_refused() -> None:
    long = MessageTemplate("notice", "sms", "{{creditor}} " + "texto longo " * 80 + "Responda SAIR.")
    with pytest.raises(TemplateRejected, match="renders to 7 SMS parts"):
        check(long, check_length)


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


async def test_a_negotiation_sms_states_the_updated_debt_two_offers_exactly_the_deadline_and_the_link() -> None:
    command = worst_case_command("sms", NEGOTIATION_TEMPLATE, 1)
    message = await _compose(command)
    assert message.payload["text"] == (
        "Prezado(a) Maximiliano, divida de R$ 13.049,36 (R$ 12.345,67 + multa R$ 246,91 + juros R$ 456,78): "
        "à vista R$ 11.091,96 ou 1x R$ 1.039,13 + 11x R$ 1.039,09. Responda ACORDO 1 ou ACORDO 12 ate 17/03/2027. "
        "Mais opcoes: https://pagar.exemplo.com.br/p/Xq3vR8kLm2Pz\n"
        "Credor: Distribuidora Nacional de Materiais Elétricos Ltda, CNPJ 11.222.333/0001-81, Rua Doutor Guilherme "
        "Bannitz, 126, conj. 81, Itaim Bibi, Sao Paulo - SP. Para sair, responda SAIR")
    assert (message.payload["encoding"], message.payload["segments"]) == ("GSM7", 3)


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


def test_an_agreement_template_may_take_up_to_twelve_sms_parts() -> None:
    base = "{{greeting}} {{installments}} {{pix}} {{link}} {{creditor}}. Responda SAIR. "
    units = measure(render(base, values(sample_command("sms", AGREEMENT_TEMPLATE)))).units
    twelve = base + "x" * (12 * 153 - units)  # GSM-7 (values transliterated): 153 septets a part
    check(MessageTemplate(AGREEMENT_TEMPLATE, "sms", twelve), check_length)
    with pytest.raises(TemplateRejected, match=r"renders to 13 SMS parts \(GSM7, 1837 units\) with one invoice; "
                                               "at most 12"):
        check(MessageTemplate(AGREEMENT_TEMPLATE, "sms", twelve + "x"), check_length)
