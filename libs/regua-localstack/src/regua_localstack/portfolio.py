"""Synthetic portfolios with Brazilian names, valid CPF/CNPJ, phones and e-mails (demo, tests, bench)."""

import random
import unicodedata
from datetime import date, timedelta
from typing import Any

FIRST = ("Ana Bruno Carla Daniel Eduarda Felipe Gabriela Henrique Isabela João Larissa Lucas Mariana Mateus "
         "Natália Otávio Paula Rafael Sofia Thiago Vitória Wagner Yasmin Caio Beatriz Renato Camila Diego "
         "Fernanda Gustavo Helena Igor Juliana Leonardo Manuela Nicolas Priscila Rodrigo Tatiane").split()
LAST = ("Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Costa Ribeiro Martins "
        "Carvalho Almeida Lopes Soares Fernandes Vieira Barbosa Rocha Dias Nascimento Andrade Moreira Nunes "
        "Marques Machado Mendes Freitas Cardoso Ramos Gonçalves Santana Teixeira").split()
STATES = ("SP", "RJ", "MG", "RS", "PR", "BA", "PE", "CE", "SC", "GO", "ES", "AL", "PI", "MT", "DF")
DDD = {"SP": 11, "RJ": 21, "MG": 31, "RS": 51, "PR": 41, "BA": 71, "PE": 81, "CE": 85, "SC": 48, "GO": 62,
       "ES": 27, "AL": 82, "PI": 86, "MT": 65, "DF": 61}


def _check_digit(digits: list[int], weights: list[int]) -> int:
    rest = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if rest < 2 else 11 - rest


def cpf(rng: random.Random) -> str:
    base = [rng.randint(0, 9) for _ in range(9)]
    while len(set(base)) == 1:
        base = [rng.randint(0, 9) for _ in range(9)]
    base.append(_check_digit(base, list(range(10, 1, -1))))
    base.append(_check_digit(base, list(range(11, 1, -1))))
    return "".join(map(str, base))


def cnpj(rng: random.Random) -> str:
    base = [rng.randint(0, 9) for _ in range(8)] + [0, 0, 0, 1]
    base.append(_check_digit(base, [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]))
    base.append(_check_digit(base, [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]))
    return "".join(map(str, base))


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def debtor(rng: random.Random, *, email_domain: str = "example.com", email: bool = True,
           phone: bool = True) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    state = rng.choice(STATES)
    out: dict[str, Any] = {"document": cpf(rng), "name": f"{first} {rng.choice(LAST)} {last}", "state": state}
    if email:
        out["email"] = f"{_ascii(first)}.{_ascii(last)}.{rng.randint(1, 99999)}@{email_domain}"
    if phone or not email:
        out["phone"] = f"+55{DDD[state]}9{rng.randint(10_000_000, 99_999_999)}"
    return out


def invoice(rng: random.Random, external_id: str, due: date, **debtor_options: Any) -> dict[str, Any]:
    # Most invoices are small; some are large enough for the pre-due D-5 reminder.
    amount = rng.choice([rng.randint(5_000, 99_999), rng.randint(5_000, 99_999), rng.randint(100_000, 2_500_000)])
    return {"external_id": external_id, "amount_cents": amount, "due_date": due.isoformat(),
            "debtor": debtor(rng, **debtor_options), "description": f"Fatura {external_id}"}


def portfolio(
    rng: random.Random, size: int, around: date, spread_days: int = 15, prefix: str = "NF"
) -> list[dict[str, Any]]:
    return [invoice(rng, f"{prefix}-{i:06d}", around + timedelta(days=rng.randint(-spread_days, spread_days)))
            for i in range(size)]
