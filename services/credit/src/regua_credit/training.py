"""Fitting the score model on the read model's history (`python -m regua_credit train`).

Each invoice whose outcome is known is one sample, labelled 1 when it was paid within 30 days of its
(effective) due date and 0 when it was not (paid later, or still open 30 days after). Its features are the
debtor's record on the day before that due date, from the debtor's other invoices (``summarize`` as of that
day), so a sample never sees its own outcome or anything that happened later.

The model is scikit-learn's LogisticRegression on standardised features: explainable (one weight per
feature, scoring.py turns them into reason codes) and robust on small data. Its weights are sign-constrained
(scoring.SIGNS) so the score is monotone: a feature whose fitted weight has the wrong sign (a spurious
correlation in the data, e.g. long-history debtors who are late a lot yet pay) is dropped (weight 0) and the
rest refitted, until every weight has its sign. It is fitted only when there
are at least REGUA_CREDIT_MIN_TRAINING_SAMPLES samples and each class has at least a twentieth of that
(and 10); until then the service keeps the rules. The AUC on a stratified 20% hold-out is recorded with
the model, which is then refitted on every sample.
"""

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from regua_credit.domain import InvoiceFact, InvoiceStatus, effective_due, summarize
from regua_credit.scoring import FEATURES, SIGNS, LinearModel, features

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

HORIZON_DAYS = 30


@dataclass(frozen=True, slots=True)
class Sample:
    features: dict[str, float]
    label: int  # 1: paid within the horizon


class NotEnoughHistory(Exception):
    def __init__(self, samples: int, positives: int, needed: int) -> None:
        super().__init__(f"{samples} labelled invoices ({positives} paid in time); a model needs {needed}, "
                         "and both outcomes well represented")
        self.samples = samples


def samples(facts: Sequence[InvoiceFact], today: date) -> Iterator[Sample]:
    """The samples one debtor's invoices give, as of ``today``."""
    for f in facts:
        if f.status is InvoiceStatus.CANCELLED:
            continue
        deadline = effective_due(f.due_date, f.state) + timedelta(days=HORIZON_DAYS)
        if f.settled_on is not None and f.settled_on <= deadline:
            label = 1
        elif deadline < today:
            label = 0
        else:
            continue  # its outcome is not known yet
        others = [g for g in facts if g.invoice_id != f.invoice_id]
        yield Sample(features(summarize(others, f.due_date - timedelta(days=1))), label)


def model_version(trained_at: datetime) -> str:
    return f"logreg-{trained_at:%Y%m%dT%H%M%SZ}"


def fit(data: Sequence[Sample], *, version: str, min_samples: int) -> LinearModel:
    positives = sum(s.label for s in data)
    smaller_class = min(positives, len(data) - positives)
    if len(data) < min_samples or smaller_class < max(10, min_samples // 20):
        raise NotEnoughHistory(len(data), positives, min_samples)
    # Imported here: the service itself never needs scikit-learn (or its start-up time).
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    names = list(FEATURES)
    x = np.array([[s.features[n] for n in names] for s in data], dtype=float)
    y = np.array([s.label for s in data])
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    scaler = StandardScaler().fit(x_train)
    b, w = _fit_signed(scaler.transform(x_train), y_train, names)
    z_test = b + scaler.transform(x_test) @ np.array([w[n] for n in names])
    auc = float(roc_auc_score(y_test, z_test))
    scaler = StandardScaler().fit(x)
    intercept, weights = _fit_signed(scaler.transform(x), y, names)
    return LinearModel(
        version=version,
        intercept=intercept,
        weights=weights,
        means={n: float(m) for n, m in zip(names, scaler.mean_, strict=True)},
        scales={n: float(s) for n, s in zip(names, scaler.scale_, strict=True)},
        metrics={"samples": float(len(data)), "positives": float(positives), "holdout_auc": round(auc, 4)},
    )


def _fit_signed(x: "NDArray[np.float64]", y: "NDArray[np.int64]", names: list[str]) -> tuple[float, dict[str, float]]:
    """A logistic regression whose weights all have their sign (SIGNS): features whose weight comes out with
    the wrong sign are dropped (weight 0) and the others refitted, until none is left wrong."""
    from sklearn.linear_model import LogisticRegression

    active = list(range(len(names)))
    while True:
        if not active:
            positives = float(y.mean())
            return math.log(positives / (1 - positives)), dict.fromkeys(names, 0.0)
        model = LogisticRegression(max_iter=1000).fit(x[:, active], y)
        coef = {names[i]: float(w) for i, w in zip(active, model.coef_[0], strict=True)}
        wrong = [i for i in active if coef[names[i]] * SIGNS[names[i]] < 0]
        if not wrong:
            return float(model.intercept_[0]), {n: coef.get(n, 0.0) for n in names}
        active = [i for i in active if i not in wrong]
