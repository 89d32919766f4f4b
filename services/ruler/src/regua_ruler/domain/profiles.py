"""What the ruler knows about a debtor when a case opens: behaviour class and propensity-score band."""

from dataclasses import dataclass, field

from regua_ruler.domain.rulers import Behaviour, Condition, ScoreBand


@dataclass(frozen=True)
class CaseFacts:
    amount_cents: int
    behaviour: Behaviour = "unknown"
    score_band: ScoreBand = "unknown"
    tags: frozenset[str] = field(default_factory=frozenset)


def score_band(score: int | None) -> ScoreBand:
    """Propensity to pay, 0-1000."""
    if score is None:
        return "unknown"
    return "low" if score < 400 else "medium" if score < 700 else "high"


def holds(condition: Condition | None, facts: CaseFacts) -> bool:
    if condition is None:
        return True
    c = condition
    checks = [
        c.min_amount_cents is None or facts.amount_cents >= c.min_amount_cents,
        c.max_amount_cents is None or facts.amount_cents <= c.max_amount_cents,
        c.behaviour is None or facts.behaviour in c.behaviour,
        c.score_bands is None or facts.score_band in c.score_bands,
        c.tags_any is None or bool(facts.tags.intersection(c.tags_any)),
        c.any_of is None or any(holds(sub, facts) for sub in c.any_of),
    ]
    return all(checks)
