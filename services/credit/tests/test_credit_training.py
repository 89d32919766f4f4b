"""Training samples never see the future; the model is fitted only on enough history (unit, scikit-learn)."""

import random
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from regua_credit.domain import InvoiceFact, InvoiceStatus
from regua_credit.scoring import FEATURES, RULES
from regua_credit.training import NotEnoughHistory, Sample, fit, model_version, samples

TODAY = date(2027, 6, 1)


def fact(due: date, paid: date | None) -> InvoiceFact:
    return InvoiceFact(uuid.uuid4(), 10_000, 0 if paid else 10_000, due,
                       InvoiceStatus.PAID if paid else InvoiceStatus.OPEN, due - timedelta(days=30), paid)


def test_labels_and_point_in_time_features() -> None:
    first = fact(date(2027, 1, 4), date(2027, 1, 4))  # on time: label 1
    second = fact(date(2027, 2, 1), date(2027, 3, 15))  # 42 days late: label 0
    third = fact(date(2027, 5, 20), None)  # open, horizon not reached: no sample yet
    got = list(samples([first, second, third], TODAY))
    assert [s.label for s in got] == [1, 0]
    # The second invoice's sample knows the first was paid on time, and nothing about its own outcome.
    assert got[1].features["on_time_share"] == pytest.approx(2 / 3)
    assert got[1].features["days_late"] == 0
    # The first invoice's sample sees the second not yet registered (registered 2027-01-02, after 01-03).
    assert got[0].features["on_time_record"] == 0


def test_open_invoice_past_the_horizon_is_a_negative() -> None:
    assert [s.label for s in samples([fact(date(2027, 3, 1), None)], TODAY)] == [0]


def test_refuses_to_fit_without_enough_history() -> None:
    few = [Sample(dict.fromkeys(FEATURES, 0.0), i % 2) for i in range(100)]
    with pytest.raises(NotEnoughHistory):
        fit(few, version="v", min_samples=500)
    one_class = [Sample(dict.fromkeys(FEATURES, 0.0), 1) for _ in range(1000)]
    with pytest.raises(NotEnoughHistory):
        fit(one_class, version="v", min_samples=500)


def test_fitted_model_learns_that_late_payers_pay_less() -> None:
    rng = random.Random(5)
    data = []
    for _ in range(2000):
        share = rng.random()
        days = rng.uniform(0, 60)
        pays = rng.random() < 0.15 + 0.8 * share - 0.004 * days
        data.append(Sample({"on_time_share": share, "days_late": days, "open_overdue": 0.0,
                            "exposure": rng.random(), "on_time_record": rng.uniform(0, 3)}, int(pays)))
    version = model_version(datetime(2027, 6, 1, 12, tzinfo=UTC))
    assert version == "logreg-20270601T120000Z"
    model = fit(data, version=version, min_samples=500)
    assert model.weights["on_time_share"] > 0 > model.weights["days_late"]
    assert model.metrics["samples"] == 2000 and model.metrics["holdout_auc"] > 0.7
    assert model.version == version and set(model.means) == set(FEATURES)
    assert RULES.version != model.version
