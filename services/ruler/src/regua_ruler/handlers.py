"""Ruler use cases. Each writes its state and the events it causes in the caller's transaction (outbox)."""

import json
from datetime import datetime, time, timedelta
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from regua_compliance.calendar import time_zone
from regua_compliance.notice import pay_by
from regua_contracts import topics
from regua_contracts.agreements import AgreementCreated
from regua_contracts.cases import (
    CaseExhausted,
    CaseOpened,
    CasePaused,
    CasePauseLifted,
    CaseResumed,
    CaseStopped,
    PauseReason,
)
from regua_contracts.common import Creditor, InvoiceSummary
from regua_contracts.contacts import (
    AGREEMENT_TEMPLATE,
    CONVERSATIONS,
    NEGOTIATED_TEMPLATES,
    NEGOTIATION_TEMPLATE,
    CallOutcomeRecorded,
    ContactOptedOut,
    ContactRequested,
    NegotiationRequested,
    Recipient,
    step_label,
)
from regua_contracts.invoices import InvoiceCancelled, InvoiceRegistered, PaymentRecorded
from regua_platform import outbox
from regua_platform.clock import still_waiting
from regua_platform.kafka import TransientError
from regua_platform.outbox import OutboxMessage
from regua_platform.telemetry import current_trace
from regua_ruler.domain.firing import (
    AGENT_PREFIX,
    ANSWER_PREFIX,
    DueStep,
    answer_channels,
    confirmation_channel,
    plan_firing,
    representative,
)
from regua_ruler.domain.persons import can_text, person_key
from regua_ruler.domain.planning import (
    Schedule,
    choose_segment,
    confirmation_id,
    message_id,
    plan_steps,
    thank_you_id,
    variant_of,
)
from regua_ruler.domain.profiles import CaseFacts
from regua_ruler.profiles import Profile
from regua_ruler.store import cases, facts, rulers

STEPS_FIRED = Counter("regua_ruler_steps_fired_total", "Ruler step slots turned into contact commands",
                      ["step", "channel"])
# stage: "planning" (a slot skipped when the case opened: unreachable, conditions, already past) or "firing"
# (a due slot the gate or the grace period skipped).
STEPS_SKIPPED = Counter("regua_ruler_steps_skipped_total", "Step slots skipped", ["stage", "reason"])
GATE_HELD = Counter("regua_ruler_gate_held_total", "Due step slots the compliance gate rescheduled", ["rule"])
CASES_CLOSED = Counter("regua_ruler_cases_closed_total", "Cases stopped or exhausted", ["reason"])
ANSWERS = Counter("regua_ruler_negotiation_answers_total", "Debtors' requests for offers", ["result"])
RULER_NAME = "default"
#: The template of a bureau listing's prior notice: its command states the deadline to pay (pay_by).
BUREAU_NOTICE_TEMPLATE = "bureau_notice"
#: Repeated requests for offers within this time get one answer.
ANSWER_QUIET = timedelta(hours=1)
#: How long an agreement's confirmation waits for the ruler to read its invoices' registration.
REGISTRATION_WAIT = timedelta(minutes=10)


async def open_case(conn: asyncpg.Connection, event: InvoiceRegistered, profile: Profile, now: datetime,
                    schedule: Schedule) -> None:
    inv = event.invoice
    ruler, version = await rulers.current_ruler(conn, event.tenant_id, RULER_NAME)
    case_facts = CaseFacts(inv.amount_cents, profile.behaviour, profile.score_band, frozenset(inv.tags))
    segment = choose_segment(ruler, case_facts)
    variant = variant_of(segment, event.tenant_id, ruler.name, event.debtor_id)
    if variant == "challenger" and segment.challenger is not None:
        challenger = await rulers.ruler_version(conn, event.tenant_id, ruler.name, segment.challenger.version)
        if challenger is None:
            variant = "champion"  # the version was validated on save; guard against a deleted row anyway
        else:
            version, segment = segment.challenger.version, choose_segment(challenger, case_facts)
    steps = plan_steps(segment, due=inv.due_date, facts=case_facts, email=inv.debtor.email, phone=inv.debtor.phone,
                       state=inv.debtor.state, opened_at=now, schedule=schedule, postcode=inv.debtor.postcode,
                       city_ibge=inv.debtor.city_ibge)
    person = person_key(event.tenant_id, event.debtor_id, event.person_id)
    # Every command the ruler emits copies this recipient: the person and the address travel with it.
    recipient = Recipient(debtor_id=event.debtor_id, name=inv.debtor.name, email=inv.debtor.email,
                          phone=inv.debtor.phone, state=inv.debtor.state, person_id=person,
                          postcode=inv.debtor.postcode, city_ibge=inv.debtor.city_ibge)
    summary = InvoiceSummary(invoice_id=event.invoice_id, external_id=inv.external_id,
                             amount_cents=inv.amount_cents, due_date=inv.due_date)
    opened = await cases.insert_case(conn, cases.NewCase(
        invoice_id=event.invoice_id, tenant_id=event.tenant_id, debtor_id=event.debtor_id, person_id=person,
        ruler=ruler.name,
        version=version, segment=segment.name, variant=variant, behaviour=profile.behaviour,
        score_band=profile.score_band, profile_fallback=profile.fallback, amount_cents=inv.amount_cents,
        due_date=inv.due_date, recipient=recipient.model_dump_json(), creditor=event.creditor.model_dump_json(),
        invoice=summary.model_dump_json(), tags=list(inv.tags), opened_at=now,
        trace_context=json.dumps(current_trace()),
    ), steps)
    if not opened:
        return
    for step in steps:
        if step.status == "skipped" and step.reason:
            # "no contact for sms/whatsapp" -> "no contact": the channels would multiply the series.
            STEPS_SKIPPED.labels("planning", step.reason.split(" for ")[0]).inc()
    await facts.remember_state(conn, event.tenant_id, event.debtor_id, inv.debtor.state)
    await outbox.add(conn, [OutboxMessage(topics.CASES, str(event.invoice_id), CaseOpened(
        occurred_at=now, tenant_id=event.tenant_id, invoice_id=event.invoice_id, debtor_id=event.debtor_id,
        ruler=ruler.name, ruler_version=version, segment=segment.name, variant=variant,
        planned_steps=sum(s.status == "pending" for s in steps),
    ))])


async def close_case(conn: asyncpg.Connection, event: PaymentRecorded | InvoiceCancelled, now: datetime) -> None:
    """A payment that settles the invoice, or a cancellation, stops every pending step at once.
    A settled invoice earns the debtor a thank-you."""
    if isinstance(event, PaymentRecorded):
        await cases.add_payment(conn, event.invoice_id, event.amount_cents)
        if event.outstanding_cents > 0:
            return  # partial payment: collection goes on for the rest
    reason = "paid" if isinstance(event, PaymentRecorded) else "cancelled"
    await stop_case(conn, event.tenant_id, event.invoice_id, event.debtor_id, reason, now)


async def stop_case(conn: asyncpg.Connection, tenant_id: str, invoice_id: UUID, debtor_id: UUID, reason: str,
                    now: datetime) -> bool:
    closed = await cases.close_case(conn, invoice_id, reason, now)
    if closed is None:
        return False
    case, cancelled = closed
    CASES_CLOSED.labels(reason).inc()
    messages = [OutboxMessage(topics.CASES, str(invoice_id), CaseStopped(
        occurred_at=now, tenant_id=tenant_id, invoice_id=invoice_id, debtor_id=debtor_id,
        reason=reason, cancelled_steps=cancelled,
    ))]
    recipient = Recipient.model_validate_json(case["recipient"])
    channel = "email" if recipient.email else "sms" if can_text(recipient.phone) else None
    if reason == "paid" and channel:
        messages.append(OutboxMessage(topics.contact_commands(channel), str(debtor_id), ContactRequested(
            occurred_at=now, tenant_id=tenant_id, step_id=thank_you_id(invoice_id, channel),
            step_key="thank-you", channel=channel, template="thank_you", tone="friendly", recipient=recipient,
            creditor=Creditor.model_validate_json(case["creditor"]),
            invoices=[InvoiceSummary.model_validate_json(case["invoice"])], scheduled_for=now,
        )))
    await outbox.add(conn, messages)
    return True


async def pause(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, invoice_ids: list[UUID],
                reason: PauseReason, until: datetime | None, now: datetime) -> list[UUID]:
    """Adds a pause reason to the cases (not stopped ones); each event lists every reason holding its case."""
    paused = await cases.pause_cases(conn, invoice_ids, reason, until, now)
    await outbox.add(conn, [OutboxMessage(topics.CASES, str(c.invoice_id), CasePaused(
        occurred_at=now, tenant_id=c.tenant_id, invoice_id=c.invoice_id, debtor_id=c.debtor_id, reason=reason,
        until=until, reasons=c.reasons)) for c in paused])
    return [c.invoice_id for c in paused]


async def lift_pause(conn: asyncpg.Connection, invoice_ids: list[UUID], reason: PauseReason, now: datetime, *,
                     expired_at: datetime | None = None, skip_locked: bool = False) -> list[cases.PauseChange]:
    """Ends one pause reason: a case with others left stays paused (case.pause-lifted); one with none left goes
    back to where it was, active or exhausted (case.resumed)."""
    changed = await cases.lift_pauses(conn, invoice_ids, reason, expired_at, skip_locked)
    await outbox.add(conn, [OutboxMessage(topics.CASES, str(c.invoice_id), (
        CasePauseLifted(occurred_at=now, tenant_id=c.tenant_id, invoice_id=c.invoice_id, debtor_id=c.debtor_id,
                        reason=reason, remaining=c.reasons)
        if c.reasons else
        CaseResumed(occurred_at=now, tenant_id=c.tenant_id, invoice_id=c.invoice_id, debtor_id=c.debtor_id,
                    reason=reason, status=c.status)
    )) for c in changed])
    return changed


async def expire_pauses(conn: asyncpg.Connection, now: datetime) -> None:
    """Pause reasons whose end has come (a promise's date passed) lift, and only they: a dispute or an
    agreement holding the same case still holds it. Cases a writer holds are left for the next tick."""
    for reason, invoice_ids in (await cases.expired_pauses(conn, now)).items():
        await lift_pause(conn, invoice_ids, reason, now, expired_at=now, skip_locked=True)  # type: ignore[arg-type]


async def confirm_agreement(conn: asyncpg.Connection, e: AgreementCreated, now: datetime) -> bool:
    """The debtor gets the agreement's installments and their PIX codes at once (negotiation fills them in on
    the way), as the thank-you goes: an answer to what the debtor just did, not a collection step; the
    dispatcher's send-time gate still honours opt-outs and invalid contacts."""
    rows = await cases.contact_details(conn, e.tenant_id, e.invoice_ids)
    if len(rows) < len(set(e.invoice_ids)) and still_waiting(now, e.occurred_at, REGISTRATION_WAIT):
        # Negotiation read the invoices' registration before the ruler did: wait for it, not forever.
        raise TransientError(f"{len(set(e.invoice_ids)) - len(rows)} invoices of the agreement not known yet")
    if not rows:
        return False
    recipient = Recipient.model_validate_json(rows[0]["recipient"])
    channel = confirmation_channel(e.channel, bool(recipient.email), can_text(recipient.phone))
    if channel is None:
        return False
    await outbox.add(conn, [OutboxMessage(topics.OFFER_COMMANDS, str(e.debtor_id), ContactRequested(
        occurred_at=now, tenant_id=e.tenant_id, step_id=confirmation_id(e.agreement_id), step_key="agreement",
        channel=channel, template=AGREEMENT_TEMPLATE, tone="friendly", recipient=recipient,
        creditor=Creditor.model_validate_json(rows[0]["creditor"]),
        invoices=[InvoiceSummary.model_validate_json(r["invoice"]) for r in rows], scheduled_for=now,
        agreement_id=e.agreement_id,
    ))])
    return True


async def fire_due_steps(pool: asyncpg.Pool, now: datetime, schedule: Schedule, limit: int) -> int:
    """Turns the due steps of up to ``limit`` debtors into contact commands, through the compliance gate,
    consolidated per debtor and channel, in one transaction. Returns how many debtors it handled."""
    async with pool.acquire() as conn, conn.transaction():
        await expire_pauses(conn, now)
        rows = await cases.claim_due(conn, now, limit)
        if not rows:
            return 0
        by_key = {(r["invoice_id"], r["step_key"], r["slot"]): r for r in rows}
        due = [_due_step(r) for r in rows]
        known = await facts.load_facts(conn, {(r["tenant_id"], r["debtor_id"]): _addressee(r) for r in rows}, now)
        plan = plan_firing(due, known, now, schedule.policy, schedule.late_grace)
        fired, commands, contacts = [], [], []
        for (tenant_id, debtor_id, channel), steps in [*plan.messages.items(), *plan.one_offs.items()]:
            keys = [(s.invoice_id, s.step_key, s.slot) for s in steps]
            mid = message_id(keys)
            commands.append(_command(mid, channel, representative(steps), [by_key[k] for k in keys], now))
            fired += [(k, channel, mid) for k in keys]
            contacts.append((tenant_id, debtor_id, steps[0].person_id or person_key(tenant_id, debtor_id, None),
                             channel, now, False))
        await cases.mark_fired(conn, fired, now)
        await facts.add_contacts(conn, contacts)
        await cases.mark_skipped(conn, [((s.invoice_id, s.step_key, s.slot), why) for s, why in plan.skipped], now)
        await cases.reschedule(conn, [((s.invoice_id, s.step_key, s.slot), at, rule)
                                      for s, at, rule in plan.rescheduled], now)
        await outbox.add(conn, commands)
        exhausted = await cases.exhaust_finished_cases(conn, list({r["invoice_id"] for r in rows}), now)
        await outbox.add(conn, [OutboxMessage(topics.CASES, str(c["invoice_id"]), CaseExhausted(
            occurred_at=now, tenant_id=c["tenant_id"], invoice_id=c["invoice_id"], debtor_id=c["debtor_id"],
        )) for c in exhausted])
    for command in commands:
        STEPS_FIRED.labels(step_label(command.event.step_key), command.event.channel).inc()  # type: ignore[attr-defined]
    for _, why in plan.skipped:
        STEPS_SKIPPED.labels("firing", why.split(":")[0][:40]).inc()
    for _, _, rule in plan.rescheduled:
        GATE_HELD.labels(rule).inc()
    CASES_CLOSED.labels("exhausted").inc(len(exhausted))
    return len({(d.tenant_id, d.debtor_id) for d in due})


def _due_step(row: asyncpg.Record) -> DueStep:
    recipient = json.loads(row["recipient"])
    return DueStep(row["invoice_id"], row["step_key"], row["slot"], tuple(row["channels"]), row["template"],
                   row["tone"], row["offset_days"], row["fire_at"], row["tenant_id"], row["debtor_id"],
                   has_email=bool(recipient.get("email")), has_phone=bool(recipient.get("phone")),
                   has_mobile=can_text(recipient.get("phone")), person_id=row["person_id"])


def _addressee(row: asyncpg.Record) -> facts.Addressee:
    recipient = json.loads(row["recipient"])
    return facts.Addressee(row["person_id"], recipient.get("state"), recipient.get("postcode"),
                           recipient.get("city_ibge"), recipient.get("email"), recipient.get("phone"))


async def answer_negotiation_request(conn: asyncpg.Connection, e: NegotiationRequested, now: datetime) -> bool:
    """The debtor (or an agent for them) asked for offers: a one-off negotiation step, due now, on the
    debtor's open case. It is sent like any step, so the compliance gate applies (but for the debtor's own
    request not the channel interval: they asked) and negotiation fills in the offers on the way."""
    prefix = ANSWER_PREFIX if e.source == "reply" else AGENT_PREFIX
    added = await cases.add_answer_step(
        conn, e.tenant_id, e.debtor_id, f"{prefix}{e.event_id.hex[:12]}", answer_channels(e.channel),
        NEGOTIATION_TEMPLATE, now, now.astimezone(time_zone(None)).date(), ANSWER_QUIET)
    ANSWERS.labels("scheduled" if added else "no-active-case-or-recent-answer").inc()
    return added is not None


async def _person(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID) -> tuple[UUID, dict[str, str]]:
    """The person behind a tenant's debtor and their latest recipient (address, contacts), from our cases."""
    row = await cases.person_of(conn, tenant_id, debtor_id)
    if row is None:
        return person_key(tenant_id, debtor_id, None), {}
    recipient: dict[str, str] = json.loads(row["recipient"])
    return row["person_id"], recipient


async def opt_out(conn: asyncpg.Connection, e: ContactOptedOut) -> None:
    """Opt-outs are per creditor, unless the debtor opted out of the whole agency (then the person's)."""
    if e.scope == "agency":
        person, _ = await _person(conn, e.tenant_id, e.debtor_id)
        await facts.opt_out_person(conn, person, e.channel)
    else:
        await facts.opt_out(conn, e.tenant_id, e.debtor_id, e.channel)


async def invalidate(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, kind: str) -> None:
    """The address the debtor's messages went to is bad, for every creditor; another address is not."""
    _, recipient = await _person(conn, tenant_id, debtor_id)
    await facts.invalidate(conn, kind, recipient.get(kind))


async def record_call(conn: asyncpg.Connection, e: CallOutcomeRecorded, now: datetime) -> None:
    """A call counts for the person's caps (a conversation starts their 7-day silence), whichever creditor made
    it; a wrong number is wrong for everyone; a promise pauses the cases until the day after its date."""
    person, recipient = await _person(conn, e.tenant_id, e.debtor_id)
    await facts.add_contacts(conn, [(e.tenant_id, e.debtor_id, person, "phone", e.called_at,
                                     e.outcome in CONVERSATIONS)])
    if e.outcome == "wrong_number":
        await facts.invalidate(conn, "phone", recipient.get("phone"))
    elif e.outcome == "promise_to_pay" and e.promise_date is not None:
        # Midnight on the debtor's own clock, which the address can set apart from the state's.
        zone = time_zone(recipient.get("state"), recipient.get("postcode"), recipient.get("city_ibge"))
        until = datetime.combine(e.promise_date + timedelta(days=1), time(0), zone)
        invoice_ids = e.invoice_ids or await cases.open_invoices_of(conn, e.tenant_id, e.debtor_id)
        await pause(conn, e.tenant_id, e.debtor_id, invoice_ids, "promise", until, now)


def _command(mid: UUID, channel: str, lead: DueStep, rows: list[asyncpg.Record], now: datetime) -> OutboxMessage:
    first = rows[0]
    invoices = {r["invoice_id"]: InvoiceSummary.model_validate_json(r["invoice"]) for r in rows}
    recipient = Recipient.model_validate_json(first["recipient"])
    # A prior notice of listing states the last day to pay, from the day the debtor receives it (CDC art. 43).
    deadline = (pay_by(now, recipient.state, recipient.postcode, recipient.city_ibge)
                if lead.template == BUREAU_NOTICE_TEMPLATE else None)
    command = ContactRequested(
        occurred_at=now, tenant_id=lead.tenant_id, step_id=mid, step_key=lead.step_key, channel=channel,
        template=lead.template, tone=lead.tone, recipient=recipient,
        creditor=Creditor.model_validate_json(first["creditor"]),
        invoices=sorted(invoices.values(), key=lambda i: (i.due_date, i.external_id)),
        scheduled_for=min(r["fire_at"] for r in rows), pay_by=deadline,
    )
    # Negotiation adds the offers and the self-service link, then forwards the command to the channel.
    topic = topics.OFFER_COMMANDS if lead.template in NEGOTIATED_TEMPLATES else topics.contact_commands(channel)
    # The command continues the trace of the lead invoice's registration (the ticker has none of its own).
    lead_row = next(r for r in rows if (r["invoice_id"], r["step_key"], r["slot"]) == (lead.invoice_id,
                                                                                      lead.step_key, lead.slot))
    return OutboxMessage(topic, str(lead.debtor_id), command, trace=json.loads(lead_row["trace_context"]) or None)
