"""Message templates for texts (SMS, WhatsApp): pt-BR bodies with ``{{placeholders}}``.

The rules are checked when a template is saved, never discovered at send time: every placeholder is
known, the creditor is named with its CNPJ and address (CDC art. 42-A), the body says how to opt out
("responda SAIR"), only the negotiation template states offers and the updated debt, only the agreement
template an agreement's installments and PIX code, only the bureau notice the day to pay by (their commands
alone carry them), and the sentence goes on in lower case after the greeting ("Olá, Maria, sua fatura ...":
every greeting ends with a comma, whatever the tone, since an approved WhatsApp template fixes the words
after it). Placeholders that speak of the invoices agree with their number ("sua fatura venceu", "suas
faturas venceram").

SMS values are brief (two offers with their reply codes, the offers' deadline as dd/mm, the invoices' count
and total rather than each number, a formal greeting by first name) and written in the GSM 03.38 alphabet
(``formatting.gsm7``), so that a message goes as GSM-7, 160 characters a part, not UCS-2, 70.

A WhatsApp template message sends the values of its placeholders as positional parameters ({{1}}, {{2}}, ...
in order of appearance), the shape of the Cloud API."""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from regua_contracts.common import Creditor, InvoiceSummary
from regua_contracts.contacts import (
    AGREEMENT_TEMPLATE,
    NEGOTIATION_TEMPLATE,
    ContactRequested,
    DebtSummary,
    InstallmentSummary,
    OfferSummary,
    Recipient,
)
from regua_dispatch import agreements, offers
from regua_dispatch.formatting import ON_REQUEST, br_date, br_dates, brl, cnpj, first_name, gsm7, listing, plural
from regua_dispatch.replies import normalize
from regua_platform import links

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]*)\s*\}\}")
VARIABLES = {
    "greeting": "Olá, Ana, (by tone; always ends with a comma: the sentence goes on in lower case)",
    "name": "the debtor's full name",
    "first_name": "the debtor's first name",
    "creditor": "name, CNPJ and address of the creditor",
    "creditor_name": "the creditor's name",
    "creditor_cnpj": "the creditor's CNPJ, formatted",
    "creditor_address": "the creditor's address",
    "invoices": "each invoice: number, amount and due date",
    "your_invoices": "sua fatura nº NF-1, de R$ 10,00 | suas faturas nº NF-1 e nº NF-2, no total de R$ 30,00",
    "invoices_due": "the same, then 'vence em 09/03/2027' | 'vencem entre 01/03/2027 e 09/03/2027'",
    "invoices_overdue": "the same, then 'venceu em 09/03/2027' | 'venceram entre 01/03/2027 e 09/03/2027'",
    "total": "the total amount",
    "due_date": "the earliest due date",
    "updated_debt": "negotiation only: the debt the discounts are taken from, e.g. R$ 1.260,06 (principal "
                    "R$ 1.200,00 + multa R$ 24,00 + juros R$ 36,06, em 10/03/2027); else the invoices' total",
    "offers": "negotiation only: every offer with its amounts, first due date and discount",
    "offer_deadline": "negotiation only: the day the offers expire (SMS: 15/03)",
    "reply_codes": "negotiation only: the replies that accept an offer, e.g. ACORDO 1 (à vista) ou ACORDO 2 (2x); "
                   "SMS: ACORDO 1 (à vista R$ 1.111,10) ou ACORDO 3 (3x), two offers",
    "link": "negotiation and agreement only: the debtor's self-service page (offers, PIX codes and QR codes)",
    "installments": "agreement only: its installments, e.g. 2 parcelas: R$ 100,00 em 05/12/2026 e R$ 100,00 em "
                    "05/01/2027",
    "pay_by": "bureau_notice only: 'até 25/03/2027', the last day to pay before the listing; without that day "
              "in the command, 'no prazo legal contado do recebimento deste aviso' (SMS: 'no prazo legal deste "
              "aviso'; no day is made up)",
    "pix": "agreement only: the PIX copia e cola of the first installment (the others are on the link's page)",
    "payment_reference": "agreement only: the payment reference of the first installment",
}
NEGOTIATION_ONLY = frozenset({"offers", "offer_deadline", "reply_codes", "updated_debt"})
BUREAU_NOTICE_TEMPLATE = "bureau_notice"
AGREEMENT_ONLY = frozenset({"installments", "pix", "payment_reference"})
#: Placeholders filled only in the commands of some templates (negotiation fills them on the way), with what
#: they carry: anywhere else they would state offers nobody made or an agreement nobody signed.
ONLY_IN: dict[str, tuple[tuple[str, ...], str]] = {
    **{name: ((NEGOTIATION_TEMPLATE,), "the debtor's offers") for name in NEGOTIATION_ONLY - {"updated_debt"}},
    "updated_debt": ((NEGOTIATION_TEMPLATE,), "the updated debt the offers are taken from"),
    **{name: ((AGREEMENT_TEMPLATE,), "the agreement's installments and PIX code") for name in AGREEMENT_ONLY},
    "link": ((NEGOTIATION_TEMPLATE, AGREEMENT_TEMPLATE), "the debtor's self-service link"),
    "pay_by": ((BUREAU_NOTICE_TEMPLATE,), "the day to pay by before a bureau listing"),
}
#: Channels whose values are brief and in the GSM 03.38 alphabet.
BRIEF_CHANNELS = frozenset({"sms"})
#: What the prior notice of a bureau listing says when the command carries no day to pay by: no day is made up.
WITHOUT_PAY_BY = "no prazo legal contado do recebimento deste aviso"
#: The same in a brief text (SMS), which has no room for the whole phrase.
WITHOUT_PAY_BY_BRIEF = "no prazo legal deste aviso"
#: The word right after {{greeting}} on the same line: it must not be capitalised ("{{greeting}} Sua fatura"),
#: since every greeting ends with a comma. Acronyms (PIX, CDC) and placeholders pass.
_AFTER_GREETING = re.compile(r"\{\{\s*greeting\s*\}\}[ \t]*(\w+)")
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
    for word in _AFTER_GREETING.findall(template.body):
        if word[0].isupper() and not word.isupper():
            raise TemplateRejected("body", "the greeting ends with a comma: go on in lower case after "
                                           f"{{{{greeting}}}} ({word!r})")
    if extra is not None:
        extra(template)


def _misplaced(name: str) -> str:
    allowed, carried = ONLY_IN[name]
    whose = "its" if len(allowed) == 1 else "their"
    return (f"{{{{{name}}}}} may be used only in the {' or '.join(map(repr, allowed))} template: only {whose} "
            f"messages carry {carried}")


_GREETINGS = {"friendly": "Olá, {first},", "informative": "Olá, {first},", "cordial": "Prezado(a) {first},"}


def greeting(tone: str, name: str, *, brief: bool = False) -> str:
    """By tone, always ending with a comma: 'Olá, Maria,', 'Prezado(a) Maria,', 'Prezado(a) Sr(a). Maria
    Aparecida dos Santos,' (brief: 'Sr(a). Maria,', as formal in eleven characters fewer)."""
    formal = "Sr(a). {first}," if brief else "Prezado(a) Sr(a). {name},"
    return _GREETINGS.get(tone, formal).format(first=first_name(name), name=name)


def your_invoices(invoices: Sequence[InvoiceSummary], *, brief: bool = False) -> str:
    """'sua fatura nº NF-1, de R$ 10,00', 'suas faturas nº NF-1 e nº NF-2, no total de R$ 30,00'; brief (SMS):
    'sua fatura NF-1, de R$ 10,00', 'suas 2 faturas, total R$ 30,00'."""
    number = "" if brief else "nº "
    if len(invoices) == 1:
        return f"sua fatura {number}{invoices[0].external_id}, de {brl(invoices[0].amount_cents)}"
    total = brl(sum(i.amount_cents for i in invoices))
    if brief:
        return f"suas {len(invoices)} faturas, total {total}"
    return f"suas faturas {listing([f'nº {i.external_id}' for i in invoices], 'e')}, no total de {total}"


def invoices_falling_due(invoices: Sequence[InvoiceSummary], *, overdue: bool, brief: bool = False) -> str:
    """'sua fatura nº NF-1, de R$ 10,00, venceu em 09/03/2027', 'suas faturas ..., vencem entre 01/03/2027 e
    09/03/2027'."""
    verb = plural(len(invoices), "venceu", "venceram") if overdue else plural(len(invoices), "vence", "vencem")
    return f"{your_invoices(invoices, brief=brief)}, {verb} {br_dates([i.due_date for i in invoices])}"


def pay_by(day: date | None, *, brief: bool = False) -> str:
    """'até 25/03/2027' (with the year even by SMS: a legal notice states its day in full); without a day,
    the legal window, never a day made up."""
    if day:
        return f"até {br_date(day)}"
    return WITHOUT_PAY_BY_BRIEF if brief else WITHOUT_PAY_BY


def values(command: ContactRequested) -> dict[str, str]:
    """The placeholder values for one contact command. No value holds a line break (WhatsApp parameters
    may not). On a brief channel (SMS) they are brief and in the GSM 03.38 alphabet."""
    who, creditor, invoices = command.recipient, command.creditor, command.invoices
    brief = command.channel in BRIEF_CHANNELS
    total_cents = sum(i.amount_cents for i in invoices)
    known = {
        "greeting": greeting(command.tone, who.name, brief=brief),
        "name": who.name,
        "first_name": first_name(who.name),
        "creditor": f"{creditor.name}, CNPJ {cnpj(creditor.cnpj)}, {creditor.address}",
        "creditor_name": creditor.name,
        "creditor_cnpj": cnpj(creditor.cnpj),
        "creditor_address": creditor.address,
        "invoices": "; ".join(f"nº {i.external_id} de {brl(i.amount_cents)} com vencimento em {br_date(i.due_date)}"
                              for i in invoices),
        "your_invoices": your_invoices(invoices, brief=brief),
        "invoices_due": invoices_falling_due(invoices, overdue=False, brief=brief),
        "invoices_overdue": invoices_falling_due(invoices, overdue=True, brief=brief),
        "total": brl(total_cents),
        "due_date": br_date(min(i.due_date for i in invoices)),
        "updated_debt": offers.debt(command.updated_debt, total_cents, brief=brief),
        "pay_by": pay_by(command.pay_by, brief=brief),
        **offers.placeholder_values(command.offers, brief=brief),
        **agreements.placeholder_values(command.installments),
        "link": command.self_service_url or ON_REQUEST,
    }
    flat = {name: " ".join(value.splitlines()) for name, value in known.items()}
    return {name: gsm7(value) for name, value in flat.items()} if brief else flat


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
        return command.model_copy(update={"offers": _sample_offers(), "self_service_url": _sample_link(moment),
                                          "updated_debt": _SAMPLE_DEBT})
    if template == BUREAU_NOTICE_TEMPLATE:
        return command.model_copy(update={"tone": "firm", "pay_by": date(2027, 3, 20)})
    if template == AGREEMENT_TEMPLATE:
        return command.model_copy(update={"step_key": AGREEMENT_TEMPLATE, "tone": "friendly",
                                          "installments": _sample_installments(),
                                          "self_service_url": _sample_link(moment)})
    return command


#: The sample invoice's debt a day after it fell due: 2% fine and 1% interest on R$ 1.234,56.
_SAMPLE_DEBT = DebtSummary(principal_cents=123_456, fine_cents=2_469, interest_cents=1_235, total_cents=127_160,
                           as_of=date(2027, 3, 10))


def _sample_offers() -> list[OfferSummary]:
    """The sample invoice's menu: R$ 1.111,10 to pay in full, or 2x and 3x of the amount due, fine and interest
    waived (discounts off the updated debt)."""
    first_due, expires_on = date(2027, 3, 11), date(2027, 3, 15)
    waived = _SAMPLE_DEBT.total_cents - 123_456
    return [OfferSummary(installments=1, total_cents=111_110, installment_cents=111_110, first_due=first_due,
                         discount_cents=_SAMPLE_DEBT.total_cents - 111_110, expires_on=expires_on),
            *(OfferSummary(installments=n, total_cents=123_456, installment_cents=-(-123_456 // n),
                           first_due=first_due, discount_cents=waived, expires_on=expires_on) for n in (2, 3))]


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
    token = links.sign(links.SELF_SERVICE, {"t": "comercio-exemplo", "d": str(UUID(int=0))}, "sample",
                       moment + timedelta(days=7))
    return f"https://pagar.exemplo.com.br/s/{token}"


#: The ruler's tone for each template (services/ruler default_ruler.yaml, thank-you and agreement steps).
_TONES = {"reminder": "friendly", "notice": "informative", NEGOTIATION_TEMPLATE: "cordial",
          BUREAU_NOTICE_TEMPLATE: "firm", AGREEMENT_TEMPLATE: "friendly", "thank_you": "friendly"}


#: A creditor of usual length at its longest: a 40-character name and a 60-character address (most are shorter,
#: e.g. "Energia Solar Horizonte Ltda", "Rua das Palmeiras, 200, Belo Horizonte - MG"). SMS templates are held to
#: their part limits with it (regua_dispatch_sms.adapter.check_length).
USUAL_CREDITOR = Creditor(name="Energia Solar Horizonte Instalações Ltda", cnpj="11222333000181",
                          address="Rua das Palmeiras, 200, sl. 12, Savassi, Belo Horizonte - MG")


def worst_case_command(channel: str, template: str, invoices: int = 4,
                       creditor: Creditor | None = None) -> ContactRequested:
    """A realistic worst case to measure a text's length with (SMS parts): a long creditor name and address
    (``creditor``, e.g. USUAL_CREDITOR, replaces them), a long debtor name, ``invoices`` invoices with long
    numbers and five-digit amounts on different days, the tone the default ruler uses, an offer menu of 1x to
    12x with cents that do not divide, the updated debt, a 12-installment agreement, the short link negotiation
    sends (``/p/<12 characters>``) and a day to pay by."""
    moment = datetime(2027, 3, 10, 13, tzinfo=UTC)
    dues = [date(2027, 2, 1) + timedelta(days=7 * k) for k in range(invoices)]
    owed = [InvoiceSummary(invoice_id=UUID(int=k), external_id=f"NF-2027-{4512 + k:07d}",
                           amount_cents=1_234_567 + 1_111 * k, due_date=due) for k, due in enumerate(dues)]
    principal = sum(i.amount_cents for i in owed)
    fine, interest = principal * 2 // 100, principal * 37 // 1000
    updated = DebtSummary(principal_cents=principal, fine_cents=fine, interest_cents=interest,
                          total_cents=principal + fine + interest, as_of=moment.date())
    command = ContactRequested(
        occurred_at=moment, tenant_id="sample", step_id=UUID(int=0), step_key="D+1", channel=channel,
        template=template, tone=_TONES.get(template, "firm"),
        recipient=Recipient(debtor_id=UUID(int=0), name="Maximiliano Conceição de Albuquerque",
                            phone="+5511987654321"),
        creditor=creditor or Creditor(
            name="Distribuidora Nacional de Materiais Elétricos Ltda", cnpj="11222333000181",
            address="Rua Doutor Guilherme Bannitz, 126, conj. 81, Itaim Bibi, São Paulo - SP"),
        invoices=owed, scheduled_for=moment,
    )
    link = "https://pagar.exemplo.com.br/p/Xq3vR8kLm2Pz"
    if template == NEGOTIATION_TEMPLATE:
        first_due, expires_on = date(2027, 3, 15), date(2027, 3, 17)
        cash = updated.total_cents - updated.total_cents * 15 // 100
        menu = [OfferSummary(installments=1, total_cents=cash, installment_cents=cash, first_due=first_due,
                             discount_cents=updated.total_cents - cash, expires_on=expires_on)]
        financed = principal + fine // 2
        for n in (2, 3, 6, 12):
            base, extra = divmod(financed, n)
            menu.append(OfferSummary(installments=n, total_cents=financed, installment_cents=base + extra,
                                     first_due=first_due, discount_cents=updated.total_cents - financed,
                                     expires_on=expires_on))
        return command.model_copy(update={"offers": menu, "self_service_url": link, "updated_debt": updated})
    if template == AGREEMENT_TEMPLATE:
        base, extra = divmod(updated.total_cents, 12)
        plan = [InstallmentSummary(number=n, amount_cents=base + (extra if n == 1 else 0),
                                   due_date=date(2027 + (n + 1) // 12, (n + 1) % 12 + 1, 15),
                                   pix_copia_e_cola=_SAMPLE_PIX[0], payment_reference=f"RG4f1c2a9e7b3d4c5e8a6f{n:02d}")
                for n in range(1, 13)]
        return command.model_copy(update={"installments": plan, "self_service_url": link})
    if template == BUREAU_NOTICE_TEMPLATE:
        return command.model_copy(update={"pay_by": date(2027, 3, 30)})
    return command
