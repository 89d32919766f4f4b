"""Property-based tests over random rulers (pure, in memory, no I/O):

- any ruler built from the models survives JSON and YAML;
- a random portfolio run under a random ruler for ~60 days of random clock ticks (planning at opening,
  firing through the gate at each tick, payments cancelling what is pending) never contacts anyone outside
  their hours, on a Sunday or holiday, on an opted-out or invalid channel, above the call cap, within 7
  days of a conversation, within a channel's minimum interval, twice for one slot, or after payment.
"""

import itertools
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from regua_compliance import ContactPolicy, DebtorFacts, PastContact, is_no_contact_day, window_for
from regua_compliance.calendar import time_zone
from regua_ruler.domain.firing import DueStep, plan_firing
from regua_ruler.domain.planning import Schedule, choose_segment, plan_steps
from regua_ruler.domain.profiles import CaseFacts, score_band
from regua_ruler.domain.rulers import Behaviour, Challenger, Condition, RulerDefinition, RulerStep, Segment, parse_ruler
from regua_ruler.store.rulers import DEFAULT_RULER

CHANNELS = ("email", "sms", "whatsapp", "phone")
CONTACT_OF = {"email": "email", "sms": "phone", "whatsapp": "phone", "phone": "phone"}
STATES = ("SP", "RJ", "ES", "AL", "MG", "AM")
BEHAVIOURS = ("on_time", "sometimes_late", "always_late", "unknown")
BANDS = ("low", "medium", "high", "unknown")
TONES = ("friendly", "informative", "cordial", "firm", "formal")
TEMPLATES = ("reminder", "notice", "negotiation", "agent_call", "bureau_notice")
TAGS = ("vip", "b2b", "retail")
TENANT = "acme"
START = datetime(2027, 3, 15, 3, tzinfo=UTC)  # Monday 00:00 in São Paulo; Good Friday, Tiradentes and 1 May follow
DAYS = 60
END = START + timedelta(days=DAYS)

SETTINGS = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- random rulers, built from the models -------------------------------------------------------------

@st.composite
def conditions(draw: st.DrawFn, nested: bool = True) -> Condition:
    fields: dict[str, Any] = {}
    if draw(st.booleans()):
        fields["min_amount_cents"] = draw(st.sampled_from([10_000, 100_000, 250_000]))
    if draw(st.booleans()):
        fields["max_amount_cents"] = draw(st.sampled_from([100_000, 400_000]))
    if draw(st.booleans()):
        fields["behaviour"] = draw(st.lists(st.sampled_from(BEHAVIOURS), min_size=1, max_size=3, unique=True))
    if draw(st.booleans()):
        fields["score_bands"] = draw(st.lists(st.sampled_from(BANDS), min_size=1, max_size=3, unique=True))
    if draw(st.booleans()):
        fields["tags_any"] = draw(st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True))
    if nested and draw(st.booleans()):
        fields["any_of"] = draw(st.lists(conditions(nested=False), min_size=1, max_size=3))
    return Condition(**fields)


@st.composite
def sends(draw: st.DrawFn) -> list[str | list[str]]:
    """Each channel at most once per step, cut into slots; a one-channel slot written either way."""
    channels = draw(st.permutations(CHANNELS))[: draw(st.integers(1, len(CHANNELS)))]
    send: list[str | list[str]] = []
    i = 0
    while i < len(channels):
        size = draw(st.integers(1, len(channels) - i))
        group = list(channels[i:i + size])
        send.append(group[0] if size == 1 and draw(st.booleans()) else group)
        i += size
    return send


@st.composite
def ruler_steps(draw: st.DrawFn, key: str) -> RulerStep:
    # Offsets mostly close together, so that steps of one debtor's invoices meet and the caps are exercised.
    offset = draw(st.one_of(st.integers(-5, 15), st.integers(-60, 365)))
    return RulerStep(key=key, offset_days=offset, send=draw(sends()),
                     template=draw(st.sampled_from(TEMPLATES)), tone=draw(st.sampled_from(TONES)),
                     when=draw(st.one_of(st.none(), st.none(), conditions())))


@st.composite
def rulers(draw: st.DrawFn, texts: st.SearchStrategy[str] | None = None) -> RulerDefinition:
    count = draw(st.integers(1, 3))
    segments = []
    for i in range(count):
        # ':' is reserved for one-off steps; any other text is a valid key.
        key_texts = (texts.filter(lambda t: ":" not in t) if texts is not None
                     else st.sampled_from([f"s{j}" for j in range(8)]))
        keys = draw(st.lists(key_texts, min_size=1, max_size=6, unique=True))
        challenger = draw(st.one_of(st.none(), st.builds(Challenger, version=st.integers(1, 9),
                                                         share=st.floats(0.01, 0.99))))
        segments.append(Segment(
            name=f"seg-{i}", when=None if i == count - 1 else draw(conditions()), challenger=challenger,
            steps=[draw(ruler_steps(k)) for k in keys],
        ))
    description = draw(texts) if texts is not None else ""
    return RulerDefinition(name=draw(st.sampled_from(["default", "tiered", "b2b-2027"])), description=description,
                           segments=segments)


# Text as tenants write it: assigned, printable characters of the Basic Multilingual Plane. Characters beyond
# it (json.dumps escapes them as surrogate pairs), line/paragraph separators and noncharacters are misread by
# parse_ruler: see the xfail test_valid_json_parses_like_json in test_ruler_rulers.py.
TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFFFF,
                             exclude_categories=("Cc", "Cs", "Cn", "Zl", "Zp")), min_size=1, max_size=20)


@settings(SETTINGS, max_examples=40)  # PyYAML in pure Python is the slow part
@given(ruler=rulers(texts=TEXT), ensure_ascii=st.booleans())
def test_random_rulers_survive_json_and_yaml(ruler: RulerDefinition, ensure_ascii: bool) -> None:
    data = ruler.model_dump(mode="json")
    assert parse_ruler(json.dumps(data, ensure_ascii=ensure_ascii)) == ruler
    assert parse_ruler(json.dumps(data, indent=2, ensure_ascii=ensure_ascii).encode()) == ruler
    assert parse_ruler(yaml.safe_dump(data, allow_unicode=not ensure_ascii)) == ruler
    assert parse_ruler(ruler.model_dump_json()) == ruler
    for segment in ruler.segments:
        assert [s.offset_days for s in segment.steps] == sorted(s.offset_days for s in segment.steps)


# --- random portfolios --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Debtor:
    id: uuid.UUID
    state: str
    has_email: bool
    has_phone: bool
    behaviour: Behaviour
    score: int | None
    opted_out: dict[str, datetime]  # channel -> since
    invalid: dict[str, datetime]  # "email" / "phone" -> since

    def facts(self, now: datetime, history: list[PastContact]) -> DebtorFacts:
        return DebtorFacts(state=self.state,
                           opted_out=frozenset(c for c, since in self.opted_out.items() if since <= now),
                           invalid_contacts=frozenset(c for c, since in self.invalid.items() if since <= now),
                           history=tuple(history))

    def blocked_forever(self, channel: str, now: datetime) -> bool:
        reachable = self.has_email if channel == "email" else self.has_phone
        since_opt_out = self.opted_out.get(channel)
        since_invalid = self.invalid.get(CONTACT_OF[channel])
        return (not reachable or (since_opt_out is not None and since_opt_out <= now)
                or (since_invalid is not None and since_invalid <= now))


@dataclass(frozen=True)
class Invoice:
    id: uuid.UUID
    debtor: Debtor
    due: date
    amount_cents: int
    tags: frozenset[str]
    opened_at: datetime
    paid_at: datetime | None


def moments(first_day: int, last_day: int) -> st.SearchStrategy[datetime]:
    return st.integers(first_day * 24 * 60, last_day * 24 * 60).map(lambda m: START + timedelta(minutes=m))


MOSTLY = st.sampled_from([True, True, True, False])
FLAG_SINCE = st.one_of(st.just(START - timedelta(days=1)), moments(0, DAYS))  # from the start, or from a moment


@st.composite
def debtors(draw: st.DrawFn) -> Debtor:
    return Debtor(
        id=draw(st.uuids(version=4)), state=draw(st.sampled_from(STATES)),
        has_email=draw(MOSTLY), has_phone=draw(MOSTLY),
        behaviour=draw(st.sampled_from(BEHAVIOURS)), score=draw(st.one_of(st.none(), st.integers(0, 1000))),
        opted_out=draw(st.dictionaries(st.sampled_from(CHANNELS), FLAG_SINCE, max_size=2)),
        invalid=draw(st.dictionaries(st.sampled_from(("email", "phone")), FLAG_SINCE, max_size=1)),
    )


@st.composite
def invoices_of(draw: st.DrawFn, debtor: Debtor) -> list[Invoice]:
    out = []
    first_due = draw(st.integers(-5, 30))  # one debtor's invoices tend to fall due close together
    for _ in range(draw(st.integers(1, 4))):
        opened_at = draw(moments(0, 30))
        paid_after = draw(st.one_of(st.none(), st.integers(0, 50 * 24 * 60)))
        out.append(Invoice(
            id=draw(st.uuids(version=4)), debtor=debtor,
            due=START.date() + timedelta(days=first_due + draw(st.integers(0, 10))),
            amount_cents=draw(st.integers(1_000, 600_000)),
            tags=frozenset(draw(st.lists(st.sampled_from(TAGS), max_size=2))),
            opened_at=opened_at, paid_at=None if paid_after is None else opened_at + timedelta(minutes=paid_after),
        ))
    return out


@st.composite
def portfolios(draw: st.DrawFn) -> list[Invoice]:
    people = draw(st.lists(debtors(), min_size=1, max_size=4, unique_by=lambda d: d.id))
    invoices = [inv for d in people for inv in draw(invoices_of(d))]
    if len({i.id for i in invoices}) != len(invoices):
        invoices = list({i.id: i for i in invoices}.values())
    return invoices


@st.composite
def ticks(draw: st.DrawFn) -> list[datetime]:
    """Irregular ticks (bursts, pauses, downtime of days), then every two hours to the end."""
    gaps = draw(st.lists(st.one_of(st.sampled_from([1, 15, 60, 180, 600, 1440]), st.integers(1, 4 * 1440)),
                         min_size=1, max_size=150))
    out, now = [], START
    for gap in gaps:
        now += timedelta(minutes=gap)
        if now > END:
            break
        out.append(now)
    while now + timedelta(hours=2) <= END:
        now += timedelta(hours=2)
        out.append(now)
    return out


POLICIES = [
    ContactPolicy(),
    ContactPolicy(weekday_hours=(time(10), time(16))),
    ContactPolicy(saturday_hours=None, min_interval={"whatsapp": timedelta(hours=72), "sms": timedelta(hours=24)}),
    ContactPolicy(max_calls=2, call_window=timedelta(days=3)),
    ContactPolicy(max_calls=1, call_window=timedelta(days=2), quiet_after_conversation=timedelta(days=1)),
]
schedules = st.builds(Schedule, send_hour=st.integers(6, 21),
                      late_grace=st.sampled_from([timedelta(hours=2), timedelta(days=1), timedelta(days=3)]),
                      policy=st.sampled_from(POLICIES))


#: A busy ruler, so that call caps, quiet periods and WhatsApp intervals come into play often.
BUSY_RULER = parse_ruler("""
name: busy
segments:
  - name: all
    steps:
      - {key: D-2, offset_days: -2, send: [whatsapp, email], template: reminder, tone: friendly}
      - {key: D-1, offset_days: -1, send: [[phone, sms]], template: reminder, tone: friendly}
      - {key: D, offset_days: 0, send: [phone, [whatsapp, sms]], template: notice, tone: informative}
      - {key: D+1, offset_days: 1, send: [phone], template: agent_call, tone: cordial}
      - {key: D+2, offset_days: 2, send: [[whatsapp, phone], email], template: negotiation, tone: cordial}
      - {key: D+3, offset_days: 3, send: [phone, sms], template: agent_call, tone: firm}
""")


# --- the in-memory ruler ------------------------------------------------------------------------------

Key = tuple[uuid.UUID, str, int]


@dataclass
class Slot:
    invoice: Invoice
    step: DueStep  # fire_at is the current one (moved by reschedules)


@dataclass(frozen=True)
class Emission:
    debtor: Debtor
    channel: str
    at: datetime
    steps: tuple[DueStep, ...]
    conversation: bool


@dataclass
class World:
    schedule: Schedule
    pending: dict[Key, Slot] = field(default_factory=dict)
    history: dict[uuid.UUID, list[PastContact]] = field(default_factory=dict)
    emissions: list[Emission] = field(default_factory=list)
    emitted: set[Key] = field(default_factory=set)
    held: int = 0


def allowed_at(at: datetime, state: str, policy: ContactPolicy) -> bool:
    """Independent check: the local weekday's window, never on a Sunday or holiday."""
    local = at.astimezone(time_zone(state))
    if local.weekday() == 6 or is_no_contact_day(local.date(), state):
        return False
    window = window_for(state, policy)
    hours = window.saturday if local.weekday() == 5 else window.weekday
    return hours is not None and hours[0] <= local.time() < hours[1]


def open_case(world: World, ruler: RulerDefinition, inv: Invoice) -> None:
    d, schedule = inv.debtor, world.schedule
    facts = CaseFacts(inv.amount_cents, d.behaviour, score_band(d.score), inv.tags)
    planned = plan_steps(choose_segment(ruler, facts), due=inv.due, facts=facts,
                         email="ana@example.com" if d.has_email else None,
                         phone="+5511987654321" if d.has_phone else None,
                         state=d.state, opened_at=inv.opened_at, schedule=schedule)
    for p in planned:
        if p.status == "skipped":
            event(f"planned skip: {p.reason.split(' for ')[0] if p.reason else '?'}")
            continue
        assert p.reason is None
        assert allowed_at(p.fire_at, d.state, schedule.policy), p
        assert p.fire_at >= inv.opened_at - schedule.late_grace
        nominal = datetime.combine(inv.due + timedelta(days=p.offset_days), time(schedule.send_hour),
                                   time_zone(d.state))
        assert p.fire_at >= nominal
        key = (inv.id, p.step_key, p.slot)
        world.pending[key] = Slot(inv, DueStep(
            inv.id, p.step_key, p.slot, p.channels, p.template, p.tone, p.offset_days, p.fire_at, TENANT, d.id,
            has_email=d.has_email, has_phone=d.has_phone))


def tick(world: World, now: datetime, rnd: random.Random) -> None:
    policy, grace = world.schedule.policy, world.schedule.late_grace
    due_keys = sorted((k for k, s in world.pending.items() if s.step.fire_at <= now), key=str)
    if not due_keys:
        return
    slots = {k: world.pending[k] for k in due_keys}
    debtors_by_id = {s.invoice.debtor.id: s.invoice.debtor for s in slots.values()}
    facts = {(TENANT, i): d.facts(now, world.history.setdefault(i, [])) for i, d in debtors_by_id.items()}
    plan = plan_firing([s.step for s in slots.values()], facts, now, policy, grace)

    outcomes = [(s.invoice_id, s.step_key, s.slot) for group in plan.messages.values() for s in group]
    outcomes += [(s.invoice_id, s.step_key, s.slot) for s, _, _ in plan.rescheduled]
    outcomes += [(s.invoice_id, s.step_key, s.slot) for s, _ in plan.skipped]
    assert sorted(outcomes, key=str) == due_keys  # every due slot has exactly one outcome

    for (tenant, debtor_id, channel), steps in plan.messages.items():
        assert tenant == TENANT
        debtor = debtors_by_id[debtor_id]
        for s in steps:
            key = (s.invoice_id, s.step_key, s.slot)
            assert key not in world.emitted, f"slot {key} emitted twice"
            assert s.debtor_id == debtor_id and channel in s.channels
            assert s.fire_at <= now and now - s.fire_at <= grace
            # Fallback order: every channel before the chosen one is blocked for good.
            earlier = s.channels[: s.channels.index(channel)]
            assert all(debtor.blocked_forever(c, now) for c in earlier), (s, channel)
            world.emitted.add(key)
            del world.pending[key]
        conversation = channel == "phone" and rnd.random() < 0.2  # the debtor answered and talked
        world.history[debtor_id].append(PastContact(channel, now, conversation))
        world.emissions.append(Emission(debtor, channel, now, tuple(steps), conversation))
        event(f"emitted {channel}")
    for s, retry_at, rule in plan.rescheduled:
        assert retry_at > now, (s, retry_at, rule)
        assert allowed_at(retry_at, debtors_by_id[s.debtor_id].state, policy)
        world.pending[(s.invoice_id, s.step_key, s.slot)].step = _moved(s, retry_at)
        world.held += 1
        event(f"held by {rule}")
    for s, why in plan.skipped:
        if why != "late beyond grace":
            assert all(debtors_by_id[s.debtor_id].blocked_forever(c, now) for c in s.channels), (s, why)
        del world.pending[(s.invoice_id, s.step_key, s.slot)]
        event(f"skipped: {why.split(':')[0] if why == 'late beyond grace' else 'blocked'}")


def _moved(step: DueStep, fire_at: datetime) -> DueStep:
    return DueStep(step.invoice_id, step.step_key, step.slot, step.channels, step.template, step.tone,
                   step.offset_days, fire_at, step.tenant_id, step.debtor_id, step.has_email, step.has_phone)


def simulate(ruler: RulerDefinition, invoices: list[Invoice], clock: list[datetime], schedule: Schedule,
             rnd: random.Random) -> World:
    world = World(schedule)
    events = sorted([(i.opened_at, 0, n) for n, i in enumerate(invoices)]
                    + [(i.paid_at, 1, n) for n, i in enumerate(invoices) if i.paid_at is not None])
    next_event = 0
    for now in clock:
        while next_event < len(events) and events[next_event][0] <= now:
            _, kind, n = events[next_event]
            next_event += 1
            if kind == 0:
                open_case(world, ruler, invoices[n])
            else:  # paid: stop everything at once
                for key in [k for k, s in world.pending.items() if s.invoice.id == invoices[n].id]:
                    del world.pending[key]
        tick(world, now, rnd)
    return world


def check_caps(world: World) -> None:
    policy = world.schedule.policy
    by_debtor: dict[uuid.UUID, list[Emission]] = {}
    for e in world.emissions:
        by_debtor.setdefault(e.debtor.id, []).append(e)
    for emissions in by_debtor.values():
        calls = [e for e in emissions if e.channel == "phone"]
        times = [e.at for e in calls]
        for i in range(len(times) - policy.max_calls):
            assert times[i + policy.max_calls] - times[i] >= policy.call_window, f"call cap broken: {times}"
        talks = [e.at for e in calls if e.conversation]
        for t in times:
            assert not any(c < t < c + policy.quiet_after_conversation for c in talks), "call after a conversation"
        for channel, interval in policy.min_interval.items():
            sent = [e.at for e in emissions if e.channel == channel]
            for a, b in itertools.pairwise(sent):
                assert b - a >= interval, f"{channel} interval broken: {a} -> {b}"


@SETTINGS
@given(ruler=st.one_of(st.sampled_from([DEFAULT_RULER, BUSY_RULER]), rulers()), invoices=portfolios(), clock=ticks(),
       schedule=schedules, rnd=st.randoms(use_true_random=False))
def test_simulated_ruler_never_breaks_a_contact_rule(ruler: RulerDefinition, invoices: list[Invoice],
                                                    clock: list[datetime], schedule: Schedule,
                                                    rnd: random.Random) -> None:
    world = simulate(ruler, invoices, clock, schedule, rnd)
    policy = schedule.policy
    for e in world.emissions:
        d = e.debtor
        # Hours, Sundays and holidays, checked independently of the gate.
        local = e.at.astimezone(time_zone(d.state))
        assert not is_no_contact_day(local.date(), d.state), e
        window = window_for(d.state, policy)
        hours = window.saturday if local.weekday() == 5 else window.weekday
        assert local.weekday() != 6 and hours is not None and hours[0] <= local.time() < hours[1], e
        # Opt-outs, invalid and missing contacts.
        since = d.opted_out.get(e.channel)
        assert since is None or e.at < since, f"{e.channel} used after the opt-out"
        since = d.invalid.get(CONTACT_OF[e.channel])
        assert since is None or e.at < since, f"{e.channel} used on an invalid contact"
        assert d.has_email if e.channel == "email" else d.has_phone
        # Nothing of an invoice goes out at or after its payment (pre-due reminders included).
        for s in e.steps:
            inv = next(i for i in invoices if i.id == s.invoice_id)
            assert inv.paid_at is None or e.at < inv.paid_at, f"{s.step_key} sent after payment"
            assert e.at >= inv.opened_at
    check_caps(world)
    # Steer the search towards busy debtors, where the caps and intervals bite.
    calls = [sum(e.channel == "phone" and e.debtor.id == d for e in world.emissions) for d in world.history]
    target(float(max(calls, default=0)), label="calls to one debtor")
    target(float(world.held), label="slots held by the gate")
    assert len(world.emitted) == sum(len(e.steps) for e in world.emissions)
    assert all(s.step.fire_at > clock[-1] for s in world.pending.values())
