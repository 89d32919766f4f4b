"""Where the ruler learns a debtor's behaviour class and propensity score when a case opens.

The credit-analysis service answers over gRPC (regua_credit_client); until it answers, the score given
on the invoice (if any) and an "unknown" behaviour are used, and the case is marked as opened on fallback
so it can be re-segmented later."""

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from regua_ruler.domain.rulers import Behaviour, ScoreBand


@dataclass(frozen=True)
class Profile:
    behaviour: Behaviour
    score_band: ScoreBand
    fallback: bool


class ProfileSource(Protocol):
    async def profile(self, tenant_id: str, debtor_id: UUID, invoice_score: int | None) -> Profile: ...


class InvoiceScoreOnly:
    """Used when no credit-analysis service is configured."""

    async def profile(self, tenant_id: str, debtor_id: UUID, invoice_score: int | None) -> Profile:
        from regua_ruler.domain.profiles import score_band

        return Profile("unknown", score_band(invoice_score), fallback=True)
