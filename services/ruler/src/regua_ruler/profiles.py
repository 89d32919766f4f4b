"""Where the ruler learns a debtor's behaviour class and propensity score when a case opens.

The credit-analysis service answers over gRPC (regua_credit_client); when it does not, the score given
on the invoice (if any) and an "unknown" behaviour are used, and the case is marked as opened on fallback
so it is re-segmented once the service answers again."""

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from regua_credit_client.client import CreditClient
from regua_ruler.domain.profiles import score_band
from regua_ruler.domain.rulers import Behaviour, ScoreBand


@dataclass(frozen=True)
class Profile:
    behaviour: Behaviour
    score_band: ScoreBand
    fallback: bool


class ProfileSource(Protocol):
    async def profile(self, tenant_id: str, debtor_id: UUID, invoice_score: int | None) -> Profile: ...


class CreditAnalysis:
    """Asks the credit-analysis service (deadline, retry, circuit breaker and fallback are the client's)."""

    def __init__(self, client: CreditClient) -> None:
        self._client = client

    async def profile(self, tenant_id: str, debtor_id: UUID, invoice_score: int | None) -> Profile:
        answer = await self._client.debtor_profile(tenant_id, debtor_id)
        behaviour: Behaviour = _BEHAVIOUR.get(answer.behavior.value, "unknown")
        score = answer.score if answer.found and answer.score is not None else invoice_score
        return Profile(behaviour, score_band(score), fallback=answer.fallback)


_BEHAVIOUR: dict[str, Behaviour] = {"on_time": "on_time", "sometimes_late": "sometimes_late",
                                    "always_late": "always_late"}
