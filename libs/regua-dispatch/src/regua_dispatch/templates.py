"""Message templates for texts (SMS, WhatsApp): pt-BR bodies with ``{{placeholders}}``.

The rules are checked when a template is saved, never discovered at send time: every placeholder is
known, the creditor is named with its CNPJ and address (CDC art. 42-A), the body says how to opt out
("responda SAIR"), only the negotiation template states offers and only the agreement template an
agreement's installments and PIX code (their commands alone carry them). A WhatsApp template message
sends the values of its placeholders as positional parameters ({{1}}, {{2}}, ... in order of appearance),
the shape of the Cloud API."""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from regua_contracts.common import Creditor, InvoiceSummary
from regua_contracts.contacts import (
    AGREEMENT_TEMPLATE,
    NEGOTIATION_TEMPLATE,
    ContactRequested,
    InstallmentSummary,
    OfferSummary,
    Recipient,
)
from regua_dispatch import agreements, offers
from regua_dispatch.formatting import ON_REQUEST, br_date, brl, cnpj, first_name
from regua_dispatch.replies import normalize
from regua_platform import links

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]*)\s*\}\}")
VARIABLES = {
    "greeting": "Olá, Ana! (by tone)",
    "name": "the debtor's full name",
    "first_name": "the debtor's first name",
    "creditor": "name, CNPJ and address of the creditor",
    "creditor_name": "the creditor's name",
    "creditor_cnpj": "the creditor's CNPJ, formatted",
    "creditor_address": "the creditor's address",
    "invoices": "each invoice: number, amount and due date",
    "total": "the total amount",
    "due_date": "the earliest due date",
    "offers": "negotiation only: every offer with its amounts, first due date and discount",
    "offer_deadline": "negotiation only: the day the offers expire",
    "reply_codes": "negotiation only: the replies that accept an offer, e.g. ACORDO 1 (à vista) ou ACORDO 2 (2x)",
    "link": "negotiation and agreement only: the debtor's self-service page (offers, PIX codes and QR codes)",
    "installments": "agreement only: its installments, e.g. 2 parcelas: R$ 100,00 em 05/12/2026 e R$ 100,00 em "
                    "05/01/2027",
    "pix": "agreement only: the PIX copia e cola of the first installment (the others are on the link's page)",
    "payment_reference": "agreement only: the payment reference of the first installment",
}
NEGOTIATION_ONLY = frozenset({"offers", "offer_deadline", "reply_codes"})
AGREEMENT_ONLY = frozenset({"installments", "pix", "payment_reference"})
#: Placeholders filled only in the commands of some templates (negotiation fills them on the way), with what
#: they carry: anywhere else they would state offers nobody made or an agreement nobody signed.
ONLY_IN: dict[str, tuple[tuple[str, ...], str]] = {
    **{name: ((NEGOTIATION_TEMPLATE,), "the debtor's offers") for name in NEGOTIATION_ONLY},
    **{name: ((AGREEMENT_TEMPLATE,), "the agreement's installments and PIX code") for name in AGREEMENT_ONLY},
    "link": ((NEGOTIATION_TEMPLATE, AGREEMENT_TEMPLATE), "the debtor's self-service link"),
}
CREDITOR_PARTS = {"creditor_name", "creditor_cnpj", "creditor_address"}
OPT_OUT_PHRASE = "responda SAIR"


class TemplateRejected(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class MessageTemplate:
    name: str
    channel: str
    body: str
    provider_template: str | None = None  # the approved WhatsApp template's name at the provider
    language: str = "pt_BR"
    approved: bool = False


def placeholders(body: str) -> list[str]:
    return PLACEHOLDER.findall(body)


def check(template: MessageTemplate, extra: Callable[[MessageTemplate], None] | None = None) -> None:
    """Raises TemplateRejected for the first rule the template breaks."""
    if not template.body.strip():
        raise TemplateRejected("body", "must not be empty")
    used = placeholders(template.body)
    unknown = sorted(set(used) - set(VARIABLES))
    if unknown:
        raise TemplateRejected("body", f"unknown placeholder {{{{{unknown[0]}}}}}; known: {', '.join(VARIABLES)}")
    misplaced = sorted(name for name in set(used) & ONLY_IN.keys() if template.name not in ONLY_IN[name][0])
    if misplaced:
        raise TemplateRejected("body", _misplaced(misplaced[0]))
    if "creditor" not in used and not CREDITOR_PARTS <= set(used):
        raise TemplateRejected("body", "must name the creditor with its CNPJ and address (CDC art. 42-A): use "
                                       "{{creditor}}, or {{creditor_name}}, {{creditor_cnpj}} and {{creditor_address}}")
    if normalize(OPT_OUT_PHRASE) not in " ".join(normalize(template.body).split()):
        raise TemplateRejected("body", f"must say how to opt out: include '{OPT_OUT_PHRASE}'")
    if extra is not None:
        extra(template)


def _misplaced(name: str) -> str:
    allowed, carried = ONLY_IN[name]
    whose = "its" if len(allowed) == 1 else "their"
    return (f"{{{{{name}}}}} may be used only in the {' or '.join(map(repr, allowed))} template: only {whose} "
            f"messages carry {carried}")


_GREETINGS = {"friendly": "Olá, {first}!", "informative": "Olá, {first},", "cordial": "Prezado(a) {first},"}


def values(command: ContactRequested) -> dict[str, str]:
    """The placeholder values for one contact command. No value holds a line break (WhatsApp parameters
    may not)."""
    who, creditor, invoices = command.recipient, command.creditor, command.invoices
    first = first_name(who.name)
    greeting = _GREETINGS.get(command.tone, "Prezado(a) Sr(a). {name},").format(first=first, name=who.name)
    known = {
        "greeting": greeting,
        "name": who.name,
        "first_name": first,
        "creditor": f"{creditor.name}, CNPJ {cnpj(creditor.cnpj)}, {creditor.address}",
        "creditor_name": creditor.name,
        "creditor_cnpj": cnpj(creditor.cnpj),
        "creditor_address": creditor.address,
        "invoices": "; ".join(f"nº {i.external_id} de {brl(i.amount_cents)} com vencimento em {br_date(i.due_date)}"
                              for i in invoices),
        "total": brl(sum(i.amount_cents for i in invoices)),
        "due_date": br_date(min(i.due_date for i in invoices)),
        **offers.placeholder_values(command.offers),
        **agreements.placeholder_values(command.installments),
        "link": command.self_service_url or ON_REQUEST,
    }
    return {name: " ".join(value.splitlines()) for name, value in known.items()}


def render(body: str, known: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: known[m.group(1)], body)


def parameters(body: str, known: Mapping[str, str]) -> list[str]:
    """The positional parameters of a template message, in order of appearance."""
    return [known[name] for name in placeholders(body)]


def provider_body(body: str) -> str:
    """The body as submitted to the provider for approval: {{first_name}} ... -> {{1}} ..."""
    counter = iter(range(1, 1000))
    return PLACEHOLDER.sub(lambda _: f"{{{{{next(counter)}}}}}", body)


def sample_command(channel: str, template: str = "notice") -> ContactRequested:
    """A realistic command to render templates with when they are saved (length checks, previews); the
    negotiation template's carries an offer menu, the agreement template's the installments of the 2x offer
    with their PIX codes, and both a self-service link, as negotiation makes them."""
    moment = datetime(2027, 3, 10, 13, tzinfo=UTC)
    command = ContactRequested(
        occurred_at=moment, tenant_id="sample", step_id=UUID(int=0), step_key="D+1", channel=channel,
        template=template, tone="informative",
        recipient=Recipient(debtor_id=UUID(int=0), name="Maria Aparecida dos Santos", phone="+5511987654321"),
        creditor=Creditor(name="Comércio de Exemplo Ltda", cnpj="11222333000181",
                          address="Av. Paulista, 1000, São Paulo - SP"),
        invoices=[InvoiceSummary(invoice_id=UUID(int=0), external_id="NF-000123", amount_cents=123_456,
                                 due_date=date(2027, 3, 9))],
        scheduled_for=moment,
    )
    if template == NEGOTIATION_TEMPLATE:
        return command.model_copy(update={"offers": _sample_offers(), "self_service_url": _sample_link(moment)})
    if template == AGREEMENT_TEMPLATE:
        return command.model_copy(update={"step_key": AGREEMENT_TEMPLATE, "tone": "friendly",
                                          "installments": _sample_installments(),
                                          "self_service_url": _sample_link(moment)})
    return command


def _sample_offers() -> list[OfferSummary]:
    """The sample invoice's menu: 10% off to pay in full, or 2x and 3x of the amount due."""
    first_due, expires_on = date(2027, 3, 11), date(2027, 3, 15)
    return [OfferSummary(installments=1, total_cents=111_110, installment_cents=111_110, first_due=first_due,
                         discount_cents=12_346, expires_on=expires_on),
            *(OfferSummary(installments=n, total_cents=123_456, installment_cents=-(-123_456 // n),
                           first_due=first_due, discount_cents=0, expires_on=expires_on) for n in (2, 3))]


#: BR Codes as negotiation makes them for the sample's 2x agreement, with a random PIX key (36 characters, more
#: than a CNPJ or phone key) so that length checks see codes at least as long as most real ones.
_SAMPLE_PIX = (
    "00020101021226580014br.gov.bcb.pix01367d9f0335-8dcc-4054-9bf9-0dbd61a3c45e5204000053039865406617.285802BR"
    "5924Comercio de Exemplo Ltda6009SAO PAULO62280524RG4f1c2a9e7b3d4c5e8a6f0163046FB5",
    "00020101021226580014br.gov.bcb.pix01367d9f0335-8dcc-4054-9bf9-0dbd61a3c45e5204000053039865406617.285802BR"
    "5924Comercio de Exemplo Ltda6009SAO PAULO62280524RG4f1c2a9e7b3d4c5e8a6f0263048167",
)


def _sample_installments() -> list[InstallmentSummary]:
    """The sample's 2x offer accepted: two monthly installments of R$ 617,28."""
    dues = (date(2027, 3, 11), date(2027, 4, 11))
    return [InstallmentSummary(number=n, amount_cents=61_728, due_date=dues[n - 1], pix_copia_e_cola=_SAMPLE_PIX[n - 1],
                               payment_reference=f"RG4f1c2a9e7b3d4c5e8a6f{n:02d}") for n in (1, 2)]


def _sample_link(moment: datetime) -> str:
    # Signed like negotiation's own links, so that length checks see a link as long as a real one.
    token = links.sign({"p": NEGOTIATION_TEMPLATE, "t": "comercio-exemplo", "d": str(UUID(int=0))}, "sample",
                       moment + timedelta(days=7))
    return f"https://pagar.exemplo.com.br/s/{token}"
