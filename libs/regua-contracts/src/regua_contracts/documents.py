"""Brazilian taxpayer documents (CPF for people, CNPJ for companies) and their mod-11 check digits."""

import re

_NON_ALNUM = re.compile(r"[.\-/\s]")


def _cpf_digit(digits: str) -> int:
    weight = len(digits) + 1
    total = sum(int(d) * (weight - i) for i, d in enumerate(digits))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def is_valid_cpf(cpf: str) -> bool:
    if len(cpf) != 11 or not cpf.isascii() or not cpf.isdigit() or cpf == cpf[0] * 11:
        return False
    return _cpf_digit(cpf[:9]) == int(cpf[9]) and _cpf_digit(cpf[:10]) == int(cpf[10])


def _cnpj_digit(chars: str) -> int:
    # Since 2026 a CNPJ may be alphanumeric: each character weighs its ASCII code minus 48.
    weights = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2][-len(chars):]
    total = sum((ord(c) - 48) * w for c, w in zip(chars, weights, strict=True))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def is_valid_cnpj(cnpj: str) -> bool:
    if len(cnpj) != 14 or not cnpj[12:].isdigit() or not cnpj[:12].isalnum() or not cnpj.isascii():
        return False
    if cnpj == cnpj[0] * 14:
        return False
    return _cnpj_digit(cnpj[:12]) == int(cnpj[12]) and _cnpj_digit(cnpj[:13]) == int(cnpj[13])


def normalize_document(raw: str) -> str:
    """Strips punctuation and upper-cases; raises ValueError naming what is wrong."""
    doc = _NON_ALNUM.sub("", raw).upper()
    if len(doc) == 11:
        if not is_valid_cpf(doc):
            raise ValueError("invalid CPF check digits")
        return doc
    if len(doc) == 14:
        if not is_valid_cnpj(doc):
            raise ValueError("invalid CNPJ check digits")
        return doc
    raise ValueError("must be a CPF (11 digits) or a CNPJ (14 characters)")


def document_kind(doc: str) -> str:
    return "cpf" if len(doc) == 11 else "cnpj"


def mask_document(doc: str) -> str:
    """For messages to the debtor: shows only enough to recognise the document (***.456.789-**)."""
    if len(doc) == 11:
        return f"***.{doc[3:6]}.{doc[6:9]}-**"
    return f"{doc[:2]}.***.***/{doc[8:12]}-**"
