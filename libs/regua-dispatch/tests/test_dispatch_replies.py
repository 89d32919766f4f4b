"""What a debtor's reply asks for (unit)."""

import pytest

from regua_dispatch.replies import intent


@pytest.mark.parametrize("text", ["SAIR", "sair", "Sair!", "  Sáir. ", "STOP", "stop", "PARAR", "Parár",
                                  "quero sair", "pode parar!!", "SAIR SAIR", "👋 sair"])
def test_opt_out_words_in_any_case_with_or_without_accents(text: str) -> None:
    assert intent(text) == "opt-out"


@pytest.mark.parametrize("text", ["Quero negociar", "Posso parcelar?", "tem desconto à vista?", "NEGOCIAR",
                                  "Gostaria de uma proposta de acordo", "Quais as condições?"])
def test_asking_to_negotiate(text: str) -> None:
    assert intent(text) == "negotiate"


@pytest.mark.parametrize("text", ["Vou pagar amanhã, obrigado", "Não vou sair de casa hoje para pagar isso",
                                  "ok", "", "Quem é?", "saindo"])
def test_everything_else(text: str) -> None:
    assert intent(text) == "other"
