"""Contact commands (ruler -> a channel's dispatcher) and contact facts (dispatchers -> everyone)."""

import re
from datetime import date, datetime
from typing import Annotated, Final, Literal, get_args
from uuid import UUID

from pydantic import Field, TypeAdapter

from regua_contracts.common import Contract, Creditor, Event, InvoiceSummary


class Recipient(Contract):
    debtor_id: UUID
    name: str
    email: str | None = None
    phone: str | None = None
    state: str | None = None
    #: The person behind the debtor, the same for every creditor (assigned by ingestion per CPF/CNPJ, never
    #: the document itself): contact caps, the silence after a conversation and wrong numbers are theirs.
    person_id: UUID | None = None
    postcode: str | None = None
    city_ibge: str | None = None


#: Contact commands with this template carry the debtor's offers: the ruler routes them through negotiation
#: (topics.OFFER_COMMANDS), which fills ``offers`` and ``self_service_url`` and forwards them to the channel.
NEGOTIATION_TEMPLATE: Final = "negotiation"
#: The confirmation of a new agreement; negotiation fills ``installments`` (with their PIX codes) on the way.
AGREEMENT_TEMPLATE: Final = "agreement"
#: The templates whose commands the ruler sends through negotiation (topics.OFFER_COMMANDS).
NEGOTIATED_TEMPLATES: Final = frozenset({NEGOTIATION_TEMPLATE, AGREEMENT_TEMPLATE})


def step_label(step_key: str) -> str:
    """A step key as a metric label: one-off steps ("answer:<id>", "agent:<id>") by their kind, so labels
    stay few."""
    return step_key.split(":", 1)[0]


class DebtSummary(Contract):
    """The updated debt an offer's discount is taken from: principal, late fine and interest, in cents."""

    principal_cents: int
    fine_cents: int
    interest_cents: int
    total_cents: int
    as_of: date


class OfferSummary(Contract):
    """One option of the debtor's offer menu, as a message shows it."""

    installments: int
    total_cents: int
    down_payment_cents: int = Field(default=0, description="the first installment whenever it differs from the "
                                    "others: a down payment the policy raised, or the cents that do not divide "
                                    "(0: all installments equal)")
    installment_cents: int = Field(description="each installment after the first when down_payment_cents is set, "
                                               "else every installment: total = first + (n - 1) x this")
    first_due: date
    discount_cents: int
    expires_on: date


class InstallmentSummary(Contract):
    """One installment of an agreement, as a confirmation shows it: what to pay, by when, and how (PIX)."""

    number: int
    amount_cents: int
    due_date: date
    pix_copia_e_cola: str
    payment_reference: str


class ContactRequested(Event):
    """Send one message for one ruler step. ``step_id`` is the idempotency key end to end."""

    type: Literal["contact.requested.v1"] = "contact.requested.v1"
    step_id: UUID
    step_key: str = Field(description="the ruler step, e.g. D-5, or 'thank-you'")
    channel: str
    template: str
    tone: str
    recipient: Recipient
    creditor: Creditor
    invoices: list[InvoiceSummary]
    scheduled_for: datetime
    offers: list[OfferSummary] = Field(default=[], description="filled by negotiation for the negotiation template")
    installments: list[InstallmentSummary] = Field(default=[], description="filled by negotiation for the "
                                                   "agreement template")
    self_service_url: str | None = Field(default=None, description="signed, expiring link to the debtor's page")
    agreement_id: UUID | None = Field(default=None, description="the agreement an agreement confirmation is about")
    updated_debt: DebtSummary | None = Field(default=None, description="filled by negotiation with the offers: "
                                             "the debt each discount is taken from")
    pay_by: date | None = Field(default=None, description="the last day to pay before the next measure (a bureau "
                                "listing's prior notice states it)")
    fired_invoice_ids: list[UUID] | None = Field(
        default=None, description="the invoices the ruler fired this step for, when negotiation widened "
        "``invoices`` to what its offers cover (None: all of ``invoices``). The ruler fires no step of a paused "
        "case, so a dispatcher may trust a fired invoice's case to be active; not the others'.")


class ContactAttempted(Event):
    type: Literal["contact.attempted.v1"] = "contact.attempted.v1"
    step_id: UUID
    step_key: str
    channel: str
    debtor_id: UUID
    invoice_ids: list[UUID]
    outcome: Literal["sent", "failed", "suppressed"]
    reason: str = ""


class ContactOptedOut(Event):
    type: Literal["contact.opted-out.v1"] = "contact.opted-out.v1"
    debtor_id: UUID
    channel: str
    source: str = Field(description="unsubscribe-link, reply, agent")
    scope: Literal["creditor", "agency"] = Field(default="creditor", description="creditor: this creditor's "
                                                 "messages only; agency: every creditor the agency collects for")


class ContactDelivered(Event):
    """The provider confirmed delivery (SMS receipt, WhatsApp 'delivered'/'read')."""

    type: Literal["contact.delivered.v1"] = "contact.delivered.v1"
    step_id: UUID
    channel: str
    debtor_id: UUID
    status: str = Field(description="provider status, e.g. delivered, read")


class ContactFailed(Event):
    """The provider reported a failure after sending (bounce, undeliverable)."""

    type: Literal["contact.failed.v1"] = "contact.failed.v1"
    step_id: UUID
    channel: str
    debtor_id: UUID
    reason: str
    contact_invalid: bool = Field(description="the address or number itself is bad (hard bounce, invalid number)")


class ContactInvalidated(Event):
    """A debtor's e-mail or phone must not be used again; the ruler falls back to the next channel."""

    type: Literal["contact.invalidated.v1"] = "contact.invalidated.v1"
    debtor_id: UUID
    contact: Literal["email", "phone"]
    reason: str


#: A reply that accepts an offer by its number of installments: "ACORDO" or "ACORDO 1" pays in full,
#: "ACORDO 3" (or "acordo 3x") takes the three-installment offer; the label a message shows after the code
#: may be copied with it ("ACORDO 2 (2x)"). Dispatchers recognise it, negotiation acts on it.
OFFER_REPLY_CODE: Final = re.compile(r"^\s*acordo\s*(\d{1,2})?\s*x?\s*(\([^()]{0,20}\))?\s*[.!]?\s*$",
                                     re.IGNORECASE)


def accepted_installments(text: str) -> int | None:
    """The number of installments a reply code accepts, or None when the text is not a reply code."""
    match = OFFER_REPLY_CODE.match(text)
    return int(match.group(1) or 1) if match else None


class DebtorReplied(Event):
    type: Literal["debtor.replied.v1"] = "debtor.replied.v1"
    debtor_id: UUID
    channel: str
    text: str
    received_at: datetime


class NegotiationRequested(Event):
    """The debtor (by reply) or an agent asked for an offer. The ruler answers it with a message carrying the
    offers on ``channel`` (or the next usable one), through the compliance gate."""

    type: Literal["negotiation.requested.v1"] = "negotiation.requested.v1"
    debtor_id: UUID
    channel: str
    source: str = Field(description="reply, agent, self-service")


CallOutcome = Literal["promise_to_pay", "wrong_number", "refused", "no_answer", "callback", "conversation_held"]
#: Outcomes in which the debtor was reached and talked: each starts the 7-day no-call period.
CONVERSATIONS: frozenset[str] = frozenset({"conversation_held", "promise_to_pay", "refused"})


class CallOutcomeRecorded(Event):
    """An agent's call and its outcome. A promise pauses the case until the day after the promise date;
    a conversation starts the 7-day no-call period; a wrong number invalidates the phone."""

    type: Literal["call.outcome-recorded.v1"] = "call.outcome-recorded.v1"
    step_id: UUID
    debtor_id: UUID
    invoice_ids: list[UUID]
    outcome: CallOutcome
    agent_id: str
    called_at: datetime
    promise_date: date | None = None
    promise_amount_cents: int | None = None
    callback_at: datetime | None = None


AnyContactEvent = Annotated[
    ContactAttempted | ContactOptedOut | ContactDelivered | ContactFailed | ContactInvalidated | DebtorReplied
    | NegotiationRequested | CallOutcomeRecorded,
    Field(discriminator="type"),
]
CONTACT_EVENT = TypeAdapter[AnyContactEvent](AnyContactEvent)
#: Every type regua.contacts.v1 may carry: a reader that looks at the type alone still refuses one it does not know.
CONTACT_EVENT_TYPES = frozenset(m.model_fields["type"].default for m in get_args(get_args(AnyContactEvent)[0]))
CONTACT_REQUESTED = TypeAdapter(ContactRequested)
