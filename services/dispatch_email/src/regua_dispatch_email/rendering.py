"""Turns a contact command into an e-mail: pt-BR Jinja2 templates, the creditor's identification
(CDC art. 42-A) and a working unsubscribe link in every message. Negotiation commands add their offers,
the offers' deadline and the self-service link, agreement commands their installments, each with its PIX
copia e cola, and the link; every template gets these keys (empty for other commands), as StrictUndefined
refuses a missing one. A negotiation states in full the updated debt (principal, fine, interest) its discounts
are taken from, and each offer's installments exactly ("1x R$ 338,34 + 2x R$ 338,33"); the prior notice of a
bureau listing states the day to pay by when the command carries it (``pay_by``), and never makes one up."""

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound

from regua_contracts.contacts import ContactRequested, DebtSummary, InstallmentSummary, OfferSummary
from regua_dispatch import offers
from regua_dispatch.formatting import br_date, brl, cnpj, first_name


class UnknownTemplate(Exception):
    pass


_LAYOUTS = frozenset({"base"})  # templates the messages extend, not messages of their own


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str


class EmailRenderer:
    def __init__(self) -> None:
        self._env = Environment(loader=PackageLoader("regua_dispatch_email", "templates"),
                                undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)

    def render(self, command: ContactRequested, unsubscribe_url: str) -> RenderedEmail:
        if command.template in _LAYOUTS:
            raise UnknownTemplate(f"no e-mail template named {command.template!r}")
        try:
            template = self._env.get_template(f"{command.template}.txt.j2")
        except TemplateNotFound as exc:
            raise UnknownTemplate(f"no e-mail template named {command.template!r}") from exc
        text = template.render({
            "tone": command.tone,
            "name": command.recipient.name,
            "first_name": first_name(command.recipient.name),
            "creditor": {"name": command.creditor.name, "cnpj": cnpj(command.creditor.cnpj),
                         "address": command.creditor.address},
            "invoices": [{"external_id": i.external_id, "amount": brl(i.amount_cents), "due_date": br_date(i.due_date)}
                         for i in command.invoices],
            "total": brl(sum(i.amount_cents for i in command.invoices)),
            "unsubscribe_url": unsubscribe_url,
            "offers": [_offer(o) for o in command.offers],
            "offer_deadline": br_date(ends) if (ends := offers.deadline(command.offers)) else None,
            "installments": [_installment(i) for i in sorted(command.installments, key=lambda i: i.number)],
            "link": command.self_service_url,
            "updated_debt": _debt(command.updated_debt),
            "pay_by": br_date(command.pay_by) if command.pay_by else None,
            "earliest_due": br_date(min(i.due_date for i in command.invoices)),
        })
        subject, _, body = text.partition("\n")  # templates put the subject on their first line
        subject, body = subject.strip(), body.strip() + "\n"
        return RenderedEmail(subject, body)


def _debt(debt: DebtSummary | None) -> dict[str, str] | None:
    if debt is None:
        return None
    return {"principal": brl(debt.principal_cents), "fine": brl(debt.fine_cents),
            "interest": brl(debt.interest_cents), "total": brl(debt.total_cents), "as_of": br_date(debt.as_of)}


def _offer(offer: OfferSummary) -> dict[str, str | int]:
    return {"label": offers.label(offer), "installments": offer.installments, "total": brl(offer.total_cents),
            "schedule": offers.schedule(offer), "first_due": br_date(offer.first_due),
            "down_payment": brl(offer.down_payment_cents) if offers.has_down_payment(offer) else "",
            "discount": brl(offer.discount_cents) if offer.discount_cents > 0 else ""}


def _installment(installment: InstallmentSummary) -> dict[str, str | int]:
    return {"number": installment.number, "amount": brl(installment.amount_cents),
            "due_date": br_date(installment.due_date), "pix": installment.pix_copia_e_cola,
            "payment_reference": installment.payment_reference}


def build_message(command: ContactRequested, rendered: RenderedEmail, *, sender: str, message_id: str,
                  unsubscribe_url: str) -> EmailMessage:
    assert command.recipient.email
    message = EmailMessage()
    message["From"] = formataddr((command.creditor.name, sender))
    message["To"] = command.recipient.email
    message["Subject"] = rendered.subject
    # The same Message-ID on every transmission of a step lets mailboxes collapse a resend after a crash.
    message["Message-ID"] = message_id
    message["X-Regua-Step-Id"] = str(command.step_id)
    message["X-Regua-Step"] = command.step_key
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(rendered.body)
    return message
