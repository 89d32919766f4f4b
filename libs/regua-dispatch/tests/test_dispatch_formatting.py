"""pt-BR formatting of money, dates, CNPJs, names and lists (unit, no I/O)."""

from datetime import date

import pytest

from regua_dispatch.formatting import br_date, br_dates, br_day_month, brl, cnpj, first_name, listing, plural


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "R$ 0,00"),
        (1, "R$ 0,01"),
        (99, "R$ 0,99"),
        (100, "R$ 1,00"),
        (123_456, "R$ 1.234,56"),
        (100_000, "R$ 1.000,00"),
        (123_456_789, "R$ 1.234.567,89"),
        (10**13, "R$ 100.000.000.000,00"),
    ],
)
def test_brl(cents: int, text: str) -> None:
    assert brl(cents) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(date(2027, 3, 1), "01/03/2027"), (date(2026, 11, 30), "30/11/2026"), (date(2027, 1, 9), "09/01/2027")],
)
def test_br_date(value: date, text: str) -> None:
    assert br_date(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("11222333000181", "11.222.333/0001-81"),
        ("12ABC34501DE35", "12.ABC.345/01DE-35"),
        ("1122233300018", "1122233300018"),  # not a CNPJ: left as it is
    ],
)
def test_cnpj(value: str, text: str) -> None:
    assert cnpj(value) == text


@pytest.mark.parametrize(
    ("name", "first"),
    [("ana maria souza", "Ana"), ("JOÃO DA SILVA", "João"), ("  Beatriz  ", "Beatriz"), ("", ""), ("   ", "   ")],
)
def test_first_name(name: str, first: str) -> None:
    assert first_name(name) == first


@pytest.mark.parametrize(
    ("items", "text"), [([], ""), (["a"], "a"), (["a", "b"], "a e b"), (["a", "b", "c"], "a, b e c")],
)
def test_listing(items: list[str], text: str) -> None:
    assert listing(items, "e") == text


def test_br_day_month() -> None:
    assert br_day_month(date(2027, 3, 9)) == "09/03"
    assert br_day_month(date(2027, 12, 31)) == "31/12"


def test_br_dates() -> None:
    assert br_dates([date(2027, 3, 9)]) == "em 09/03/2027"
    assert br_dates([date(2027, 3, 9), date(2027, 3, 9)]) == "em 09/03/2027"
    assert br_dates([date(2027, 3, 9), date(2027, 3, 1), date(2027, 3, 5)]) == "entre 01/03/2027 e 09/03/2027"


def test_plural() -> None:
    assert [plural(n, "venceu", "venceram") for n in (1, 2, 12)] == ["venceu", "venceram", "venceram"]
