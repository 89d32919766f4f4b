"""The optional external credit bureau (SPC, Serasa, Boa Vista): an interface, the default that has none,
and an in-memory test double. A report, when there is one, blends into the score:

    score = 0.7 x our score + 0.3 x the bureau's score (when it gives one) - 100 per active listing (at most 3)

so our own history keeps most of the weight and a listing always shows up as a BUREAU reason.
A real adapter needs the debtor's document, which the read model does not keep (LGPD art. 6 III: only
what collection needs); it would arrive with the adapter and its contract.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol
from uuid import UUID

from regua_credit.scoring import MAX_REASONS, Reason, ReasonCode, Score


@dataclass(frozen=True, slots=True)
class BureauReport:
    score: int | None  # the bureau's own 0-1000 score, when it has one
    negative_records: int = 0  # active listings ("negativações")


class Bureau(Protocol):
    async def reports(self, tenant_id: str, debtor_ids: Sequence[UUID]) -> Mapping[UUID, BureauReport]:
        """Reports for the debtors the bureau knows; the others are left out."""
        ...


class NoBureau:
    async def reports(self, tenant_id: str, debtor_ids: Sequence[UUID]) -> Mapping[UUID, BureauReport]:
        return {}


class InMemoryBureau:
    """Test double: answers from a dict keyed by (tenant, debtor), and records what it was asked."""

    def __init__(self, reports: Mapping[tuple[str, UUID], BureauReport]) -> None:
        self._reports = dict(reports)
        self.asked: list[tuple[str, UUID]] = []

    async def reports(self, tenant_id: str, debtor_ids: Sequence[UUID]) -> Mapping[UUID, BureauReport]:
        self.asked += [(tenant_id, d) for d in debtor_ids]
        return {d: r for d in debtor_ids if (r := self._reports.get((tenant_id, d))) is not None}


def blend(score: Score, report: BureauReport | None) -> Score:
    if report is None:
        return score
    value = 0.7 * score.value + 0.3 * report.score if report.score is not None else float(score.value)
    value -= 100 * min(report.negative_records, 3)
    blended = max(0, min(1000, round(value)))
    reasons = sorted([*score.reasons, Reason(ReasonCode.BUREAU, blended - score.value)], key=lambda r: -abs(r.impact))
    return replace(score, value=blended, reasons=tuple(reasons[:MAX_REASONS]),
                   model_version=f"{score.model_version}+bureau")
