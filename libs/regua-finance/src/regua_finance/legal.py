"""The legal ceilings on what an overdue debt may cost, whatever a tenant's policy says.

- A debtor identified by a CPF (11 digits) is a person: consumer rules always apply to them (CDC art. 2),
  whatever the tenant's policy says about its portfolio. The late fine is at most 2% (CDC art. 52 §1).
- Interest on arrears may not exceed the agency's legal ceiling, a setting: by default 1% a month for
  consumer debts and for business debts alike (Decreto 22.626/1933 art. 1 with Código Civil art. 406, for
  creditors that are not financial institutions).
"""

from dataclasses import dataclass
from decimal import Decimal

CONSUMER_FINE_CAP = Decimal("0.02")


def is_consumer_document(document: str | None) -> bool | None:
    """True for a CPF (11 digits), False for a CNPJ (14 characters), None when the document is unknown."""
    if not document:
        return None
    return len(document) == 11


@dataclass(frozen=True)
class LegalCeilings:
    """Monthly interest ceilings (fractions: 0.01 = 1% a month)."""

    consumer_monthly_interest: Decimal = Decimal("0.01")
    business_monthly_interest: Decimal = Decimal("0.01")

    def fine_rate(self, policy_rate: Decimal, consumer: bool) -> Decimal:
        """The fine actually charged: the policy's, capped at 2% for a consumer."""
        return min(policy_rate, CONSUMER_FINE_CAP) if consumer else policy_rate

    def interest_rate(self, policy_rate: Decimal, consumer: bool) -> Decimal:
        """The monthly interest actually charged: the policy's, capped at the applicable ceiling."""
        return min(policy_rate, self.consumer_monthly_interest if consumer else self.business_monthly_interest)

    def interest_error(self, policy_rate: Decimal, consumer: bool) -> str | None:
        """Why a policy's monthly rate is not allowed, or None."""
        ceiling = self.consumer_monthly_interest if consumer else self.business_monthly_interest
        if policy_rate > ceiling:
            kind = "consumer" if consumer else "business"
            pct = format((ceiling * 100).normalize(), "f")
            return (f"may not exceed {ceiling} ({pct}% a month), the legal ceiling on interest on "
                    f"arrears for {kind} debts")
        return None


DEFAULT_CEILINGS = LegalCeilings()
