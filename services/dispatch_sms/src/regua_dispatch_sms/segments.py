"""How long an SMS is, as the network counts it (3GPP TS 23.038 / 23.040).

A text within the GSM 03.38 alphabet is sent as 7-bit septets (the extension characters ^{}\\[~]|€ take
two): 160 in one message, 153 per part of a concatenated one. Any other character (ã, õ, á, ç ...) makes
the whole text UCS-2: 70 UTF-16 units in one message, 67 per part. An escape pair or a surrogate pair is
never split across two parts. The alphabet and ``gsm7`` (transliteration into it, as the
shipped templates' values are) live in regua_dispatch.formatting."""

import re
from dataclasses import dataclass
from typing import Literal

from regua_dispatch.formatting import GSM7_BASIC, GSM7_EXTENSION, gsm7

__all__ = ["GSM7_BASIC", "GSM7_EXTENSION", "LIMITS", "SmsLength", "gsm7", "measure"]

LIMITS = {"GSM7": (160, 153), "UCS2": (70, 67)}


@dataclass(frozen=True)
class SmsLength:
    encoding: Literal["GSM7", "UCS2"]
    units: int  # septets (GSM7) or UTF-16 code units (UCS2)
    segments: int


_NOT_GSM7 = re.compile("[^" + re.escape("".join(GSM7_BASIC | GSM7_EXTENSION)) + "]")
_EXTENSION = re.compile("[" + re.escape("".join(GSM7_EXTENSION)) + "]")
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


def measure(text: str) -> SmsLength:
    # Regular expressions rather than a loop per character: this runs for every message sent.
    if _NOT_GSM7.search(text) is None:
        encoding: Literal["GSM7", "UCS2"] = "GSM7"
        double = _EXTENSION.findall(text)
    else:
        encoding, double = "UCS2", _ASTRAL.findall(text)
    single, part = LIMITS[encoding]
    total = len(text) + len(double)
    if total <= single:
        return SmsLength(encoding, total, 1 if text else 0)
    if not double:
        return SmsLength(encoding, total, -(-total // part))
    segments, used = 1, 0
    for c in text:  # fill each part; a two-unit character that does not fit whole opens the next one
        size = 2 if c in GSM7_EXTENSION or ord(c) > 0xFFFF else 1
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return SmsLength(encoding, total, segments)
