"""The agent's call script (unit): who answered is confirmed before the creditor, the debt or any amount is
named (CDC art. 42: nothing disclosed to a third party); the greeting follows the hour on the debtor's clock."""

import uuid
from datetime import UTC, date, datetime, time

import pytest

from regua_contracts.common import Creditor, InvoiceSummary
from regua_contracts.contacts import DebtSummary, OfferSummary, Recipient
from regua_dispatch_phone.script import call_script, greeting

CREDITOR = Creditor(name="Acme Comércio Ltda", cnpj="11222333000181", address="Av. Paulista, 1000, São Paulo - SP")
ANA = Recipient(debtor_id=uuid.uuid4(), name="Ana Maria Souza", phone="+5511987654321", state="SP")
FIRST = InvoiceSummary(invoice_id=uuid.uuid4(), external_id="NF-000123", amount_cents=101_500,
                       due_date=date(2027, 3, 1))
SECOND = InvoiceSummary(invoice_id=uuid.uuid4(), external_id="NF-000124", amount_cents=2_550,
                        due_date=date(2027, 3, 5))
OFFER = OfferSummary(installments=3, total_cents=101_500, installment_cents=33_834, first_due=date(2027, 3, 20),
                     discount_cents=3_045, expires_on=date(2027, 3, 18))
DEBT = DebtSummary(principal_cents=101_500, fine_cents=2_030, interest_cents=1_015, total_cents=104_545,
                   as_of=date(2027, 3, 10))
AT = datetime(2027, 3, 10, 13, 0, tzinfo=UTC)  # 10:00 in São Paulo


def test_the_opening_asks_for_the_debtor_and_names_no_creditor_debt_or_amount() -> None:
    script = call_script(ANA, CREDITOR, [FIRST, SECOND], [OFFER], AT, updated_debt=DEBT,
                         self_service_url="https://pagar.exemplo.com.br/p/abc")
    before = script.opening + script.not_the_debtor
    assert script.opening.startswith("Bom dia! Meu nome é [seu nome]. Por gentileza, eu poderia falar com "
                                     "Ana Maria Souza?")
    for secret in ("Acme", "11.222.333/0001-81", "Paulista", "R$", "NF-000123", "fatura", "ACORDO", "desconto"):
        assert secret not in before
    assert "não deixe recado" in script.not_the_debtor


def test_only_after_confirmation_the_creditor_the_invoices_the_updated_debt_and_the_offers() -> None:
    script = call_script(ANA, CREDITOR, [FIRST, SECOND], [OFFER], AT, updated_debt=DEBT)
    assert script.confirmed.startswith(
        "Obrigado(a). Falo em nome de Acme Comércio Ltda, CNPJ 11.222.333/0001-81, Av. Paulista, 1000, São Paulo - SP, "
        "sobre suas 2 faturas, nº NF-000123 (R$ 1.015,00) e nº NF-000124 (R$ 25,50), no total de R$ 1.040,50, "
        "vencidas entre 01/03/2027 e 05/03/2027. Elas continuam em aberto")
    assert ("principal de R$ 1.015,00, multa de R$ 20,30 e juros de R$ 10,15, total de R$ 1.045,45"
            in script.confirmed)
    assert "1x R$ 338,34 + 2x R$ 338,33" in script.confirmed and "3x" not in script.confirmed
    assert "proposta válida até 18/03/2027" in script.confirmed
    text = script.text  # one field for the agent: the parts in order, clearly marked
    assert text.index("1. ANTES DE CONFIRMAR") < text.index("2. SE NÃO FOR A PESSOA") < text.index(
        "3. SOMENTE APÓS A PESSOA CONFIRMAR SER ANA MARIA SOUZA") < text.index("Acme")


def test_one_invoice_is_singular() -> None:
    confirmed = call_script(ANA, CREDITOR, [FIRST], [], AT).confirmed
    assert "sobre sua fatura nº NF-000123, de R$ 1.015,00, vencida em 01/03/2027. Ela continua em aberto" in confirmed
    assert "Podemos oferecer" not in confirmed and "Valor atualizado" not in confirmed


@pytest.mark.parametrize(("hour", "minute", "said"), [
    (0, 0, "Bom dia"), (11, 59, "Bom dia"), (12, 0, "Boa tarde"), (17, 59, "Boa tarde"), (18, 0, "Boa noite"),
    (23, 59, "Boa noite"),
])
def test_greeting_by_the_hour(hour: int, minute: int, said: str) -> None:
    assert greeting(time(hour, minute)) == said


@pytest.mark.parametrize(("recipient", "utc_hour", "said"), [
    (ANA, 14, "Bom dia"),  # 11:00 in São Paulo
    (ANA.model_copy(update={"state": "PE", "postcode": "53990000"}), 14, "Boa tarde"),  # Noronha: 12:00
    (ANA.model_copy(update={"state": "AM"}), 15, "Bom dia"),  # Manaus: 11:00
    (ANA.model_copy(update={"state": "AM", "city_ibge": "1301506"}), 17, "Boa tarde"),  # western Amazonas, UTC-5: 12:00
    (ANA.model_copy(update={"state": "AM", "postcode": "69880000"}), 16, "Bom dia"),  # Eirunepé by CEP, UTC-5: 11:00
    (ANA.model_copy(update={"state": "RJ"}), 21, "Boa noite"),  # 18:00
])
def test_the_greeting_follows_the_debtors_own_clock(recipient: Recipient, utc_hour: int, said: str) -> None:
    at = datetime(2027, 3, 10, utc_hour, 0, tzinfo=UTC)
    assert call_script(recipient, CREDITOR, [FIRST], [], at).opening.startswith(f"{said}!")
