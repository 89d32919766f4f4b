"""Where the ruler learns a debtor's behaviour class and propensity score when a case opens.

The credit-analysis service answers over gRPC (regua_credit_client); when it does not, the score given
on the invoice (if any) and an "unknown" behaviour are used, and the case is marked as opened on fallback
so it is re-segmented once the service answers again."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from regua_credit_client.client import CreditClient
from regua_credit_client.models import DebtorProfile
from regua_ruler.domain.profiles import score_band
from regua_ruler.domain.rulers import Behaviour, ScoreBand


@dataclass(frozen=True)
class Profile:
    behaviour: Behaviour
    score_band: ScoreBand
    fallback: bool


#: A debtor to look up and the score its invoice carried (used when the service has none).
Wanted = tuple[UUID, int | None]


class ProfileSource(Protocol):
    async def profile(self, tenant_id: str, debtor_id: UUID, invoice_score: int | None) -> Profile: ...

    async def profiles(self, tenant_id: str, wanted: Sequence[Wanted]) -> list[Profile]:
        """A profile for each of ``wanted``, in its order."""
        ...


async def profiles_by_tenant(source: ProfileSource, wanted: Sequence[tuple[str, UUID, int | None]]
                             ) -> list[Profile]:
    """The profiles of a batch of case openings: one lookup per tenant, not one call per debtor. A burst of
    single calls (a consumer batch of hundreds) queued behind each other past the client's 200 ms deadline
    on a busy machine, and five misses in a row opened the circuit for the rest (docs/PERFORMANCE.md)."""
    tenants: dict[str, list[int]] = {}  # tenant -> positions in ``wanted``
    for i, (tenant_id, _, _) in enumerate(wanted):
        tenants.setdefault(tenant_id, []).append(i)
    answers = await asyncio.gather(*(
        source.profiles(t, [wanted[i][1:] for i in positions]) for t, positions in tenants.items()))
    out: list[Profile | None] = [None] * len(wanted)
    for positions, profiles in zip(tenants.values(), answers, strict=True):
        for i, profile in zip(positions, profiles, strict=True):
            out[i] = profile
    return [p for p in out if p is not None]


class CreditAnalysis:
    """Asks the credit-analysis service (deadline, retry, circuit breaker and fallback are the client's)."""

    def __init__(self, client: CreditClient) -> None:
        self._client = client

    async def profile(self, tenant_id: str, debtor_id: UUID, invoice_score: int | None) -> Profile:
        return _profile(await self._client.debtor_profile(tenant_id, debtor_id), invoice_score)

    async def profiles(self, tenant_id: str, wanted: Sequence[Wanted]) -> list[Profile]:
        """One BatchGetDebtorProfiles call (the client's batch deadline) for all of a tenant's debtors."""
        answers = await self._client.debtor_profiles(tenant_id, [d for d, _ in wanted])
        return [_profile(answers[d], score) for d, score in wanted]


_BEHAVIOUR: dict[str, Behaviour] = {"on_time": "on_time", "sometimes_late": "sometimes_late",
                                    "always_late": "always_late"}


def _profile(answer: DebtorProfile, invoice_score: int | None) -> Profile:
    behaviour: Behaviour = _BEHAVIOUR.get(answer.behavior.value, "unknown")
    score = answer.score if answer.found and answer.score is not None else invoice_score
    return Profile(behaviour, score_band(score), fallback=answer.fallback)
