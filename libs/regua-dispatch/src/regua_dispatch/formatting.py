"""pt-BR formatting for messages: R$ 1.234,56, 30/11/2026, 11.222.333/0001-81, "a, b e c"."""

from collections.abc import Sequence
from datetime import date

#: What a message says where a command lacks a value it states (a deadline, a link, a PIX code).
ON_REQUEST = "sob consulta"


def brl(cents: int) -> str:
    reais, centavos = divmod(cents, 100)
    return f"R$ {reais:,}".replace(",", ".") + f",{centavos:02d}"


def br_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def cnpj(value: str) -> str:
    if len(value) != 14:
        return value
    return f"{value[:2]}.{value[2:5]}.{value[5:8]}/{value[8:12]}-{value[12:]}"


def first_name(full_name: str) -> str:
    return full_name.split()[0].title() if full_name.strip() else full_name


def listing(items: Sequence[str], conjunction: str) -> str:
    """'a', 'a e b', 'a, b e c' (conjunction 'e'); '' for no items."""
    return f" {conjunction} ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else items)
