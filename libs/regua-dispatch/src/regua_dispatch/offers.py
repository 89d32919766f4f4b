"""How a message states the debtor's offers (negotiation template): pt-BR, every value on one line
(WhatsApp parameters may not hold a line break). The reply codes are the ones
regua_contracts.contacts.accepted_installments reads back: "ACORDO 2" accepts the 2x offer.

Installments are stated exactly, as the debtor will pay them: "3x R$ 338,33" only when all three are equal,
else "1x R$ 338,34 + 2x R$ 338,33" (the first carries the cents that do not divide) or "entrada de R$ 500,00
+ 2x R$ 250,00" (a down payment the policy raised)."""

from collections.abc import Sequence
from datetime import date
from itertools import groupby

from regua_contracts.contacts import DebtSummary, OfferSummary
from regua_dispatch.formatting import ON_REQUEST, br_date, br_day_month, brl, listing

# Negotiation fills the offers and the link of every negotiation command. Should one come without them, the
# message still reads well and the reply it invites (NEGOCIAR) asks for fresh offers.
WITHOUT_OFFERS = "condições especiais de desconto ou parcelamento"
ASK_FOR_OFFERS = "NEGOCIAR"
#: A text states at most this many offers (in full, the fewest installments, the most); the rest are on the
#: page: a policy of up to 48 installments would otherwise fill a dozen SMS parts.
MAX_IN_TEXT = 4
#: A brief text (SMS) states two, each with its reply code: in full and the most installments; the link has the
#: others and every installment's amount (an SMS of two parts has no room for "1x R$ 4.162,05 + 11x R$ 4.161,98").
MAX_IN_BRIEF = 2
MORE_ON_THE_PAGE = "outras opções no link"


def in_text(offers: Sequence[OfferSummary], limit: int = MAX_IN_TEXT) -> list[OfferSummary]:
    """The offers a text states: all of a short menu, else the first ones and the longest."""
    if len(offers) <= limit:
        return list(offers)
    return [*offers[:limit - 1], offers[-1]]


def label(offer: OfferSummary) -> str:
    return "à vista" if offer.installments == 1 else f"{offer.installments}x"


def brief_label(offer: OfferSummary) -> str:
    """'à vista R$ 44.427,75' (the amount to pay), '12x' (the amounts are on the page: stated whole or not at
    all, never rounded)."""
    return f"à vista {brl(offer.total_cents)}" if offer.installments == 1 else label(offer)


def reply_code(offer: OfferSummary) -> str:
    return f"ACORDO {offer.installments}"


def deadline(offers: Sequence[OfferSummary]) -> date | None:
    """The day the first offer expires: a message promises nothing beyond it."""
    return min((o.expires_on for o in offers), default=None)


def amounts(offer: OfferSummary) -> list[int]:
    """Every installment's amount, adding up to the offer's total exactly. A first installment that differs
    from the others comes as ``down_payment_cents`` (a down payment the policy raised, or, as negotiation states
    offers, the first carrying the cents that do not divide); after it the installments are equal but for the
    cents that do not divide, which the first of them carries. Without it, the total in equal parts, the first
    carrying the cents that do not divide (negotiation's split)."""
    count, total, down = offer.installments, offer.total_cents, offer.down_payment_cents
    if count == 1:
        return [total]
    head = [down] if down else []
    rest = count - len(head)
    base, extra = divmod(total - down, rest)
    return [*head, base + extra, *[base] * (rest - 1)]


def has_down_payment(offer: OfferSummary) -> bool:
    """A first installment larger than the others by more than the cents that do not divide (which never reach
    the number of installments): a down payment, stated as such ("entrada")."""
    each = amounts(offer)
    return len(each) > 1 and each[0] - max(each[1:]) >= len(each)


def schedule(offer: OfferSummary) -> str:
    """'3x R$ 338,33', '1x R$ 338,34 + 2x R$ 338,33', 'entrada de R$ 500,00 + 2x R$ 250,00'."""
    each = amounts(offer)
    down = has_down_payment(offer)
    parts = [f"entrada de {brl(each[0])}"] if down else []
    parts += [f"{len(list(run))}x {brl(amount)}" for amount, run in groupby(each[1:] if down else each)]
    return " + ".join(parts)


def describe(offer: OfferSummary, *, with_due: bool = True, with_discount: bool = True) -> str:
    """'à vista R$ 180,00 (desconto de R$ 20,00)', '1x R$ 100,01 + 1x R$ 100,00 (1º vencimento em 05/12/2026)'."""
    if offer.installments == 1:
        amount, due = f"à vista {brl(offer.total_cents)}", "vencimento"
    else:
        amount, due = schedule(offer), "entrada" if has_down_payment(offer) else "1º vencimento"
    details = [f"{due} em {br_date(offer.first_due)}"] if with_due else []
    details += [f"desconto de {brl(offer.discount_cents)}"] if with_discount and offer.discount_cents > 0 else []
    return f"{amount} ({', '.join(details)})" if details else amount


def describe_all(offers: Sequence[OfferSummary]) -> str:
    """Every offer in one clause; a first due date they share is said once, at the end."""
    dues = {o.first_due for o in offers}
    if len(dues) != 1:
        return either([describe(o) for o in offers])
    due = "1º vencimento" if any(o.installments > 1 for o in offers) else "vencimento"
    return f"{either([describe(o, with_due=False) for o in offers])}, com {due} em {br_date(dues.pop())}"


def either(options: Sequence[str]) -> str:
    """'a', 'a ou b', 'a, b ou c'."""
    return listing(options, "ou")


def debt(updated: DebtSummary | None, fallback_cents: int, *, brief: bool = False) -> str:
    """The debt the discounts are taken from: 'R$ 1.260,06 (principal R$ 1.200,00 + multa R$ 24,00 + juros
    R$ 36,06, em 10/03/2027)', brief: 'R$ 1.260,06 (R$ 1.200,00 + multa R$ 24,00 + juros R$ 36,06)'; a part
    that is nil is left out. Without the updated debt, the amount of the invoices."""
    if updated is None:
        return brl(fallback_cents)
    parts = [("" if brief else "principal ", updated.principal_cents), ("multa ", updated.fine_cents),
             ("juros ", updated.interest_cents)]
    stated = [f"{name}{brl(cents)}" for k, (name, cents) in enumerate(parts) if cents or k == 0]
    if len(stated) == 1:
        return brl(updated.total_cents)
    when = "" if brief else f", em {br_date(updated.as_of)}"
    return f"{brl(updated.total_cents)} ({' + '.join(stated)}{when})"


def placeholder_values(offers: Sequence[OfferSummary], *, brief: bool = False) -> dict[str, str]:
    """The negotiation placeholders of a text template: offers, offer_deadline, reply_codes. A brief text (SMS)
    states two offers without their due date and discount (``offers``, for a template that wants them) and
    the reply codes in their shortest useful form, each with what it accepts: 'ACORDO 1 (à vista R$ 44.427,75)
    ou ACORDO 12 (12x)' (the shipped SMS uses these alone: the amount to pay in full, the longest plan, and the
    link for every installment's amount and the other offers); the deadline as dd/mm."""
    ends, shown = deadline(offers), in_text(offers, MAX_IN_BRIEF if brief else MAX_IN_TEXT)
    more = f", ou {MORE_ON_THE_PAGE}" if len(shown) < len(offers) and not brief else ""
    if brief:
        stated = either([describe(o, with_due=False, with_discount=False) for o in shown])
        codes = [f"{reply_code(o)} ({brief_label(o)})" for o in shown]
    else:
        stated, codes = describe_all(shown), [f"{reply_code(o)} ({label(o)})" for o in shown]
    day = (br_day_month if brief else br_date)(ends) if ends else ON_REQUEST
    return {
        "offers": stated + more if offers else WITHOUT_OFFERS,
        "offer_deadline": day,
        "reply_codes": either(codes) or ASK_FOR_OFFERS,
    }
