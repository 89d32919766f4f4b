"""WhatsApp: the 24-hour window, templates with approved names and positional parameters, and the
negotiation message's offers as parameters and as free text (unit)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from regua_contracts.contacts import NEGOTIATION_TEMPLATE, ContactRequested
from regua_dispatch.pipeline import Message
from regua_dispatch.provider import ProviderClient, RetryPolicy
from regua_dispatch.registry import TemplateRegistry, load_defaults
from regua_dispatch.templates import (
    MessageTemplate,
    TemplateRejected,
    check,
    parameters,
    provider_body,
    sample_command,
)
from regua_dispatch_whatsapp.adapter import WhatsAppAdapter, check_template
from regua_dispatch_whatsapp.window import inside_window
from regua_platform.ratelimit import TokenBucket

AT = datetime(2027, 3, 10, 13, tzinfo=UTC)


@pytest.mark.parametrize(("last", "inside"), [
    (None, False),
    (AT - timedelta(hours=23, minutes=59), True),
    (AT - timedelta(hours=24), False),
    (AT - timedelta(days=3), False),
    (AT, True),
    (AT + timedelta(minutes=1), False),  # a message "from the future" opens nothing yet
])
def test_free_text_only_within_24_hours_of_the_debtors_last_message(last: datetime | None, inside: bool) -> None:
    assert inside_window(AT, last) is inside


def test_the_shipped_templates_are_approved_and_compliant() -> None:
    defaults = load_defaults("regua_dispatch_whatsapp", "whatsapp", check_template)
    assert sorted(defaults) == ["bureau_notice", "negotiation", "notice", "reminder", "thank_you"]
    # A template whose parameters changed is a new one at the provider, approved anew: a new version.
    versions = {name: 2 if name == NEGOTIATION_TEMPLATE else 1 for name in defaults}
    assert all(t.approved and t.provider_template == f"regua_{name}_v{versions[name]}" for name, t in defaults.items())
    notice = defaults["notice"]
    assert provider_body(notice.body).startswith("{{1}} Ainda não identificamos o pagamento de {{2}}.")
    assert parameters(notice.body, {"greeting": "g", "invoices": "i", "creditor": "c"}) == ["g", "i", "c"]


@pytest.mark.parametrize(("template", "field"), [
    (MessageTemplate("notice", "whatsapp", "{{creditor}}. Responda SAIR."), "provider_template"),
    (MessageTemplate("notice", "whatsapp", "{{creditor}}. Responda SAIR.", "Notice-V1"), "provider_template"),
    (MessageTemplate("notice", "whatsapp", "{{creditor}} " + "x" * 1100 + " Responda SAIR.", "notice_v1"), "body"),
])
def test_whatsapp_rules(template: MessageTemplate, field: str) -> None:
    with pytest.raises(TemplateRejected) as caught:
        check(template, check_template)
    assert caught.value.field == field


class _Conversations:
    """A connection on which no tenant saved its own template and the debtor last wrote at ``last``."""

    def __init__(self, last: datetime | None) -> None:
        self.last = last

    async def fetch(self, query: str, *args: Any) -> list[dict[str, Any]]:
        if "FROM conversations" in query and self.last is not None:
            return [{"tenant_id": args[1][0], "debtor_id": args[2][0], "last_inbound_at": self.last}]
        return []


async def _compose_negotiation(last_inbound: datetime | None) -> tuple[ContactRequested, dict[str, Any]]:
    sample = sample_command("whatsapp", NEGOTIATION_TEMPLATE)
    command = sample.model_copy(update={"offers": sample.offers[:2]})
    client = ProviderClient("whatsapp", "http://whatsapp.invalid", "token", bucket=TokenBucket(0),
                            retry=RetryPolicy(), timeout_seconds=1, connections=1)
    registry = TemplateRegistry("whatsapp", load_defaults("regua_dispatch_whatsapp", "whatsapp", check_template))
    conn: Any = _Conversations(last_inbound)
    composed = await WhatsAppAdapter(client, registry, "/v21.0/1/messages").compose(conn, [command], AT)
    message = composed[command.step_id]
    assert isinstance(message, Message)
    return command, message.payload


async def test_outside_the_window_the_negotiation_template_gets_the_offers_as_parameters() -> None:
    command, payload = await _compose_negotiation(None)
    assert payload["type"] == "template" and payload["template"]["name"] == "regua_negotiation_v2"
    texts = [p["text"] for p in payload["template"]["components"][0]["parameters"]]
    assert texts == [
        "Olá, Maria,", "R$ 1.234,56",
        "à vista R$ 1.111,10 (desconto de R$ 123,46) ou 2x de R$ 617,28, com 1º vencimento em 11/03/2027",
        "15/03/2027", "ACORDO 1 (à vista) ou ACORDO 2 (2x)", command.self_service_url,
        "Comércio de Exemplo Ltda, CNPJ 11.222.333/0001-81, Av. Paulista, 1000, São Paulo - SP",
    ]
    assert all("\n" not in t for t in texts)  # the Cloud API refuses a parameter with a line break


async def test_inside_the_window_the_negotiation_goes_as_free_text_with_the_offers() -> None:
    command, payload = await _compose_negotiation(AT - timedelta(hours=2))
    text = payload["text"]["body"]
    assert payload["type"] == "text"
    assert ("Preparamos uma proposta para você quitar R$ 1.234,56: à vista R$ 1.111,10 (desconto de R$ 123,46) ou "
            "2x de R$ 617,28, com 1º vencimento em 11/03/2027. Prazo para aceitar: 15/03/2027. Para escolher uma "
            "opção, responda ACORDO 1 (à vista) ou ACORDO 2 (2x). Detalhes e pagamento com PIX: "
            f"{command.self_service_url}\n") in text
    assert text.endswith("Para não receber mais mensagens, responda SAIR.")
