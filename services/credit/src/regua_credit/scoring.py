"""The propensity-to-pay score, 0 (will not pay) to 1000 (will pay), with reason codes. Pure: no I/O.

Both scorers read the same five features of a debtor's History (domain.py):

| feature          | reason code   | sign | meaning                                                   |
|------------------|---------------|------|-----------------------------------------------------------|
| on_time_share    | ON_TIME_SHARE | +    | (paid on time + 1) / (judged + 2): smoothed, so one invoice says little |
| days_late        | DAYS_LATE     | -    | days late summed over the late invoices, capped at 365    |
| open_overdue     | OPEN_OVERDUE  | -    | invoices overdue now, capped at 5                         |
| exposure         | OPEN_EXPOSURE | -    | log10(1 + open amount in thousands of reais)              |
| on_time_record   | SHORT_HISTORY | +    | log2(1 + invoices paid on time)                           |

**Monotone.** One more invoice paid late, or one more overdue, never raises the score: it lowers the
on-time share, adds days late, and may add an overdue invoice and open exposure, while the on-time record is
unchanged. Every feature moves one way only, and each weight has the sign in the table (the rules by
construction; the fitted model because ``fit`` constrains the signs and ``LinearModel`` refuses a weight of
the wrong sign), so the score can only stay or fall. A mean of days late would not do: one more invoice a
day late lowers the mean, which is why it is a sum.

**Model** (``LinearModel``): a logistic regression fitted by ``python -m regua_credit train`` (training.py)
on the read model's history, to the probability that an invoice is paid within 30 days of its due date.
The score is 1000 x that probability. It is kept as plain numbers (means, scales, coefficients), so the
service scores without scikit-learn and each factor's effect can be read off.

**Rules** (``RULES``, version ``rules-v2``): used until a model is trained on enough history. Start at 500;
on_time_share adds 600 x (share - 0.5) (-300 to +300); days late take 2 points a day (at most 200); each
overdue invoice takes 60 (at most 300); exposure takes 20 per unit (R$ 9,000 open: -20; R$ 99,000: -40; at
most 100); the on-time record is not scored. Clamped to 0-1000.

A reason's impact is the score minus the score with that feature at its neutral value (the training mean
for the model, zero effect for the rules): negative means the factor pulls the score down. The four
largest are returned, largest first; a debtor with nothing judged gets NO_HISTORY first.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from regua_credit.domain import History

MAX_REASONS = 4


class ReasonCode(StrEnum):
    NO_HISTORY = "no_history"
    ON_TIME_SHARE = "on_time_share"
    DAYS_LATE = "days_late"
    OPEN_OVERDUE = "open_overdue"
    OPEN_EXPOSURE = "open_exposure"
    SHORT_HISTORY = "short_history"
    BUREAU = "bureau"


FEATURES: Mapping[str, ReasonCode] = {
    "on_time_share": ReasonCode.ON_TIME_SHARE,
    "days_late": ReasonCode.DAYS_LATE,
    "open_overdue": ReasonCode.OPEN_OVERDUE,
    "exposure": ReasonCode.OPEN_EXPOSURE,
    "on_time_record": ReasonCode.SHORT_HISTORY,
}
#: The sign each feature's weight must have (+1: the score rises with the feature, -1: it falls).
SIGNS: Mapping[str, int] = {"on_time_share": 1, "days_late": -1, "open_overdue": -1, "exposure": -1,
                            "on_time_record": 1}
DAYS_LATE_CAP = 365.0


def features(history: History) -> dict[str, float]:
    return {
        "on_time_share": (history.paid_on_time + 1) / (history.judged + 2),
        "days_late": min(float(sum(history.days_late)), DAYS_LATE_CAP),
        "open_overdue": float(min(history.open_overdue, 5)),
        "exposure": math.log10(1 + history.open_cents / 100_000),
        "on_time_record": math.log2(1 + history.paid_on_time),
    }


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    impact: int


@dataclass(frozen=True, slots=True)
class Score:
    value: int
    reasons: tuple[Reason, ...]
    method: str  # "model" or "rules"
    model_version: str


class Scorer(Protocol):
    @property
    def version(self) -> str: ...

    def score(self, history: History) -> Score: ...


def _clamp(points: float) -> int:
    return max(0, min(1000, round(points)))


def _reasons(history: History, impacts: Mapping[str, float]) -> tuple[Reason, ...]:
    ranked = sorted(((FEATURES[name], round(v)) for name, v in impacts.items()), key=lambda r: -abs(r[1]))
    reasons = [Reason(code, impact) for code, impact in ranked if impact != 0]
    if history.judged == 0:
        reasons.insert(0, Reason(ReasonCode.NO_HISTORY, 0))
    return tuple(reasons[:MAX_REASONS])


@dataclass(frozen=True)
class RuleScorer:
    """The documented fallback (module docstring)."""

    version: str = "rules-v2"

    @staticmethod
    def points(x: Mapping[str, float]) -> dict[str, float]:
        return {
            "on_time_share": 600 * (x["on_time_share"] - 0.5),
            "days_late": -min(200.0, 2 * x["days_late"]),
            "open_overdue": -60 * x["open_overdue"],
            "exposure": -min(100.0, 20 * x["exposure"]),
            "on_time_record": 0.0,
        }

    def score(self, history: History) -> Score:
        points = self.points(features(history))
        total = _clamp(500 + sum(points.values()))
        impacts = {name: total - _clamp(500 + sum(points.values()) - p) for name, p in points.items()}
        return Score(total, _reasons(history, impacts), "rules", self.version)


RULES = RuleScorer()


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


@dataclass(frozen=True)
class LinearModel:
    """A fitted logistic regression over standardised features: z = b + sum(w_i * (x_i - mean_i) / scale_i)."""

    version: str
    intercept: float
    weights: Mapping[str, float]
    means: Mapping[str, float]
    scales: Mapping[str, float]
    metrics: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for part in (self.weights, self.means, self.scales):
            if set(part) != set(FEATURES):
                raise ValueError(f"model {self.version} does not cover exactly the features {sorted(FEATURES)}")
        wrong = sorted(n for n in FEATURES if self.weights[n] * SIGNS[n] < 0 or self.scales[n] < 0)
        if wrong:
            raise ValueError(f"model {self.version}: weights of the wrong sign for {wrong} (the score must not "
                             "rise with lateness)")

    def score(self, history: History) -> Score:
        x = features(history)
        terms = {n: self.weights[n] * (x[n] - self.means[n]) / (self.scales[n] or 1.0) for n in FEATURES}
        z = self.intercept + sum(terms.values())
        total = _clamp(1000 * _sigmoid(z))
        impacts = {n: total - _clamp(1000 * _sigmoid(z - t)) for n, t in terms.items()}
        return Score(total, _reasons(history, impacts), "model", self.version)

    def to_json(self) -> dict[str, object]:
        return {"version": self.version, "intercept": self.intercept, "weights": dict(self.weights),
                "means": dict(self.means), "scales": dict(self.scales), "metrics": dict(self.metrics)}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> "LinearModel":
        def numbers(key: str) -> dict[str, float]:
            value = data[key]
            assert isinstance(value, Mapping)
            return {str(k): float(v) for k, v in value.items()}

        intercept = data["intercept"]
        assert isinstance(intercept, int | float)
        return cls(str(data["version"]), float(intercept), numbers("weights"), numbers("means"),
                   numbers("scales"), numbers("metrics") if "metrics" in data else {})
