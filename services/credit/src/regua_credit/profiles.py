"""A debtor's profile: behaviour, record, exposure, score and ruler segment, assembled. Pure: no I/O."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from regua_credit.bureau import BureauReport, blend
from regua_credit.domain import Behavior, History, InvoiceFact, Segment, classify, recommend_segment, summarize
from regua_credit.scoring import Score, Scorer


@dataclass(frozen=True, slots=True)
class DebtorProfile:
    debtor_id: UUID
    behavior: Behavior
    history: History
    score: Score
    segment: Segment
    as_of: datetime


def build_profile(debtor_id: UUID, facts: Iterable[InvoiceFact], now: datetime, today: date, scorer: Scorer,
                  report: BureauReport | None = None) -> DebtorProfile:
    history = summarize(facts, today)
    behavior = classify(history)
    score = blend(scorer.score(history), report)
    return DebtorProfile(debtor_id, behavior, history, score, recommend_segment(behavior, score.value), now)
