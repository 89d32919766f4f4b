"""The shipped SMS templates pass the rules; a template too long for SMS is refused when saved (unit)."""

import pytest

from regua_dispatch.registry import load_defaults
from regua_dispatch.templates import MessageTemplate, TemplateRejected, check, render, sample_command, values
from regua_dispatch_sms.adapter import check_length
from regua_dispatch_sms.segments import measure


def test_every_ruler_template_is_shipped_and_compliant() -> None:
    defaults = load_defaults("regua_dispatch_sms", "sms", check_length)
    assert sorted(defaults) == ["bureau_notice", "negotiation", "notice", "reminder", "thank_you"]
    for name, template in defaults.items():
        text = render(template.body, values(sample_command("sms", name)))
        assert "Comércio de Exemplo Ltda, CNPJ 11.222.333/0001-81, Av. Paulista, 1000, São Paulo - SP" in text
        assert "responda SAIR" in text
        assert measure(text).segments <= 5


def test_a_template_of_more_than_six_parts_is_refused() -> None:
    long = MessageTemplate("notice", "sms", "{{creditor}} " + "texto longo " * 40 + "Responda SAIR.")
    with pytest.raises(TemplateRejected, match="renders to 9 SMS parts"):
        check(long, check_length)
