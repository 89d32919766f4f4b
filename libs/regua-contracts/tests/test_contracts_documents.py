"""CPF/CNPJ check digits and normalisation (unit, no I/O)."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regua_contracts.documents import (
    document_kind,
    is_valid_cnpj,
    is_valid_cpf,
    mask_document,
    normalize_document,
)
from regua_localstack.portfolio import cnpj as random_cnpj
from regua_localstack.portfolio import cpf as random_cpf

VALID_CPF = "52998224725"
VALID_CNPJ = "11222333000181"
VALID_ALNUM_CNPJ = "12ABC34501DE35"
SEEDS = st.integers(min_value=0, max_value=2**64)


@pytest.mark.parametrize("cpf", [VALID_CPF, "11144477735", "39053344705"])
def test_known_valid_cpfs(cpf: str) -> None:
    assert is_valid_cpf(cpf)


@pytest.mark.parametrize("cnpj", [VALID_CNPJ, VALID_ALNUM_CNPJ, "04252011000110"])
def test_known_valid_cnpjs(cnpj: str) -> None:
    assert is_valid_cnpj(cnpj)


@pytest.mark.parametrize("cpf", ["52998224724", "52998224715", "52998224735", "12998224725"])
def test_cpf_with_wrong_check_digits_is_invalid(cpf: str) -> None:
    assert not is_valid_cpf(cpf)


@pytest.mark.parametrize("cnpj", ["11222333000182", "11222333000191", "12ABC34501DE34", "12ABC34501DF35"])
def test_cnpj_with_wrong_check_digits_is_invalid(cnpj: str) -> None:
    assert not is_valid_cnpj(cnpj)


@pytest.mark.parametrize("digit", "0123456789")
def test_repeated_digits_are_invalid_even_when_the_check_digits_match(digit: str) -> None:
    # 000.000.000-00 and 00.000.000/0000-00 satisfy mod 11; the Receita never issues them.
    assert not is_valid_cpf(digit * 11)
    assert not is_valid_cnpj(digit * 14)


@pytest.mark.parametrize("cpf", ["5299822472", "529982247250", "", "5299822472a", "529.982.247-25"])
def test_cpf_wrong_length_or_characters_is_invalid(cpf: str) -> None:
    assert not is_valid_cpf(cpf)


@pytest.mark.parametrize("cnpj", ["1122233300018", "112223330001810", "12ABC34501DEA5", "12abc34501de35",
                                  "12ÁBC34501DE35"])
def test_cnpj_wrong_length_or_characters_is_invalid(cnpj: str) -> None:
    assert not is_valid_cnpj(cnpj)


def test_cpf_with_non_ascii_digits_is_invalid() -> None:
    # Full-width and Arabic-Indic digits are str.isdigit(); stored as-is they would make a second debtor.
    assert not is_valid_cpf("5299822472５")
    assert not is_valid_cpf("٥٢٩٩٨٢٢٤٧٢٥")
    with pytest.raises(ValueError):
        normalize_document("529.982.247-2５")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("529.982.247-25", VALID_CPF),
        (" 529 982 247 25 ", VALID_CPF),
        (VALID_CPF, VALID_CPF),
        ("11.222.333/0001-81", VALID_CNPJ),
        ("12.abc.345/01de-35", VALID_ALNUM_CNPJ),
        ("12.ABC.345/01DE-35", VALID_ALNUM_CNPJ),
    ],
)
def test_normalize_strips_punctuation_and_upper_cases(raw: str, expected: str) -> None:
    assert normalize_document(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("529.982.247-26", "invalid CPF check digits"),
        ("111.111.111-11", "invalid CPF check digits"),
        ("11.222.333/0001-80", "invalid CNPJ check digits"),
        ("123", "must be a CPF (11 digits) or a CNPJ (14 characters)"),
        ("529.982.247-250", "must be a CPF (11 digits) or a CNPJ (14 characters)"),
        ("", "must be a CPF (11 digits) or a CNPJ (14 characters)"),
    ],
)
def test_normalize_rejects_with_a_clear_reason(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        normalize_document(raw)


def test_kind_and_mask() -> None:
    assert document_kind(VALID_CPF) == "cpf"
    assert document_kind(VALID_CNPJ) == "cnpj"
    assert mask_document(VALID_CPF) == "***.982.247-**"
    assert mask_document(VALID_CNPJ) == "11.***.***/0001-**"


@given(SEEDS)
def test_generated_cpfs_validate(seed: int) -> None:
    cpf = random_cpf(random.Random(seed))
    assert is_valid_cpf(cpf)
    assert normalize_document(f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}") == cpf


def _reference_valid(doc: str, first_weights: list[int]) -> bool:
    """An independent formulation of mod 11 (sum * 10 % 11 % 10), as Receita's own examples write it."""
    digits = [ord(c) - 48 for c in doc]
    n = len(first_weights)
    dv1 = sum(d * w for d, w in zip(digits[:n], first_weights, strict=True)) * 10 % 11 % 10
    second = [first_weights[0] + 1 if len(doc) == 11 else 6, *first_weights]
    dv2 = sum(d * w for d, w in zip([*digits[:n], dv1], second, strict=True)) * 10 % 11 % 10
    return digits[n:] == [dv1, dv2] and len(set(doc)) > 1


CPF_WEIGHTS = list(range(10, 1, -1))
CNPJ_WEIGHTS = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]


def _change(doc: str, position: int, delta: int) -> str:
    return doc[:position] + str((int(doc[position]) + delta) % 10) + doc[position + 1:]


@given(SEEDS, st.integers(0, 10), st.integers(1, 9))
def test_a_single_digit_change_invalidates_a_cpf(seed: int, position: int, delta: int) -> None:
    cpf = random_cpf(random.Random(seed))
    changed = _change(cpf, position, delta)
    assert is_valid_cpf(changed) == _reference_valid(changed, CPF_WEIGHTS)
    if position >= 9:
        assert not is_valid_cpf(changed)  # a wrong check digit is always caught
    elif is_valid_cpf(changed):
        # mod 11's one blind spot: remainders 0 and 1 both give check digit 0, so only such CPFs collide.
        assert cpf[9] == changed[9] == "0"


def test_the_mod11_blind_spot_is_the_algorithm_not_the_code() -> None:
    # 526.018.159-06 and 626.018.159-06 are both valid by Receita's rule (weight 11 on the first digit is 0 mod 11).
    assert is_valid_cpf("52601815906")
    assert is_valid_cpf("62601815906")


@given(SEEDS, st.integers(0, 13), st.integers(1, 9))
def test_a_single_digit_change_invalidates_a_cnpj(seed: int, position: int, delta: int) -> None:
    cnpj = random_cnpj(random.Random(seed))
    assert is_valid_cnpj(cnpj)
    changed = _change(cnpj, position, delta)
    assert is_valid_cnpj(changed) == _reference_valid(changed, CNPJ_WEIGHTS)
    if position >= 12:
        assert not is_valid_cnpj(changed)
    elif is_valid_cnpj(changed):
        assert cnpj[12] == changed[12] == "0"


def test_reference_agrees_on_the_known_documents() -> None:
    assert _reference_valid(VALID_CPF, CPF_WEIGHTS)
    assert _reference_valid(VALID_CNPJ, CNPJ_WEIGHTS)
    assert _reference_valid(VALID_ALNUM_CNPJ, CNPJ_WEIGHTS)
    assert not _reference_valid("52998224724", CPF_WEIGHTS)
