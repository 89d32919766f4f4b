"""GSM-7 / UCS-2 length and parts of an SMS (unit)."""

import pytest

from regua_dispatch_sms.segments import measure


@pytest.mark.parametrize(("text", "encoding", "units", "segments"), [
    ("", "GSM7", 0, 0),
    ("a" * 160, "GSM7", 160, 1),
    ("a" * 161, "GSM7", 161, 2),
    ("a" * 306, "GSM7", 306, 2),
    ("a" * 307, "GSM7", 307, 3),
    ("é" * 160, "GSM7", 160, 1),  # é, ü, Ç, à ... are in the GSM 03.38 alphabet
    ("€" * 80, "GSM7", 160, 1),  # extension characters take two septets
    ("€" * 81, "GSM7", 162, 2),
    ("ã" * 70, "UCS2", 70, 1),  # ã, õ, á, ç ... are not: the whole text goes as UCS-2
    ("ã" * 71, "UCS2", 71, 2),
    ("a" * 134 + "ç", "UCS2", 135, 3),
    ("🙂" * 35, "UCS2", 70, 1),  # outside the BMP: a surrogate pair each
])
def test_encoding_units_and_parts(text: str, encoding: str, units: int, segments: int) -> None:
    length = measure(text)
    assert (length.encoding, length.units, length.segments) == (encoding, units, segments)


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 152 septets, then '€' (2) does not fit the first part's 153: it opens the second part, so 306 septets
    # need three parts here where a plain division says two.
    assert measure("a" * 152 + "€" + "a" * 151).segments == 2
    assert measure("a" * 152 + "€" + "a" * 152).segments == 3


def test_a_surrogate_pair_is_never_split_across_parts() -> None:
    assert measure("ã" * 66 + "🙂" + "ã" * 10).segments == 2
    assert measure("ã" * 66 + "🙂" + "ã" * 66).segments == 3
