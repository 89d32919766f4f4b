"""WhatsApp: the 24-hour window, and templates with approved names and positional parameters (unit)."""

from datetime import UTC, datetime, timedelta

import pytest

from regua_dispatch.registry import load_defaults
from regua_dispatch.templates import MessageTemplate, TemplateRejected, check, parameters, provider_body
from regua_dispatch_whatsapp.adapter import check_template
from regua_dispatch_whatsapp.window import inside_window

AT = datetime(2027, 3, 10, 13, tzinfo=UTC)


@pytest.mark.parametrize(("last", "inside"), [
    (None, False),
    (AT - timedelta(hours=23, minutes=59), True),
    (AT - timedelta(hours=24), False),
    (AT - timedelta(days=3), False),
    (AT, True),
    (AT + timedelta(minutes=1), False),  # a message "from the future" opens nothing yet
])
def test_free_text_only_within_24_hours_of_the_debtors_last_message(last: datetime | None, inside: bool) -> None:
    assert inside_window(AT, last) is inside


def test_the_shipped_templates_are_approved_and_compliant() -> None:
    defaults = load_defaults("regua_dispatch_whatsapp", "whatsapp", check_template)
    assert sorted(defaults) == ["bureau_notice", "negotiation", "notice", "reminder", "thank_you"]
    assert all(t.approved and t.provider_template == f"regua_{name}_v1" for name, t in defaults.items())
    notice = defaults["notice"]
    assert provider_body(notice.body).startswith("{{1}} Ainda não identificamos o pagamento de {{2}}.")
    assert parameters(notice.body, {"greeting": "g", "invoices": "i", "creditor": "c"}) == ["g", "i", "c"]


@pytest.mark.parametrize(("template", "field"), [
    (MessageTemplate("notice", "whatsapp", "{{creditor}}. Responda SAIR."), "provider_template"),
    (MessageTemplate("notice", "whatsapp", "{{creditor}}. Responda SAIR.", "Notice-V1"), "provider_template"),
    (MessageTemplate("notice", "whatsapp", "{{creditor}} " + "x" * 1100 + " Responda SAIR.", "notice_v1"), "body"),
])
def test_whatsapp_rules(template: MessageTemplate, field: str) -> None:
    with pytest.raises(TemplateRejected) as caught:
        check(template, check_template)
    assert caught.value.field == field
