"""Words of the text messages (unit): lower case after the greeting, singular or plural by the number of
invoices on every shipped SMS and WhatsApp template, the bureau notice's day to pay by (never made up),
installments stated exactly, the updated debt, and SMS text in the GSM 03.38 alphabet."""

import re
from datetime import date

import pytest

from regua_contracts.common import InvoiceSummary
from regua_contracts.contacts import DebtSummary, OfferSummary, accepted_installments
from regua_dispatch import offers
from regua_dispatch.formatting import gsm7
from regua_dispatch.registry import load_defaults
from regua_dispatch.templates import (
    MessageTemplate,
    TemplateRejected,
    check,
    render,
    sample_command,
    values,
    worst_case_command,
)

CHANNELS = {"sms": load_defaults("regua_dispatch_sms", "sms"),
            "whatsapp": load_defaults("regua_dispatch_whatsapp", "whatsapp")}
SHIPPED = [(channel, name) for channel, found in CHANNELS.items() for name in sorted(found)]
TONES = ["friendly", "informative", "cordial", "firm"]


def _text(channel: str, name: str, invoices: int, **update: object) -> str:
    command = worst_case_command(channel, name, invoices)
    return render(CHANNELS[channel][name].body, values(command.model_copy(update=update)))


@pytest.mark.parametrize(("channel", "name"), SHIPPED)
@pytest.mark.parametrize("tone", TONES)
def test_after_the_greeting_the_sentence_goes_on_in_lower_case(channel: str, name: str, tone: str) -> None:
    for invoices in (1, 3):
        command = worst_case_command(channel, name, invoices).model_copy(update={"tone": tone})
        greeting = values(command)["greeting"]
        text = render(CHANNELS[channel][name].body, values(command))
        assert greeting.endswith(",") and text.startswith(greeting + " ")
        assert text[len(greeting) + 1].islower(), text[:80]  # "Olá, Maria, sua fatura", not "..., Sua fatura"


@pytest.mark.parametrize(("channel", "name"), SHIPPED)
def test_one_invoice_is_singular_and_several_are_plural(channel: str, name: str) -> None:
    one, several = _text(channel, name, 1), _text(channel, name, 3)
    plural_words = re.compile(r"\b(suas|faturas|venceram|vencem)\b")
    assert not plural_words.search(one), one
    assert not re.search(r"\b(venceu|vence)\b", several), several
    if name not in ("negotiation", "agreement"):  # these two speak of the offers and installments
        assert "sua fatura" in one and "suas" in several and "faturas" in several


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_notice_and_reminder_verbs_agree(channel: str) -> None:
    assert "venceu em 01/02/2027" in _text(channel, "notice", 1)
    assert "venceram entre 01/02/2027 e 15/02/2027" in _text(channel, "notice", 3)
    assert "vence em 01/02/2027" in _text(channel, "reminder", 1)
    assert "vencem entre 01/02/2027 e 15/02/2027" in _text(channel, "reminder", 3)


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_the_prior_notice_of_a_bureau_listing_states_the_day_to_pay_by(channel: str) -> None:
    # in full, with the year, even by SMS: a legal notice
    assert "até 30/03/2027, o débito" in _text(channel, "bureau_notice", 1).replace("debito", "débito")


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_without_a_day_to_pay_by_the_bureau_notice_makes_none_up(channel: str) -> None:
    text = _text(channel, "bureau_notice", 3, pay_by=None)
    # the due dates alone (an SMS states the invoices' count and total, not their days)
    due_dates = {"01/02/2027", "15/02/2027"} if channel == "whatsapp" else set()
    assert set(re.findall(r"\d\d/\d\d/\d{4}", text)) == due_dates
    legal = {"whatsapp": "no prazo legal contado do recebimento deste aviso", "sms": "no prazo legal deste aviso"}
    assert legal[channel] in text


@pytest.mark.parametrize("placeholder", ["pay_by", "updated_debt"])
def test_pay_by_and_updated_debt_serve_their_template_alone(placeholder: str) -> None:
    body = f"{{{{greeting}}}} veja {{{{{placeholder}}}}}. {{{{creditor}}}}. Responda SAIR."
    with pytest.raises(TemplateRejected, match=rf"\{{\{{{placeholder}\}}\}} may be used only in the"):
        check(MessageTemplate(name="notice", channel="sms", body=body))
    check(MessageTemplate(name="bureau_notice" if placeholder == "pay_by" else "negotiation", channel="sms",
                          body=body))


@pytest.mark.parametrize("word", ["Sua", "Lembrete", "Não", "Ótimo"])
def test_a_capital_after_the_greeting_is_refused(word: str) -> None:
    with pytest.raises(TemplateRejected, match="go on in lower case after"):
        check(MessageTemplate("notice", "sms", f"{{{{greeting}}}} {word} fatura. {{{{creditor}}}}. Responda SAIR."))
    check(MessageTemplate("notice", "sms", "{{greeting}} PIX: {{creditor}}. Responda SAIR."))  # an acronym
    check(MessageTemplate("notice", "sms", "{{greeting}}\n\nSua fatura: {{creditor}}. Responda SAIR."))  # new line


def _offer(installments: int, total: int, installment: int, down: int = 0) -> OfferSummary:
    return OfferSummary(installments=installments, total_cents=total, installment_cents=installment,
                        down_payment_cents=down, first_due=date(2027, 3, 11), discount_cents=0,
                        expires_on=date(2027, 3, 15))


@pytest.mark.parametrize(("offer", "amounts", "stated"), [
    # negotiation's split: the first carries the cents that do not divide (installment_cents is that first)
    (_offer(3, 101_500, 33_834), [33_834, 33_833, 33_833], "1x R$ 338,34 + 2x R$ 338,33"),
    (_offer(3, 101_499, 33_833), [33_833, 33_833, 33_833], "3x R$ 338,33"),
    (_offer(12, 100_000, 8_344), [8_337] + [8_333] * 11, "1x R$ 83,37 + 11x R$ 83,33"),
    # as negotiation states offers now: a first that differs comes as down_payment_cents, the others as
    # installment_cents; cents that do not divide are no down payment
    (_offer(3, 101_500, 33_833, down=33_834), [33_834, 33_833, 33_833], "1x R$ 338,34 + 2x R$ 338,33"),
    (_offer(12, 100_000, 8_333, down=8_337), [8_337] + [8_333] * 11, "1x R$ 83,37 + 11x R$ 83,33"),
    (_offer(3, 100_000, 25_000, down=50_000), [50_000, 25_000, 25_000], "entrada de R$ 500,00 + 2x R$ 250,00"),
    (_offer(4, 100_001, 16_667, down=50_000), [50_000, 16_667, 16_667, 16_667],
     "entrada de R$ 500,00 + 3x R$ 166,67"),
])
def test_installments_are_stated_exactly(offer: OfferSummary, amounts: list[int], stated: str) -> None:
    assert offers.amounts(offer) == amounts and sum(amounts) == offer.total_cents
    assert offers.schedule(offer) == stated
    assert stated in offers.describe(offer)


def test_no_text_states_unequal_installments_as_equal() -> None:
    known = values(sample_command("whatsapp", "negotiation").model_copy(
        update={"offers": [_offer(3, 101_500, 33_834)]}))
    assert "1x R$ 338,34 + 2x R$ 338,33" in known["offers"] and "3x" not in known["offers"]


def test_the_updated_debt_is_stated_in_full_on_whatsapp_and_briefly_by_sms() -> None:
    debt = DebtSummary(principal_cents=101_500, fine_cents=2_030, interest_cents=0, total_cents=103_530,
                       as_of=date(2027, 3, 10))
    whatsapp = values(sample_command("whatsapp", "negotiation").model_copy(update={"updated_debt": debt}))
    assert whatsapp["updated_debt"] == "R$ 1.035,30 (principal R$ 1.015,00 + multa R$ 20,30, em 10/03/2027)"
    sms = values(sample_command("sms", "negotiation").model_copy(update={"updated_debt": debt}))
    assert sms["updated_debt"] == "R$ 1.035,30 (R$ 1.015,00 + multa R$ 20,30)"
    without = values(sample_command("sms", "negotiation").model_copy(update={"updated_debt": None}))
    assert without["updated_debt"] == "R$ 1.234,56"  # the invoices' amount: no fine or interest made up


def test_sms_states_two_offers_and_their_reply_codes_with_what_each_accepts() -> None:
    known = values(worst_case_command("sms", "negotiation", 1))
    assert known["offers"] == "à vista R$ 11.091,96 ou 1x R$ 1.039,13 + 11x R$ 1.039,09"
    # the amount in full; a plan by its count alone (its amounts are on the page: stated whole, never rounded)
    assert known["reply_codes"] == "ACORDO 1 (à vista R$ 11.091,96) ou ACORDO 12 (12x)"
    assert known["offer_deadline"] == "17/03"
    whatsapp = values(worst_case_command("whatsapp", "negotiation", 1))
    assert whatsapp["reply_codes"] == "ACORDO 1 (à vista), ACORDO 2 (2x), ACORDO 3 (3x) ou ACORDO 12 (12x)"
    assert whatsapp["offer_deadline"] == "17/03/2027"


def test_every_code_an_sms_invites_is_read_back_as_the_offer_it_names() -> None:
    for o in worst_case_command("sms", "negotiation", 4).offers:
        code = f"{offers.reply_code(o)} ({offers.brief_label(o)})"
        assert accepted_installments(offers.reply_code(o)) == o.installments
        assert accepted_installments(code) == o.installments  # copied with its label


def test_a_formal_sms_greeting_is_brief() -> None:
    assert values(worst_case_command("sms", "bureau_notice", 1))["greeting"] == "Sr(a). Maximiliano,"
    assert values(worst_case_command("whatsapp", "bureau_notice", 1))["greeting"] == (
        "Prezado(a) Sr(a). Maximiliano Conceição de Albuquerque,")


@pytest.mark.parametrize(("text", "expected"), [
    ("São Paulo, Conceição, Ação, Ônibus", "Sao Paulo, Conceicao, Acao, Onibus"),
    ("é è à ü ö ñ Ç É Ä Ü", "é è à ü ö ñ Ç É Ä Ü"),  # in the GSM 03.38 alphabet: kept
    ("á â ê í ó ô ú õ ç Á Í Ú", "a a e i o o u o c A I U"),
    ("1º vencimento, 2ª via – já", "1o vencimento, 2a via - ja"),
    ("plain [text] {with} €", "plain [text] {with} €"),  # extension characters are GSM-7 too
    ("中文 🙂", "?? ?"),
])
def test_gsm7_transliteration(text: str, expected: str) -> None:
    assert gsm7(text) == expected


def test_sms_values_are_gsm7_and_whatsapp_values_keep_their_accents() -> None:
    sms, whatsapp = values(sample_command("sms", "notice")), values(sample_command("whatsapp", "notice"))
    assert sms["greeting"] == "Ola, Maria," and whatsapp["greeting"] == "Olá, Maria,"
    assert all(gsm7(v) == v for v in sms.values())
    assert "São Paulo" in whatsapp["creditor"]


def test_several_invoices_are_summed_by_sms_and_listed_on_whatsapp() -> None:
    second = InvoiceSummary(invoice_id=sample_command("sms").invoices[0].invoice_id, external_id="NF-9",
                            amount_cents=2_550, due_date=date(2027, 3, 1))
    invoices = [*sample_command("sms").invoices, second]
    sms = values(sample_command("sms").model_copy(update={"invoices": invoices}))
    whatsapp = values(sample_command("whatsapp").model_copy(update={"invoices": invoices}))
    assert sms["invoices_overdue"] == "suas 2 faturas, total R$ 1.260,06, venceram entre 01/03/2027 e 09/03/2027"
    assert whatsapp["your_invoices"] == "suas faturas nº NF-000123 e nº NF-9, no total de R$ 1.260,06"
