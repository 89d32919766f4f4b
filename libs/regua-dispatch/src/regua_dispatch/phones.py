"""Phone numbers as providers see them. Brazilian mobiles gained a ninth digit in 2012-2016 and WhatsApp
still reports some accounts without it, so replies are matched on area code plus the last eight digits."""

import re

_DIGITS = re.compile(r"\D")


def digits(phone: str) -> str:
    """+55 11 98765-4321 -> 5511987654321 (the WhatsApp Cloud API's ``to`` and ``wa_id``)."""
    return _DIGITS.sub("", phone)


def phone_key(phone: str) -> str:
    """The same key for 5511987654321, +55 (11) 98765-4321 and 551187654321."""
    d = digits(phone)
    if d.startswith("55") and len(d) in (12, 13):
        return d[:4] + d[-8:]
    return d
