"""The reply codes that accept an offer: what a message tells the debtor to answer, read back (unit)."""

import pytest

from regua_contracts.contacts import accepted_installments


@pytest.mark.parametrize(("text", "installments"), [
    ("ACORDO", 1), ("acordo 1", 1), ("ACORDO 2", 2), ("acordo 3x", 3), (" Acordo 12X. ", 12), ("Acordo!", 1),
    ("ACORDO 2 (2x)", 2), ("ACORDO 1 (à vista)", 1), ("acordo 3 (3x)!", 3)])
def test_a_reply_code_names_the_installments_it_accepts(text: str, installments: int) -> None:
    assert accepted_installments(text) == installments


@pytest.mark.parametrize("text", ["quero fazer um acordo", "ACORDO 2 (2x) por favor", "acordo? 2", "ACORDO 123",
                                  "ACORDO 2 (uma explicação longa demais para ser um rótulo)", "NEGOCIAR", ""])
def test_anything_else_is_not_a_reply_code(text: str) -> None:
    assert accepted_installments(text) is None
