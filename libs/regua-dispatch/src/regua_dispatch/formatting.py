"""pt-BR formatting for messages: R$ 1.234,56, 30/11/2026, 11.222.333/0001-81, "a, b e c", singular or plural
by count, and text in the GSM 03.38 alphabet for SMS."""

import re
import unicodedata
from collections.abc import Sequence
from datetime import date
from functools import cache

#: What a message says where a command lacks a value it states (a deadline, a link, a PIX code).
ON_REQUEST = "sob consulta"

#: The GSM 03.38 default alphabet (3GPP TS 23.038), one septet each, and its extension table, two septets each
#: (escape + character). A text within them goes as GSM-7: 160 characters in one SMS, 153 per part.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
_GSM7 = GSM7_BASIC | GSM7_EXTENSION
_NOT_GSM7 = re.compile("[^" + re.escape("".join(_GSM7)) + "]")
#: Characters outside the alphabet whose accent-less letters would not do (ordinals, typographic punctuation).
_GSM7_LOOKALIKE = {"º": "o", "ª": "a", "°": "o", "–": "-", "—": "-", "‘": "'", "’": "'", "´": "'", "`": "'",
                   "“": '"', "”": '"', "«": '"', "»": '"', "…": "...", "•": "-", "\u00a0": " ", "\t": " "}


def brl(cents: int) -> str:
    reais, centavos = divmod(cents, 100)
    return f"R$ {reais:,}".replace(",", ".") + f",{centavos:02d}"


def br_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def br_day_month(value: date) -> str:
    """'17/03': a day close enough for the year to go without saying (an offer's deadline in an SMS)."""
    return value.strftime("%d/%m")


def br_dates(values: Sequence[date]) -> str:
    """'em 09/03/2027' for one day, 'entre 01/03/2027 e 09/03/2027' for several."""
    days = sorted(set(values))
    return f"em {br_date(days[0])}" if len(days) == 1 else f"entre {br_date(days[0])} e {br_date(days[-1])}"


def cnpj(value: str) -> str:
    if len(value) != 14:
        return value
    return f"{value[:2]}.{value[2:5]}.{value[5:8]}/{value[8:12]}-{value[12:]}"


def first_name(full_name: str) -> str:
    return full_name.split()[0].title() if full_name.strip() else full_name


def listing(items: Sequence[str], conjunction: str) -> str:
    """'a', 'a e b', 'a, b e c' (conjunction 'e'); '' for no items."""
    return f" {conjunction} ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else items)


def plural(count: int, one: str, many: str) -> str:
    """The word that agrees with ``count``: plural('1', 'venceu', 'venceram')."""
    return one if count == 1 else many


def gsm7(text: str) -> str:
    """The text in the GSM 03.38 alphabet, so that an SMS goes as GSM-7 (160 characters a part) rather than
    UCS-2 (70): characters of the alphabet stay (é, à, ü, Ç ...), others lose their accent (ã -> a, ç -> c,
    Á -> A), typographic ones become their plain look-alike (º -> o, – -> -), anything else becomes '?'."""
    if _NOT_GSM7.search(text) is None:
        return text
    return _NOT_GSM7.sub(lambda m: _to_gsm7(m.group()), text)


@cache
def _to_gsm7(char: str) -> str:
    if char in _GSM7_LOOKALIKE:
        return _GSM7_LOOKALIKE[char]
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if base and _NOT_GSM7.search(base) is None else "?"
