"""What a debtor's reply asks for. Opt-out words are honoured at once ("SAIR", "STOP", "PARAR" in any case,
with or without accents); a short reply carrying one counts ("quero sair", "Sair!"), a long sentence that
merely contains the word does not. An offer's reply code ("ACORDO 2") accepts that offer: negotiation acts on
the debtor.replied fact, and it is not a request for new offers. Asking to negotiate is recognised by its
stems."""

import re
import unicodedata
from typing import Literal

from regua_contracts.contacts import accepted_installments

Intent = Literal["opt-out", "accept-offer", "negotiate", "other"]
OPT_OUT_WORDS = frozenset({"sair", "stop", "parar"})
_MAX_OPT_OUT_WORDS = 3
_NEGOTIATE = ("negoci", "acordo", "parcel", "proposta", "desconto", "condic")
_WORD = re.compile(r"[a-z0-9]+")


def normalize(text: str) -> str:
    """Lower case, accents removed: 'Negociação' -> 'negociacao'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def intent(text: str) -> Intent:
    words = _WORD.findall(normalize(text))
    if words and len(words) <= _MAX_OPT_OUT_WORDS and OPT_OUT_WORDS.intersection(words):
        return "opt-out"
    if accepted_installments(text) is not None:
        return "accept-offer"
    if any(stem in word for word in words for stem in _NEGOTIATE):
        return "negotiate"
    return "other"
