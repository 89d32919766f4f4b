"""Property tests of the log masker over generated spellings: a phone however written (country code or not,
trunk 0 and carrier code, parentheses, the mobile 9 apart, spaces/dashes/dots or nothing between groups),
CPF and CNPJ with or without punctuation, e-mail addresses; in any sentence, no digit or local part survives."""

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from regua_platform.logging import mask_pii

SEP = st.sampled_from(["", " ", "-", "."])
DIGIT = st.sampled_from("0123456789")
# Text around a value: no digits, no e-mail characters; punctuation a log line may put right after it.
BEFORE = st.sampled_from(["", "ligar para ", "phone=", '{"phone": "', "tel: ", "(", "contato "])
AFTER = st.sampled_from(["", " hoje", ", depois", ".", '"}', ")", "; fim", "\n"])


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(DIGIT, min_size=n, max_size=n)


@st.composite
def phones(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from(["", "+55", "55", "+55 ", "+55-", "55 ", "+55.", "0055 ", "0055"]))
    trunk = "" if country else draw(st.sampled_from(["", "0", "0 ", "015", "0 15 ", "021 ", "0-"]))
    area = draw(st.sampled_from("11 21 31 41 51 61 71 81 91 19 27 85".split()))
    area = draw(st.sampled_from([area, f"({area})", f"({area}) "]))
    mobile = draw(st.booleans())
    head = (draw(st.sampled_from("2345")) + draw(_digits(3))) if not mobile else draw(_digits(4))
    tail = draw(_digits(4))
    sep = draw(SEP)
    nine = f"9{draw(SEP)}" if mobile else ""
    return f"{country}{trunk}{area}{draw(SEP) if not area.endswith(' ') else ''}{nine}{head}{sep}{tail}"


@st.composite
def cpfs(draw: st.DrawFn) -> str:
    d = draw(_digits(11))
    dot, dash = draw(st.sampled_from([".", ""])), draw(st.sampled_from(["-", ""]))
    return f"{d[:3]}{dot}{d[3:6]}{dot}{d[6:9]}{dash}{d[9:]}"


@st.composite
def cnpjs(draw: st.DrawFn) -> str:
    base = draw(st.text(st.sampled_from("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"), min_size=12, max_size=12)
                if draw(st.booleans()) else _digits(12))
    check = draw(_digits(2))
    dot, slash, dash = (draw(st.sampled_from([p, ""])) for p in (".", "/", "-"))
    return f"{base[:2]}{dot}{base[2:5]}{dot}{base[5:8]}{slash}{base[8:12]}{dash}{check}"


emails = st.from_regex(r"\A[a-z][a-z0-9._+\-]{0,15}@[a-z0-9\-]{1,12}(\.[a-z]{2,6}){1,2}\Z")


def _leaks(masked: str, value: str) -> bool:
    return bool(re.search(r"\d", masked)) or "@" in masked


@settings(max_examples=600, deadline=None)
@given(phones(), BEFORE, AFTER)
def test_a_phone_however_written_is_masked(phone: str, before: str, after: str) -> None:
    masked = mask_pii(f"{before}{phone}{after}")
    assert not _leaks(masked, phone), (phone, masked)
    assert masked.startswith(before.rstrip("(")) and masked.endswith(after)


@settings(max_examples=300, deadline=None)
@given(st.one_of(cpfs(), cnpjs()), BEFORE, AFTER)
@example("550000000000-00", "", "")  # once taken for a phone ("55" + ten digits), leaving "-00"
@example("00.000.900000000", "", "")  # once taken for a phone after "00." (trunk 0, DDD 00, 9 0000 0000)
def test_a_document_with_or_without_punctuation_is_masked(document: str, before: str, after: str) -> None:
    masked = mask_pii(f"{before}{document}{after}")
    assert not _leaks(masked, document), (document, masked)
    assert "<cpf>" in masked or "<cnpj>" in masked or "<phone>" in masked


@settings(max_examples=300, deadline=None)
@given(emails, BEFORE, AFTER)
def test_an_email_is_masked(email: str, before: str, after: str) -> None:
    masked = mask_pii(f"{before}{email}{after}")
    assert "<email>" in masked and "@" not in masked, (email, masked)
    assert masked.startswith(before), (email, masked)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(phones(), cpfs(), cnpjs(), emails), min_size=2, max_size=4))
def test_several_values_in_one_line_are_all_masked(values: list[str]) -> None:
    masked = mask_pii("; ".join(f"valor {v} registrado" for v in values))
    assert not re.search(r"\d", masked), (values, masked)
