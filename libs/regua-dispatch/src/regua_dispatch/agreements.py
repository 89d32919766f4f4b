"""How a text states a new agreement (agreement template): pt-BR, every value on one line (WhatsApp
parameters may not hold a line break). A text carries the PIX copia e cola of the first installment only,
the one to pay now: each code is some 190 characters, and the self-service page has them all with their QR
codes. The e-mail lists every installment with its own code (rendering in regua_dispatch_email)."""

from collections.abc import Sequence

from regua_contracts.contacts import InstallmentSummary
from regua_dispatch.formatting import ON_REQUEST, br_date, brl, listing

# Negotiation does not send a confirmation without installments; should one come, it still reads well.
WITHOUT_INSTALLMENTS = f"valores e vencimentos {ON_REQUEST}"
#: Beyond this many installments a text states the first one and sums up the rest (12 would fill an SMS).
MAX_LISTED = 3


def first(installments: Sequence[InstallmentSummary]) -> InstallmentSummary | None:
    """The installment to pay now: the lowest number."""
    return min(installments, key=lambda i: i.number, default=None)


def describe(installments: Sequence[InstallmentSummary]) -> str:
    """'pagamento único de R$ 180,00 até 05/12/2026', '2 parcelas: R$ 100,00 em 05/12/2026 e R$ 100,00 em
    05/01/2027', '12 parcelas: R$ 45,88 em 05/12/2026 e mais 11 de R$ 45,84 até 05/11/2027'."""
    ordered = sorted(installments, key=lambda i: i.number)
    if not ordered:
        return WITHOUT_INSTALLMENTS
    if len(ordered) == 1:
        return f"pagamento único de {brl(ordered[0].amount_cents)} até {br_date(ordered[0].due_date)}"
    each = [f"{brl(i.amount_cents)} em {br_date(i.due_date)}" for i in ordered]
    if len(ordered) > MAX_LISTED:
        each = [each[0], _the_rest(ordered[1:])]
    return f"{len(ordered)} parcelas: {listing(each, 'e')}"


def _the_rest(rest: Sequence[InstallmentSummary]) -> str:
    """'mais 11 de R$ 45,84 até 05/11/2027'; amounts that differ are stated as their sum."""
    amounts = {i.amount_cents for i in rest}
    amount = f"de {brl(amounts.pop())}" if len(amounts) == 1 else f"somando {brl(sum(i.amount_cents for i in rest))}"
    return f"mais {len(rest)} {amount} até {br_date(max(i.due_date for i in rest))}"


def placeholder_values(installments: Sequence[InstallmentSummary]) -> dict[str, str]:
    """The agreement placeholders of a text template: installments, pix, payment_reference."""
    now = first(installments)
    return {
        "installments": describe(installments),
        "pix": now.pix_copia_e_cola if now else ON_REQUEST,
        "payment_reference": now.payment_reference if now else ON_REQUEST,
    }
