"""What a debtor's reply asks for (unit)."""

import pytest

from regua_contracts.contacts import accepted_installments
from regua_dispatch.replies import intent


@pytest.mark.parametrize("text", ["SAIR", "sair", "Sair!", "  Sáir. ", "STOP", "stop", "PARAR", "Parár",
                                  "quero sair", "pode parar!!", "SAIR SAIR", "👋 sair"])
def test_opt_out_words_in_any_case_with_or_without_accents(text: str) -> None:
    assert intent(text) == "opt-out"


@pytest.mark.parametrize("text", ["Quero negociar", "Posso parcelar?", "tem desconto à vista?", "NEGOCIAR",
                                  "Gostaria de uma proposta de acordo", "Quais as condições?"])
def test_asking_to_negotiate(text: str) -> None:
    assert intent(text) == "negotiate"


@pytest.mark.parametrize(("text", "installments"), [
    ("ACORDO 2", 2), ("acordo 3x", 3), ("Acordo", 1), ("ACORDO 1", 1), (" acordo 12X. ", 12), ("Acordo!", 1)])
def test_an_offers_reply_code_accepts_it_and_asks_for_no_new_offers(text: str, installments: int) -> None:
    assert accepted_installments(text) == installments  # what negotiation will accept from debtor.replied
    assert intent(text) == "accept-offer"


@pytest.mark.parametrize("text", ["quero negociar", "Quero fazer um acordo", "acordo em 3x?",
                                  "ACORDO 2 (2x) por favor"])
def test_a_sentence_about_an_agreement_is_still_a_request_to_negotiate(text: str) -> None:
    assert intent(text) == "negotiate"


@pytest.mark.parametrize("text", ["Vou pagar amanhã, obrigado", "Não vou sair de casa hoje para pagar isso",
                                  "ok", "", "Quem é?", "saindo"])
def test_everything_else(text: str) -> None:
    assert intent(text) == "other"
