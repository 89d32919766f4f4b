"""The propensity score never rises because one more invoice was paid late or one more is overdue, for the
rules and for a fitted model (hypothesis over random histories)."""

import random
import uuid
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regua_credit.domain import InvoiceFact, InvoiceStatus, days_late, effective_due, summarize
from regua_credit.scoring import FEATURES, RULES, SIGNS, LinearModel, Scorer
from regua_credit.training import Sample, fit

AS_OF = date(2027, 6, 1)


@st.composite
def facts(draw: st.DrawFn) -> InvoiceFact:
    due = AS_OF + timedelta(days=draw(st.integers(-500, 60)))
    amount = draw(st.integers(1, 10**8))
    kind = draw(st.sampled_from(["paid", "open", "cancelled"]))
    registered = min(due - timedelta(days=30), AS_OF)
    if kind == "paid":
        settled = due + timedelta(days=draw(st.integers(-10, 200)))
        if settled <= AS_OF:
            return InvoiceFact(uuid.uuid4(), amount, 0, due, InvoiceStatus.PAID, registered, settled)
    status = InvoiceStatus.CANCELLED if kind == "cancelled" else InvoiceStatus.OPEN
    return InvoiceFact(uuid.uuid4(), amount, amount, due, status, registered)


@st.composite
def one_more_late(draw: st.DrawFn) -> InvoiceFact:
    """An invoice paid late, or open and overdue, as of AS_OF."""
    due = AS_OF - timedelta(days=draw(st.integers(5, 700)))
    amount = draw(st.integers(1, 10**8))
    registered = due - timedelta(days=30)
    if draw(st.booleans()):
        paid = effective_due(due) + timedelta(days=draw(st.integers(1, 300)))
        if paid <= AS_OF:
            return InvoiceFact(uuid.uuid4(), amount, 0, due, InvoiceStatus.PAID, registered, paid)
    assert days_late(due, AS_OF) > 0
    return InvoiceFact(uuid.uuid4(), amount, amount, due, InvoiceStatus.OPEN, registered)


def perverse_model() -> LinearModel:
    """Fitted on data where, left alone, a regression would reward lateness: debtors with many days late and
    long histories pay more often. The sign constraints keep the score monotone anyway."""
    rng = random.Random(7)
    data = []
    for _ in range(1500):
        days = rng.uniform(0, 365)
        overdue = float(rng.randint(0, 5))
        record = rng.uniform(0, 5)
        share = rng.random()
        pays = rng.random() < 0.1 + 0.4 * share + 0.001 * days + 0.05 * overdue
        data.append(Sample({"on_time_share": share, "days_late": days, "open_overdue": overdue,
                            "exposure": rng.uniform(0, 3), "on_time_record": record}, int(pays)))
    return fit(data, version="logreg-perverse", min_samples=500)


FITTED = perverse_model()


def test_fitting_keeps_every_weight_on_its_sign() -> None:
    assert all(FITTED.weights[n] * SIGNS[n] >= 0 for n in FEATURES)
    assert FITTED.weights["days_late"] == 0 and FITTED.weights["open_overdue"] == 0  # dropped, not rewarded
    assert FITTED.weights["on_time_share"] > 0


def test_a_model_rewarding_lateness_is_refused() -> None:
    with pytest.raises(ValueError, match="wrong sign"):
        LinearModel("bad", 0.0, {**dict.fromkeys(FEATURES, 0.0), "days_late": 0.5},
                    dict.fromkeys(FEATURES, 0.0), dict.fromkeys(FEATURES, 1.0))


def test_one_more_invoice_a_day_late_no_longer_raises_the_score() -> None:
    # One invoice 30 days late: the old mean of days late fell to 15.5 with a second one a day late.
    first = InvoiceFact(uuid.uuid4(), 10_000, 0, date(2027, 3, 3), InvoiceStatus.PAID, date(2027, 2, 1),
                        date(2027, 4, 2))
    second = InvoiceFact(uuid.uuid4(), 10_000, 0, date(2027, 5, 5), InvoiceStatus.PAID, date(2027, 4, 1),
                         date(2027, 5, 6))
    before, after = summarize([first], AS_OF), summarize([first, second], AS_OF)
    assert RULES.score(after).value <= RULES.score(before).value
    assert FITTED.score(after).value <= FITTED.score(before).value


@st.composite
def sign_respecting_models(draw: st.DrawFn) -> LinearModel:
    weights = {n: SIGNS[n] * draw(st.floats(0, 5)) for n in FEATURES}
    means = {n: draw(st.floats(-10, 10)) for n in FEATURES}
    scales = {n: draw(st.floats(0.01, 100)) for n in FEATURES}
    return LinearModel("logreg-random", draw(st.floats(-5, 5)), weights, means, scales)


SCORERS = st.one_of(st.just(RULES), st.just(FITTED), sign_respecting_models())


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(facts(), max_size=25), one_more_late(), SCORERS)
def test_one_more_late_or_overdue_invoice_never_raises_the_score(history: list[InvoiceFact], late: InvoiceFact,
                                                                 scorer: Scorer) -> None:
    before = scorer.score(summarize(history, AS_OF)).value
    after = scorer.score(summarize([*history, late], AS_OF)).value
    assert after <= before
