"""How a message states the debtor's offers (negotiation template): pt-BR, every value on one line
(WhatsApp parameters may not hold a line break). The reply codes are the ones
regua_contracts.contacts.accepted_installments reads back: "ACORDO 2" accepts the 2x offer."""

from collections.abc import Sequence
from datetime import date

from regua_contracts.contacts import OfferSummary
from regua_dispatch.formatting import ON_REQUEST, br_date, brl, listing

# Negotiation fills the offers and the link of every negotiation command. Should one come without them, the
# message still reads well and the reply it invites (NEGOCIAR) asks for fresh offers.
WITHOUT_OFFERS = "condições especiais de desconto ou parcelamento"
ASK_FOR_OFFERS = "NEGOCIAR"
#: A text states at most this many offers (in full, the fewest installments, the most); the rest are on the
#: page: a policy of up to 48 installments would otherwise fill a dozen SMS parts.
MAX_IN_TEXT = 4
MORE_ON_THE_PAGE = "outras opções no link"


def in_text(offers: Sequence[OfferSummary]) -> list[OfferSummary]:
    """The offers a text states: all of a short menu, else the first ones and the longest."""
    if len(offers) <= MAX_IN_TEXT:
        return list(offers)
    return [*offers[:MAX_IN_TEXT - 1], offers[-1]]


def label(offer: OfferSummary) -> str:
    return "à vista" if offer.installments == 1 else f"{offer.installments}x"


def reply_code(offer: OfferSummary) -> str:
    return f"ACORDO {offer.installments}"


def deadline(offers: Sequence[OfferSummary]) -> date | None:
    """The day the first offer expires: a message promises nothing beyond it."""
    return min((o.expires_on for o in offers), default=None)


def describe(offer: OfferSummary, *, with_due: bool = True) -> str:
    """'à vista R$ 180,00 (desconto de R$ 20,00)', '2x de R$ 100,00 (1º vencimento em 05/12/2026)'."""
    if offer.installments == 1:
        amount, due = f"à vista {brl(offer.total_cents)}", "vencimento"
    elif offer.down_payment_cents:
        amount = (f"entrada de {brl(offer.down_payment_cents)} + {offer.installments - 1}x de "
                  f"{brl(offer.installment_cents)}")
        due = "entrada"
    else:
        amount, due = f"{offer.installments}x de {brl(offer.installment_cents)}", "1º vencimento"
    details = [f"{due} em {br_date(offer.first_due)}"] if with_due else []
    details += [f"desconto de {brl(offer.discount_cents)}"] if offer.discount_cents > 0 else []
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


def placeholder_values(offers: Sequence[OfferSummary]) -> dict[str, str]:
    """The negotiation placeholders of a text template: offers, offer_deadline, reply_codes."""
    ends, shown = deadline(offers), in_text(offers)
    more = f", ou {MORE_ON_THE_PAGE}" if len(shown) < len(offers) else ""
    return {
        "offers": describe_all(shown) + more if offers else WITHOUT_OFFERS,
        "offer_deadline": br_date(ends) if ends else ON_REQUEST,
        "reply_codes": either([f"{reply_code(o)} ({label(o)})" for o in shown]) or ASK_FOR_OFFERS,
    }
