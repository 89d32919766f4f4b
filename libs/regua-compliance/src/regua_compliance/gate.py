"""The gate: may this contact go out now? If not, which rule blocks it and when could it pass?"""

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from regua_compliance.calendar import is_no_contact_day, next_allowed_moment, time_zone
from regua_compliance.policy import ContactPolicy

_CONTACT_OF = {"email": "email", "sms": "phone", "whatsapp": "phone", "phone": "phone"}


@dataclass(frozen=True)
class PastContact:
    channel: str
    at: datetime
    conversation: bool = False  # a call in which the debtor was reached and talked


@dataclass(frozen=True)
class DebtorFacts:
    state: str | None = None
    opted_out: frozenset[str] = frozenset()  # channels
    invalid_contacts: frozenset[str] = frozenset()  # "email" / "phone"
    history: tuple[PastContact, ...] = field(default_factory=tuple)
    #: The address, where known: it can place the debtor in a time zone other than the state's.
    postcode: str | None = None
    city_ibge: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return time_zone(self.state, self.postcode, self.city_ibge)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str = ""  # which rule blocked it
    retry_at: datetime | None = None  # when it could pass; None: never (skip, try another channel)

    @classmethod
    def allow(cls) -> "Decision":
        return cls(True)


def evaluate(channel: str, at: datetime, facts: DebtorFacts, policy: ContactPolicy, *,
             answer: bool = False) -> Decision:
    """Checks, in order: opt-out, contact validity, call caps, channel interval, hours and holidays.
    An ``answer`` to the debtor's own request (offers they asked for) is not a collection message: the
    channel interval does not hold it back; every other rule does."""
    if channel in facts.opted_out:
        return Decision(False, "opt-out")
    if _CONTACT_OF.get(channel) in facts.invalid_contacts:
        return Decision(False, "invalid-contact")
    retry_at: datetime | None = None
    rule = ""
    if channel == "phone":
        conversations = [c.at for c in facts.history if c.channel == "phone" and c.conversation]
        if conversations and at < max(conversations) + policy.quiet_after_conversation:
            rule, retry_at = "quiet-after-conversation", max(conversations) + policy.quiet_after_conversation
        calls = sorted(c.at for c in facts.history if c.channel == "phone" and at - c.at < policy.call_window)
        if len(calls) >= policy.max_calls:
            free_at = calls[len(calls) - policy.max_calls] + policy.call_window
            if retry_at is None or free_at > retry_at:
                rule, retry_at = "call-cap", free_at
    interval = None if answer else policy.min_interval.get(channel)
    if interval is not None:
        last = max((c.at for c in facts.history if c.channel == channel and c.at <= at), default=None)
        if last is not None and at - last < interval and (retry_at is None or last + interval > retry_at):
            rule, retry_at = f"{channel}-interval", last + interval
    if retry_at is not None:
        nxt = next_allowed_moment(retry_at, facts.state, policy, facts.zone)
        return Decision(False, rule, nxt)
    window_start = next_allowed_moment(at, facts.state, policy, facts.zone)
    if window_start is None:
        return Decision(False, "no-contact-hours")
    if window_start > at:
        day = at.astimezone(facts.zone).date()
        return Decision(False, "no-contact-day" if is_no_contact_day(day, facts.state) else "contact-hours",
                        window_start)
    return Decision.allow()
