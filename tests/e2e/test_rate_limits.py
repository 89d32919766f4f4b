"""Guessing is limited: short codes of self-service links, the admin token and staff tokens, per client IP
(and per code): past REGUA_AUTH_ATTEMPTS_PER_MINUTE (30) the answer is 429 with Retry-After. Each test
speaks from its own loopback address (127.0.0.x), so the platform's other clients (127.0.0.1) keep going."""

import secrets

import httpx

from tests.support.client import Platform

LIMIT = 30  # REGUA_AUTH_ATTEMPTS_PER_MINUTE's default
MORE = 30  # attempts past the limit: some pass as the bucket refills (one every 2 s), the rest are refused


def _limited(statuses: list[int], allowed: int) -> None:
    assert statuses[:LIMIT] == [allowed] * LIMIT, statuses
    assert set(statuses[LIMIT:]) <= {allowed, 429} and 429 in statuses[LIMIT:], statuses


def _from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def test_short_code_guesses_are_limited_per_client_ip(platform: Platform) -> None:
    base = platform.stack.url("negotiation")
    with _from("127.0.0.21") as guesser:
        answers = [guesser.get(f"{base}/p/{secrets.token_urlsafe(9)}") for _ in range(LIMIT + MORE)]
    _limited([r.status_code for r in answers], 400)
    refused = next(r for r in answers if r.status_code == 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60 and "Muitas tentativas" in refused.text
    # Another client is not held back by this one's guesses.
    assert httpx.get(f"{base}/p/{secrets.token_urlsafe(9)}", timeout=30).status_code == 400


def test_one_short_code_is_limited_whoever_asks(platform: Platform) -> None:
    base = platform.stack.url("negotiation")
    code = secrets.token_urlsafe(9)
    statuses = []
    for n in range(LIMIT + MORE):
        with _from(f"127.0.1.{n + 1}") as client:  # a new address each time: only the code's limit applies
            statuses.append(client.get(f"{base}/p/{code}").status_code)
    _limited(statuses, 400)


def test_admin_token_and_staff_token_guesses_are_limited(platform: Platform) -> None:
    ingestion = platform.stack.url("ingestion")
    tenant = {"name": "Ninguém Ltda", "cnpj": "11222333000181", "address": "Rua X, 1, São Paulo - SP"}
    with _from("127.0.0.22") as guesser:
        answers = [guesser.post(f"{ingestion}/admin/tenants", json=tenant, headers={"X-Admin-Token": f"guess-{n}"})
                   for n in range(LIMIT + MORE)]
    _limited([r.status_code for r in answers], 401)
    assert "Retry-After" in next(r for r in answers if r.status_code == 429).headers
    ruler = platform.stack.url("ruler")
    with _from("127.0.0.23") as guesser:
        statuses = [guesser.post(f"{ruler}/v1/invoices/00000000-0000-0000-0000-000000000000/disputes/answer",
                                 json={"outcome": "upheld"}, headers={"X-Staff-Token": f"x.{n}"}).status_code
                    for n in range(LIMIT + MORE)]
    _limited(statuses, 401)
    # The rightful admin elsewhere is unaffected.
    r = httpx.post(f"{ingestion}/admin/tenants", json=tenant, headers=platform.admin, timeout=30)
    assert r.status_code == 201, r.text
