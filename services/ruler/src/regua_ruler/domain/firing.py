"""Firing due steps: each message slot passes the compliance gate on the first usable channel of its
fallback order; what may go out for one debtor on one channel is consolidated into one message."""

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from uuid import UUID

from regua_compliance import ContactPolicy, DebtorFacts, PastContact, evaluate

#: One-off steps, added on request rather than planned from the ruler; ':' is reserved for them in step keys.
#: An answer to the debtor's own request is not held by the channel interval; an agent's request is.
ANSWER_PREFIX = "answer:"
AGENT_PREFIX = "agent:"
#: Channels an answer falls back to, after the one the debtor asked on.
ANSWER_CHANNELS = ("whatsapp", "sms", "email")


def answer_channels(asked_on: str) -> list[str]:
    """Answer on the channel the debtor wrote on, then the others that carry text."""
    first = [asked_on] if asked_on in ANSWER_CHANNELS else []
    return first + [c for c in ANSWER_CHANNELS if c != asked_on]


def confirmation_channel(asked_on: str | None, has_email: bool, has_phone: bool) -> str | None:
    """Where an agreement's confirmation goes: the text channel a reply code came on, else e-mail, else SMS."""
    if asked_on in ("whatsapp", "sms") and has_phone:
        return asked_on
    return "email" if has_email else "sms" if has_phone else None


@dataclass(frozen=True)
class DueStep:
    invoice_id: UUID
    step_key: str
    slot: int
    channels: tuple[str, ...]
    template: str
    tone: str
    offset_days: int
    fire_at: datetime
    tenant_id: str
    debtor_id: UUID
    has_email: bool
    has_phone: bool
    #: False for a landline: SMS and WhatsApp cannot reach it.
    has_mobile: bool = True
    #: The person behind the debtor (caps and intervals are theirs, across creditors); None: the debtor alone.
    person_id: UUID | None = None

    @property
    def person(self) -> tuple[str, UUID] | UUID:
        return self.person_id if self.person_id is not None else (self.tenant_id, self.debtor_id)

    @property
    def is_answer(self) -> bool:
        return self.step_key.startswith(ANSWER_PREFIX)

    @property
    def is_one_off(self) -> bool:
        return ":" in self.step_key


@dataclass
class FiringPlan:
    #: Planned steps, consolidated per tenant, debtor and channel.
    messages: dict[tuple[str, UUID, str], list[DueStep]] = field(default_factory=lambda: defaultdict(list))
    #: One-off steps go as messages of their own: merged into a planned step's message, one would speak for it
    #: (a bureau notice must not turn into offers) or be silenced by it.
    one_offs: dict[tuple[str, UUID, str], list[DueStep]] = field(default_factory=lambda: defaultdict(list))
    rescheduled: list[tuple[DueStep, datetime, str]] = field(default_factory=list)
    skipped: list[tuple[DueStep, str]] = field(default_factory=list)


def _unusable(channel: str, step: DueStep) -> str | None:
    if channel == "email":
        return None if step.has_email else "no contact"
    if not step.has_phone:
        return "no contact"
    return "not a mobile" if channel in ("sms", "whatsapp") and not step.has_mobile else None


MessageKey = tuple[str, UUID, str]


def plan_firing(due: list[DueStep], facts: dict[tuple[str, UUID], DebtorFacts], now: datetime,
                policy: ContactPolicy, late_grace: timedelta) -> FiringPlan:
    """Contacts decided in one tick are judged against each other: every message chosen joins its person's
    history before the next step is judged (an agent's offers and a planned WhatsApp due together must not
    both go out), except that a planned step joining a message already chosen for its debtor and channel is
    not held by that very message (consolidation)."""
    plan = FiringPlan()
    in_tick: dict[object, list[tuple[tuple[bool, MessageKey], PastContact]]] = defaultdict(list)
    for step in sorted(due, key=lambda s: (s.fire_at, s.is_one_off, s.invoice_id, s.step_key, s.slot)):
        if now - step.fire_at > late_grace:
            plan.skipped.append((step, "late beyond grace"))  # catching up after downtime must not flood
            continue
        base = facts.get((step.tenant_id, step.debtor_id), DebtorFacts())
        target = plan.one_offs if step.is_one_off else plan.messages
        chosen: str | None = None
        blocked_rules = []
        for channel in step.channels:
            unusable = _unusable(channel, step)
            if unusable:
                blocked_rules.append(f"{channel}: {unusable}")
                continue
            own = (step.is_one_off, (step.tenant_id, step.debtor_id, channel))
            tick = tuple(c for m, c in in_tick[step.person] if m != own)
            debtor = replace(base, history=base.history + tick) if tick else base
            decision = evaluate(channel, now, debtor, policy, answer=step.is_answer)
            if decision.allowed:
                chosen = channel
                break
            if decision.retry_at is not None:  # allowed later on this channel: wait rather than fall back
                plan.rescheduled.append((step, decision.retry_at, decision.rule))
                break
            blocked_rules.append(f"{channel}: {decision.rule}")
        else:
            plan.skipped.append((step, "; ".join(blocked_rules) or "no channel"))
            continue
        if chosen is not None:
            key = (step.tenant_id, step.debtor_id, chosen)
            if key not in target:
                in_tick[step.person].append(((step.is_one_off, key), PastContact(chosen, now)))
            target[key].append(step)
    return plan


def representative(steps: list[DueStep]) -> DueStep:
    """The most advanced step speaks for a consolidated message (its template and tone)."""
    return max(steps, key=lambda s: (s.offset_days, s.step_key))
