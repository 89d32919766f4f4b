"""The shipped SMS templates pass the rules; a template too long for SMS is refused when saved; a
negotiation message states the offers, an agreement's confirmation its installments and first PIX code
(unit)."""

from typing import Any

import pytest

from regua_contracts.contacts import AGREEMENT_TEMPLATE, NEGOTIATION_TEMPLATE, ContactRequested
from regua_dispatch.pipeline import Message
from regua_dispatch.provider import ProviderClient, RetryPolicy
from regua_dispatch.registry import TemplateRegistry, load_defaults
from regua_dispatch.templates import MessageTemplate, TemplateRejected, check, render, sample_command, values
from regua_dispatch_sms.adapter import SmsAdapter, check_length, max_segments
from regua_dispatch_sms.segments import measure
from regua_platform.ratelimit import TokenBucket


def test_every_ruler_template_is_shipped_and_compliant() -> None:
    defaults = load_defaults("regua_dispatch_sms", "sms", check_length)
    assert sorted(defaults) == ["agreement", "bureau_notice", "negotiation", "notice", "reminder", "thank_you"]
    for name, template in defaults.items():
        text = render(template.body, values(sample_command("sms", name)))
        assert "Comércio de Exemplo Ltda, CNPJ 11.222.333/0001-81, Av. Paulista, 1000, São Paulo - SP" in text
        assert "responda SAIR" in text
        assert measure(text).segments < max_segments(template)  # room for a tenant's longer name


def test_a_template_of_more_than_six_parts_is_refused() -> None:
    long = MessageTemplate("notice", "sms", "{{creditor}} " + "texto longo " * 40 + "Responda SAIR.")
    with pytest.raises(TemplateRejected, match="renders to 9 SMS parts"):
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


async def test_a_negotiation_sms_states_both_offers_the_deadline_the_link_and_the_reply_codes() -> None:
    sample = sample_command("sms", NEGOTIATION_TEMPLATE)
    command = sample.model_copy(update={"offers": sample.offers[:2]})
    message = await _compose(command)
    assert message.payload["text"].startswith(
        "Olá, Maria, Proposta para quitar R$ 1.234,56: à vista R$ 1.111,10 (desconto de R$ 123,46) ou 2x de "
        "R$ 617,28, com 1º vencimento em 11/03/2027. Prazo para aceitar: 15/03/2027. Responda ACORDO 1 (à vista) "
        f"ou ACORDO 2 (2x). Detalhes e PIX: {command.self_service_url}\nCobrança de Comércio de Exemplo Ltda")
    assert message.payload["text"].endswith("Para não receber mais SMS, responda SAIR.")
    assert message.payload["segments"] == measure(message.payload["text"]).segments


async def test_an_agreement_sms_states_the_installments_the_first_pix_code_alone_and_the_link() -> None:
    command = sample_command("sms", AGREEMENT_TEMPLATE)
    first, second = command.installments
    message = await _compose(command)
    text = message.payload["text"]
    assert text == (
        "Olá, Maria! Acordo confirmado, com 2 parcelas: R$ 617,28 em 11/03/2027 e R$ 617,28 em 11/04/2027. "
        f"PIX copia e cola do 1º vencimento:\n{first.pix_copia_e_cola}\n"
        f"QR Code e PIX de cada vencimento: {command.self_service_url}\n"
        "Credor: Comércio de Exemplo Ltda, CNPJ 11.222.333/0001-81, Av. Paulista, 1000, São Paulo - SP. "
        "Para não receber mais SMS, responda SAIR.")
    assert second.pix_copia_e_cola not in text  # the page has it: one code keeps the SMS short enough
    assert message.payload["segments"] == measure(text).segments == 11
    assert message.detail["template"] == AGREEMENT_TEMPLATE


async def test_an_agreement_sms_without_installments_is_still_sent_sensibly() -> None:
    command = sample_command("sms", AGREEMENT_TEMPLATE).model_copy(update={"installments": []})
    text = (await _compose(command)).payload["text"]
    assert text.startswith("Olá, Maria! Acordo confirmado, com valores e vencimentos sob consulta. PIX copia e "
                           f"cola do 1º vencimento:\nsob consulta\nQR Code e PIX de cada vencimento: "
                           f"{command.self_service_url}\n")


def test_an_agreement_template_may_take_up_to_twelve_sms_parts() -> None:
    base = "{{greeting}} {{installments}} {{pix}} {{link}} {{creditor}}. Responda SAIR. "
    units = measure(render(base, values(sample_command("sms", AGREEMENT_TEMPLATE)))).units
    twelve = base + "x" * (12 * 67 - units)  # UCS-2 (the creditor's name has accents): 67 units a part
    check(MessageTemplate(AGREEMENT_TEMPLATE, "sms", twelve), check_length)
    with pytest.raises(TemplateRejected, match=r"renders to 13 SMS parts \(UCS2, 805 units\) with one invoice; "
                                               "at most 12"):
        check(MessageTemplate(AGREEMENT_TEMPLATE, "sms", twelve + "x"), check_length)
