"""A hard bounce (550 5.1.1 from the SMTP server) invalidates the e-mail address: the e-mail dispatcher
reports it and the ruler falls back to the next channel for the following step."""

import uuid
from datetime import timedelta

from regua_contracts.contacts import ContactAttempted, ContactFailed, ContactInvalidated
from tests.support.channels import (
    at_local,
    next_monday,
    of_type,
    register,
    tenant_with_ruler,
    unique_phone,
    wait_consumed,
)
from tests.support.client import Platform, eventually
from tests.support.providers import Providers

STEPS = """\
      - {key: D+1, offset_days: 1, send: [[email, sms]], template: notice, tone: informative}
      - {key: D+2, offset_days: 2, send: [[email, sms]], template: negotiation, tone: cordial}
"""


def test_a_hard_bounce_invalidates_the_address_and_the_next_step_goes_by_sms(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key = tenant_with_ruler(platform, "Livraria Página Certa Ltda", STEPS)
    phone = unique_phone()
    due = next_monday(platform)
    invoice = register(platform, key, due, phone=phone, email=f"gone.{uuid.uuid4().hex[:8]}@bounce.invalid")

    platform.set_clock(at_local(due + timedelta(days=1)))
    failed = eventually(lambda: of_type(platform, invoice["debtor_id"], "contact.failed.v1"), 30,
                        what="the hard bounce")[0]
    assert isinstance(failed, ContactFailed) and failed.channel == "email" and failed.contact_invalid
    assert "550" in failed.reason
    invalidated = eventually(lambda: of_type(platform, invoice["debtor_id"], "contact.invalidated.v1"), 30)[0]
    assert isinstance(invalidated, ContactInvalidated) and invalidated.contact == "email"
    attempts = [e for e in of_type(platform, invoice["debtor_id"], "contact.attempted.v1")
                if isinstance(e, ContactAttempted)]
    assert [(e.channel, e.outcome) for e in attempts] == [("email", "failed")]
    wait_consumed(platform, "ruler-contacts")

    platform.set_clock(at_local(due + timedelta(days=2)))
    sms = eventually(lambda: providers.received("sms", phone), 30, what="D+2 by SMS instead")[0]
    assert "Livraria Pagina Certa Ltda" in sms["text"] and "responda SAIR" in sms["text"]
