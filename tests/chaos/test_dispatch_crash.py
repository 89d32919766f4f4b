"""kill -9 the SMS dispatcher between the provider call and the commit: after the restart every unconfirmed
step is settled with the gateway first (a receipt that named it, or its lookup by reference), so the one it
already took is not requested again and the others go out once."""

import collections
import random
import signal
import time
from datetime import timedelta

from regua_contracts.contacts import ContactAttempted
from regua_localstack.portfolio import cpf
from tests.support.channels import (
    at_local,
    next_monday,
    of_type,
    register,
    tenant_with_ruler,
    unique_phone,
)
from tests.support.client import Platform, eventually
from tests.support.providers import Providers

SIZE = 200
STEPS = """\
      - {key: D+1, offset_days: 1, send: [[sms, email]], template: notice, tone: informative}
"""


def test_kill_the_sms_dispatcher_between_provider_call_and_commit(platform: Platform) -> None:
    providers = Providers(platform.stack)
    key = tenant_with_ruler(platform, "Provedor Conecta Fibra", STEPS)
    due = next_monday(platform)
    held_phone = unique_phone()
    held = register(platform, key, due, 99_000, phone=held_phone)
    phones = {unique_phone() for _ in range(SIZE)} - {held_phone}
    rng = random.Random(11)
    batch = [{"external_id": f"KX-{i:04d}", "amount_cents": 10_000 + i, "due_date": due.isoformat(),
              "debtor": {"document": cpf(rng), "name": "Paula Ramos", "phone": phone, "state": "SP"}}
             for i, phone in enumerate(sorted(phones))]
    with platform.api(key) as api:
        assert api.post("/v1/invoices", json={"invoices": batch}).status_code == 201
    time.sleep(2)  # the cases open

    # The provider records the held number's message, then answers only a minute later: the dispatcher
    # has sent it (and others of its batch) but cannot commit them before it is killed.
    providers.hold("sms", held_phone, 60)
    platform.set_clock(at_local(due + timedelta(days=1)))
    eventually(lambda: providers.received("sms", held_phone), 60, interval=0.05, what="the held message")
    stack = platform.stack
    stack.services["dispatch-sms"].kill(signal.SIGKILL)
    stack.start_service("dispatch-sms")

    everyone = phones | {held_phone}
    eventually(lambda: {m["to"] for m in providers.received("sms")} >= everyone, 120, what="every SMS")
    eventually(lambda: [e.outcome for e in of_type(platform, held["debtor_id"], "contact.attempted.v1")
                        if isinstance(e, ContactAttempted)] == ["sent"], 60, what="the held step confirmed")
    time.sleep(2)  # anything still in flight would arrive now
    mine = [m for m in providers.received("sms") if m["to"] in everyone]
    per_phone = collections.Counter(m["to"] for m in mine)
    assert {p: n for p, n in per_phone.items() if n > 1} == {}  # nobody got the message twice
    assert set(per_phone) == everyone  # and nobody was left out
    (message,) = providers.received("sms", held_phone)
    assert providers.requests("sms")[message["key"]] == 1  # sent before the kill, settled (not resent) after it
    attempts = [e for e in of_type(platform, held["debtor_id"], "contact.attempted.v1")]
    assert len(attempts) == 1
