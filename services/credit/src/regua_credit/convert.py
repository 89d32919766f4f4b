"""Domain results as the messages of regua.credit.v1 (the generated stubs; proto/README.md)."""

from google.protobuf.timestamp_pb2 import Timestamp
from regua.credit.v1 import credit_analysis_pb2 as pb

from regua_credit.analysis import Limits
from regua_credit.domain import Behavior, Segment
from regua_credit.profiles import DebtorProfile
from regua_credit.scoring import ReasonCode, Score

BEHAVIOR = {
    Behavior.NO_HISTORY: pb.PAYMENT_BEHAVIOR_NO_HISTORY,
    Behavior.ON_TIME: pb.PAYMENT_BEHAVIOR_ON_TIME,
    Behavior.SOMETIMES_LATE: pb.PAYMENT_BEHAVIOR_SOMETIMES_LATE,
    Behavior.ALWAYS_LATE: pb.PAYMENT_BEHAVIOR_ALWAYS_LATE,
}
SEGMENT = {
    Segment.FRIENDLY: pb.RULER_SEGMENT_FRIENDLY,
    Segment.STANDARD: pb.RULER_SEGMENT_STANDARD,
    Segment.FIRM: pb.RULER_SEGMENT_FIRM,
}
REASON = {code: pb.ReasonCode.Value(f"REASON_CODE_{code.name}") for code in ReasonCode}
METHOD = {"model": pb.SCORE_METHOD_MODEL, "rules": pb.SCORE_METHOD_RULES}


def score(s: Score) -> pb.Score:
    return pb.Score(value=s.value, method=METHOD[s.method], model_version=s.model_version,
                    reasons=[pb.Reason(code=REASON[r.code], impact=r.impact) for r in s.reasons])


def profile(p: DebtorProfile) -> pb.DebtorProfile:
    h = p.history
    as_of = Timestamp()
    as_of.FromDatetime(p.as_of)
    return pb.DebtorProfile(
        debtor_id=str(p.debtor_id),
        behavior=BEHAVIOR[p.behavior],
        history=pb.PaymentHistory(invoices=h.invoices, paid_on_time=h.paid_on_time, paid_late=h.paid_late,
                                  open_overdue=h.open_overdue, mean_days_late=h.mean_days_late,
                                  median_days_late=h.median_days_late, max_days_late=h.max_days_late),
        exposure=pb.Exposure(open_cents=h.open_cents, overdue_cents=h.overdue_cents, open_invoices=h.open_invoices),
        score=score(p.score),
        recommended_segment=SEGMENT[p.segment],
        as_of=as_of,
    )


def offer_limits(result: Limits) -> pb.GetOfferLimitsResponse:
    limits, debt = result.limits, result.limits.debt
    return pb.GetOfferLimitsResponse(
        invoice_id=str(result.invoice_id),
        debt=pb.Debt(principal_cents=debt.principal_cents, fine_cents=debt.fine_cents,
                     interest_cents=debt.interest_cents, total_cents=debt.total_cents, days_overdue=debt.days_overdue),
        max_fine_discount_bps=limits.max_fine_discount_bps,
        max_interest_discount_bps=limits.max_interest_discount_bps,
        max_principal_discount_bps=limits.max_principal_discount_bps,
        min_total_cents=limits.min_total_cents,
        max_installments=limits.max_installments,
        min_installment_cents=limits.min_installment_cents,
        offer_valid_days=limits.offer_valid_days,
        score=score(result.score),
        policy_version=result.policy_version,
    )
