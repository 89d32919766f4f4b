"""WhatsApp: the 24-hour window, templates with approved names and positional parameters, and the
negotiation message's offers and the agreement's confirmation as parameters and as free text (unit)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from regua_contracts.contacts import AGREEMENT_TEMPLATE, NEGOTIATION_TEMPLATE, ContactRequested
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
    assert sorted(defaults) == ["agreement", "bureau_notice", "negotiation", "notice", "reminder", "thank_you"]
    # A template whose words or parameters changed is a new one at the provider, approved anew: a new version
    # (v2: lower case after the greeting, singular or plural by the number of invoices; negotiation v3: the
    # updated debt; bureau_notice v2: the day to pay by).
    versions = {name: 3 if name == NEGOTIATION_TEMPLATE else 2 for name in defaults}
    assert all(t.approved and t.provider_template == f"regua_{name}_v{versions[name]}" for name, t in defaults.items())
    notice = defaults["notice"]
    assert provider_body(notice.body).startswith("{{1}} {{2}} e ainda não identificamos o pagamento.")
    assert parameters(notice.body, {"greeting": "g", "invoices_overdue": "i", "creditor": "c"}) == ["g", "i", "c"]


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
    return command, await _compose(command, last_inbound)


async def _compose(command: ContactRequested, last_inbound: datetime | None) -> dict[str, Any]:
    client = ProviderClient("whatsapp", "http://whatsapp.invalid", "token", bucket=TokenBucket(0),
                            retry=RetryPolicy(), timeout_seconds=1, connections=1)
    registry = TemplateRegistry("whatsapp", load_defaults("regua_dispatch_whatsapp", "whatsapp", check_template))
    conn: Any = _Conversations(last_inbound)
    composed = await WhatsAppAdapter(client, registry, "/v21.0/1/messages").compose(conn, [command], AT)
    message = composed[command.step_id]
    assert isinstance(message, Message)
    return message.payload


async def test_outside_the_window_the_negotiation_template_gets_the_offers_as_parameters() -> None:
    command, payload = await _compose_negotiation(None)
    assert payload["type"] == "template" and payload["template"]["name"] == "regua_negotiation_v3"
    texts = [p["text"] for p in payload["template"]["components"][0]["parameters"]]
    assert texts == [
        "Olá, Maria,", "sua fatura nº NF-000123, de R$ 1.234,56",
        "R$ 1.271,60 (principal R$ 1.234,56 + multa R$ 24,69 + juros R$ 12,35, em 10/03/2027)",
        "à vista R$ 1.111,10 (desconto de R$ 160,50) ou 2x R$ 617,28 (desconto de R$ 37,04), com 1º vencimento em "
        "11/03/2027",
        "15/03/2027", "ACORDO 1 (à vista) ou ACORDO 2 (2x)", command.self_service_url,
        "Comércio de Exemplo Ltda, CNPJ 11.222.333/0001-81, Av. Paulista, 1000, São Paulo - SP",
    ]
    assert all("\n" not in t for t in texts)  # the Cloud API refuses a parameter with a line break


async def test_inside_the_window_the_negotiation_goes_as_free_text_with_the_offers() -> None:
    command, payload = await _compose_negotiation(AT - timedelta(hours=2))
    text = payload["text"]["body"]
    assert payload["type"] == "text"
    assert text.startswith("Olá, Maria, sabemos que imprevistos acontecem. Preparamos uma proposta para você "
                           "quitar sua fatura nº NF-000123, de R$ 1.234,56. Dívida atualizada: R$ 1.271,60 (principal "
                           "R$ 1.234,56 + multa R$ 24,69 + juros R$ 12,35, em 10/03/2027). Opções: à vista R$ 1.111,10 "
                           "(desconto de R$ 160,50) ou 2x R$ 617,28 (desconto de R$ 37,04), com 1º vencimento em "
                           "11/03/2027. Prazo para aceitar: 15/03/2027. Para escolher uma opção, responda ACORDO 1 "
                           f"(à vista) ou ACORDO 2 (2x). Detalhes e pagamento com PIX: {command.self_service_url}\n")
    assert text.endswith("Para não receber mais mensagens, responda SAIR.")


AGREEMENT = sample_command("whatsapp", AGREEMENT_TEMPLATE)
FIRST_PIX, SECOND_PIX = (i.pix_copia_e_cola for i in AGREEMENT.installments)
CREDITOR = "Comércio de Exemplo Ltda, CNPJ 11.222.333/0001-81, Av. Paulista, 1000, São Paulo - SP"


async def test_outside_the_window_the_agreement_template_gets_the_first_pix_code_as_a_parameter() -> None:
    payload = await _compose(AGREEMENT, None)
    assert payload["type"] == "template" and payload["template"]["name"] == "regua_agreement_v2"
    texts = [p["text"] for p in payload["template"]["components"][0]["parameters"]]
    assert texts == ["Olá, Maria,", "2 parcelas: R$ 617,28 em 11/03/2027 e R$ 617,28 em 11/04/2027", FIRST_PIX,
                     AGREEMENT.self_service_url, CREDITOR]
    assert SECOND_PIX not in texts
    assert all("\n" not in t for t in texts)  # the Cloud API refuses a parameter with a line break


async def test_inside_the_window_the_agreement_goes_as_free_text_with_the_pix_code_on_a_line_of_its_own() -> None:
    payload = await _compose(AGREEMENT, AT - timedelta(hours=1))  # the debtor just replied "ACORDO 2"
    text = payload["text"]["body"]
    assert payload["type"] == "text"
    assert text == (
        "Olá, Maria, seu acordo está confirmado, com 2 parcelas: R$ 617,28 em 11/03/2027 e R$ 617,28 em "
        "11/04/2027. Para pagar o 1º vencimento, copie o código abaixo e cole no app do seu banco, na opção PIX "
        "copia e cola:\n"
        f"{FIRST_PIX}\nO QR Code e o PIX de cada vencimento estão em {AGREEMENT.self_service_url}\n"
        f"Credor: {CREDITOR}. Para não receber mais mensagens, responda SAIR.")
    assert SECOND_PIX not in text
