"""The shipped SMS templates pass the rules; a template too long for SMS is refused when saved; a
negotiation message states the offers (unit)."""

from typing import Any

import pytest

from regua_contracts.contacts import NEGOTIATION_TEMPLATE
from regua_dispatch.pipeline import Message
from regua_dispatch.provider import ProviderClient, RetryPolicy
from regua_dispatch.registry import TemplateRegistry, load_defaults
from regua_dispatch.templates import MessageTemplate, TemplateRejected, check, render, sample_command, values
from regua_dispatch_sms.adapter import SmsAdapter, check_length, max_segments
from regua_dispatch_sms.segments import measure
from regua_platform.ratelimit import TokenBucket


def test_every_ruler_template_is_shipped_and_compliant() -> None:
    defaults = load_defaults("regua_dispatch_sms", "sms", check_length)
    assert sorted(defaults) == ["bureau_notice", "negotiation", "notice", "reminder", "thank_you"]
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


async def test_a_negotiation_sms_states_both_offers_the_deadline_the_link_and_the_reply_codes() -> None:
    sample = sample_command("sms", NEGOTIATION_TEMPLATE)
    command = sample.model_copy(update={"offers": sample.offers[:2]})
    client = ProviderClient("sms", "http://sms.invalid", "token", bucket=TokenBucket(0), retry=RetryPolicy(),
                            timeout_seconds=1, connections=1)
    registry = TemplateRegistry("sms", load_defaults("regua_dispatch_sms", "sms", check_length))
    conn: Any = _NoTenantTemplates()
    composed = await SmsAdapter(client, registry, "REGUA").compose(conn, [command], command.occurred_at)
    message = composed[command.step_id]
    assert isinstance(message, Message)
    assert message.payload["text"].startswith(
        "Olá, Maria, Proposta para quitar R$ 1.234,56: à vista R$ 1.111,10 (desconto de R$ 123,46) ou 2x de "
        "R$ 617,28, com 1º vencimento em 11/03/2027. Prazo para aceitar: 15/03/2027. Responda ACORDO 1 (à vista) "
        f"ou ACORDO 2 (2x). Detalhes e PIX: {command.self_service_url}\nCobrança de Comércio de Exemplo Ltda")
    assert message.payload["text"].endswith("Para não receber mais SMS, responda SAIR.")
    assert message.payload["segments"] == measure(message.payload["text"]).segments
