"""What the agent says on a call, as a pure function of the call task: pt-BR, in two marked parts.

No debt is disclosed to a third party (CDC art. 42; DOMAIN.md): the opening greets by the hour of the
debtor's own clock ("Bom dia" before 12:00, "Boa tarde" until 18:00, "Boa noite" after; the zone from the
address: regua_compliance.time_zone(state, postcode, city_ibge)) and asks for the debtor by name, naming no
creditor, no debt and no amount. Only once the person confirms being the debtor does the agent identify the
creditor (name, CNPJ, address: CDC art. 42-A), the invoices and their amounts, the updated debt and the offers.
Whoever else answers hears nothing about the debt: the agent asks when to call back and leaves no message."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from regua_compliance.calendar import time_zone
from regua_contracts.common import Creditor, InvoiceSummary
from regua_contracts.contacts import DebtSummary, OfferSummary, Recipient
from regua_dispatch import offers as offer_text
from regua_dispatch.formatting import br_date, br_dates, brl, cnpj, listing, plural

NOON, EVENING = time(12), time(18)
BEFORE = "1. ANTES DE CONFIRMAR QUEM ATENDEU (não cite credor, dívida nem valores)"
NOT_THE_DEBTOR = "2. SE NÃO FOR A PESSOA (ou ela não estiver)"
AFTER = "3. SOMENTE APÓS A PESSOA CONFIRMAR SER {name}"


@dataclass(frozen=True)
class CallScript:
    """The three parts of a call, to be shown to the agent apart: ``opening`` before anyone confirmed who
    they are, ``not_the_debtor`` for anyone else, ``confirmed`` once the debtor confirmed."""

    opening: str
    not_the_debtor: str
    confirmed: str
    debtor_name: str

    @property
    def text(self) -> str:
        """The whole script with its parts marked, for a single text field."""
        return (f"{BEFORE}:\n{self.opening}\n\n{NOT_THE_DEBTOR}:\n{self.not_the_debtor}\n\n"
                f"{AFTER.format(name=self.debtor_name.upper())}:\n{self.confirmed}")


def greeting(local: time) -> str:
    """'Bom dia' before 12:00, 'Boa tarde' until 18:00, 'Boa noite' from 18:00."""
    if local < NOON:
        return "Bom dia"
    return "Boa tarde" if local < EVENING else "Boa noite"


def local_greeting(now: datetime, recipient: Recipient) -> str:
    """The greeting for the hour on the debtor's own clock (their address's time zone)."""
    zone = time_zone(recipient.state, recipient.postcode, recipient.city_ibge)
    return greeting(now.astimezone(zone).time())


def call_script(recipient: Recipient, creditor: Creditor, invoices: Sequence[InvoiceSummary],
                offers: Sequence[OfferSummary], now: datetime, *, updated_debt: DebtSummary | None = None,
                self_service_url: str | None = None) -> CallScript:
    """The script of a call at ``now`` (aware). ``offers``: the negotiation call's menu (empty on other calls);
    ``updated_debt``: the debt the offers' discounts are taken from, when the task carries it."""
    name = recipient.name
    opening = (f"{local_greeting(now, recipient)}! Meu nome é [seu nome]. Por gentileza, eu poderia falar com "
               f"{name}? [Aguarde.] Para confirmar: falo com {name}?")
    not_the_debtor = ("Não mencione o credor, a dívida, valores nem o motivo da ligação, e não deixe recado sobre "
                      f"o assunto. Diga apenas: \"Obrigado(a). Qual o melhor horário para falar com {name}?\" "
                      "Registre o retorno (callback) ou, se o número não for dessa pessoa, número errado.")
    count = len(invoices)
    total = sum(i.amount_cents for i in invoices)
    if count == 1:
        about = (f"sua fatura nº {invoices[0].external_id}, de {brl(invoices[0].amount_cents)}, vencida "
                 f"{br_dates([invoices[0].due_date])}")
    else:
        numbers = listing([f"nº {i.external_id} ({brl(i.amount_cents)})" for i in invoices], "e")
        about = (f"suas {count} faturas, {numbers}, no total de {brl(total)}, vencidas "
                 f"{br_dates([i.due_date for i in invoices])}")
    confirmed = [f"Obrigado(a). Falo em nome de {creditor.name}, CNPJ {cnpj(creditor.cnpj)}, {creditor.address}, "
                 f"sobre {about}. {plural(count, 'Ela continua', 'Elas continuam')} em aberto: podemos resolver "
                 "isso agora?"]
    if updated_debt is not None:
        confirmed.append(f"Valor atualizado em {br_date(updated_debt.as_of)}: principal de "
                         f"{brl(updated_debt.principal_cents)}, multa de {brl(updated_debt.fine_cents)} e juros de "
                         f"{brl(updated_debt.interest_cents)}, total de {brl(updated_debt.total_cents)}; os "
                         "descontos são calculados sobre esse total.")
    if offers:
        ends = offer_text.deadline(offers)
        valid = f"; proposta válida até {br_date(ends)}" if ends else ""
        confirmed.append(f"Podemos oferecer: {offer_text.describe_all(offers)}{valid}.")
        if self_service_url:
            confirmed.append("Posso enviar o link com as opções e o PIX para o seu celular ou e-mail?")
    return CallScript(opening=opening, not_the_debtor=not_the_debtor, confirmed=" ".join(confirmed),
                      debtor_name=name)
