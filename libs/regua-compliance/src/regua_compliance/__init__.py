"""The one compliance gate every contact passes before it is sent, whatever the channel (DOMAIN.md).

Pure rules, no I/O: callers bring the facts (the debtor's state, opt-outs, invalid contacts, recent
contacts) and get a Decision: allowed, or blocked by a named rule with the next moment it could pass.
"""

from regua_compliance.calendar import ContactWindow, is_no_contact_day, next_allowed_moment, window_for
from regua_compliance.gate import DebtorFacts, Decision, PastContact, evaluate
from regua_compliance.notice import pay_by, payment_window
from regua_compliance.policy import ContactPolicy

__all__ = ["ContactPolicy", "ContactWindow", "DebtorFacts", "Decision", "PastContact", "evaluate",
           "is_no_contact_day", "next_allowed_moment", "pay_by", "payment_window", "window_for"]
