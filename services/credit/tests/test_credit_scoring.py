"""The rule-based fallback score, the fitted linear model, reason codes and the bureau blend (unit)."""

import math
import uuid
from datetime import UTC, date, datetime

import pytest

from regua_credit.bureau import BureauReport, InMemoryBureau, blend
from regua_credit.domain import History
from regua_credit.profiles import build_profile
from regua_credit.scoring import FEATURES, RULES, LinearModel, ReasonCode, features


def history(on_time: int = 0, late: int = 0, overdue: int = 0, days: int = 0, open_cents: int = 0) -> History:
    return History(on_time + late + overdue, on_time, late, overdue, (days,) * (late + overdue), overdue,
                   open_cents, open_cents)


def test_rules_without_history_are_neutral() -> None:
    score = RULES.score(history())
    assert score.value == 500
    assert score.method == "rules" and score.model_version == "rules-v2"
    assert score.reasons[0].code is ReasonCode.NO_HISTORY


def test_rules_follow_the_documented_points() -> None:
    assert RULES.score(history(on_time=3)).value == 680  # 500 + 600 * (4/5 - 0.5)
    late = RULES.score(history(late=3, days=10))  # 500 + 600 * (1/5 - 0.5) - 2 * 30
    assert late.value == 260
    assert [r.code for r in late.reasons] == [ReasonCode.ON_TIME_SHARE, ReasonCode.DAYS_LATE]
    assert [r.impact for r in late.reasons] == [-180, -60]
    exposed = RULES.score(history(on_time=3, overdue=2, days=5, open_cents=9_900_000))
    # 500 + 600 * (4/7 - 0.5) - 2 * 10 - 120 - 40
    assert exposed.value == 363
    assert {r.code for r in exposed.reasons} == {ReasonCode.ON_TIME_SHARE, ReasonCode.DAYS_LATE,
                                                 ReasonCode.OPEN_OVERDUE, ReasonCode.OPEN_EXPOSURE}


def test_rules_stay_within_0_and_1000() -> None:
    assert RULES.score(history(late=50, overdue=10, days=400, open_cents=10**12)).value == 0
    assert RULES.score(history(on_time=10_000)).value <= 1000


def model(**weights: float) -> LinearModel:
    return LinearModel("logreg-test", 0.5, {n: weights.get(n, 0.0) for n in FEATURES},
                       {n: 0.0 for n in FEATURES}, {n: 1.0 for n in FEATURES})


def test_linear_model_scores_the_logistic_of_its_weights() -> None:
    m = model(on_time_share=2.0, days_late=-0.1)
    h = history(on_time=1, late=1, days=10)
    x = features(h)
    z = 0.5 + 2.0 * x["on_time_share"] - 0.1 * x["days_late"]
    score = m.score(h)
    assert score.value == round(1000 / (1 + math.exp(-z)))
    assert score.method == "model" and score.model_version == "logreg-test"
    assert score.reasons[0].code is ReasonCode.ON_TIME_SHARE and score.reasons[0].impact > 0
    assert any(r.code is ReasonCode.DAYS_LATE and r.impact < 0 for r in score.reasons)


def test_linear_model_round_trips_through_json() -> None:
    m = model(exposure=-0.3)
    assert LinearModel.from_json(m.to_json()) == m
    with pytest.raises(ValueError, match="features"):
        LinearModel("bad", 0.0, {"on_time_share": 1.0}, {}, {})


def test_bureau_blends_into_the_score_and_shows_as_a_reason() -> None:
    base = RULES.score(history(on_time=3))
    blended = blend(base, BureauReport(score=200, negative_records=1))
    assert blended.value == round(0.7 * 680 + 0.3 * 200) - 100
    assert blended.reasons[0].code is ReasonCode.BUREAU and blended.reasons[0].impact == blended.value - 680
    assert blended.model_version == "rules-v2+bureau"
    assert blend(base, None) is base


async def test_in_memory_bureau_answers_only_for_its_tenant() -> None:
    debtor = uuid.uuid4()
    bureau = InMemoryBureau({("tn_a", debtor): BureauReport(score=None, negative_records=2)})
    assert await bureau.reports("tn_a", [debtor, uuid.uuid4()]) == {debtor: BureauReport(None, 2)}
    assert await bureau.reports("tn_b", [debtor]) == {}
    profile = build_profile(debtor, [], datetime(2027, 3, 1, tzinfo=UTC), date(2027, 3, 1), RULES,
                            BureauReport(score=None, negative_records=2))
    assert profile.score.value == 300
