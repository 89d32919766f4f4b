"""The case screen every command passes just before sending (pure): stopped is final; a pause blocks what the
ruler emitted before it, and lets through what it fired after it (the case was resumed; that event is on its
way on another topic), but only for the invoices the ruler fired, not those negotiation added."""

from datetime import UTC, datetime, timedelta

from regua_dispatch.cases import CaseState, screen

from .test_dispatch_holds import command

PAUSED_AT = datetime(2027, 3, 10, 13, tzinfo=UTC)


def test_a_pause_blocks_what_was_emitted_before_it() -> None:
    c = command(PAUSED_AT - timedelta(minutes=1))
    s = screen(c, {c.invoices[0].invoice_id: CaseState("paused", ("promise",), PAUSED_AT)})
    assert s.suppressed and s.reason == "case paused: promise"
    assert screen(command(PAUSED_AT), {}).command is not None  # a case not known yet counts as active


def test_a_step_fired_after_the_pause_goes_the_case_was_resumed_since() -> None:
    c = command(PAUSED_AT + timedelta(hours=1))
    assert screen(c, {c.invoices[0].invoice_id: CaseState("paused", ("promise",), PAUSED_AT)}).command == c


def test_an_invoice_negotiation_added_is_judged_on_its_own_state() -> None:
    c = command(PAUSED_AT + timedelta(hours=1), invoices=2)
    fired, added = c.invoices
    c = c.model_copy(update={"fired_invoice_ids": [fired.invoice_id]})
    s = screen(c, {fired.invoice_id: CaseState("paused", ("promise",), PAUSED_AT),
                   added.invoice_id: CaseState("paused", ("promise",), PAUSED_AT)})
    assert s.command is not None and s.command.invoices == [fired]
    assert s.dropped == {added.invoice_id: "case paused: promise"}


def test_a_stop_is_final_and_thanks_pass_whole() -> None:
    c = command(PAUSED_AT + timedelta(days=1))
    stopped = {c.invoices[0].invoice_id: CaseState("stopped", ("paid",), PAUSED_AT)}
    assert screen(c, stopped).reason == "case stopped: paid"
    thanks = c.model_copy(update={"template": "thank_you"})
    assert screen(thanks, stopped).command == thanks
