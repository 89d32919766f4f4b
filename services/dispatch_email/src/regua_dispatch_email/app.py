"""Wiring of the e-mail dispatcher."""

import uuid

from regua_contracts import topics
from regua_dispatch.facts import install_contact_facts
from regua_dispatch_email import api, subscribers
from regua_dispatch_email.handlers import Dispatcher
from regua_dispatch_email.rendering import EmailRenderer
from regua_dispatch_email.smtp import SmtpSender
from regua_platform.clock import service_clock
from regua_platform.service import Runtime, ServiceSpec


async def _wire(runtime: Runtime) -> None:
    s = runtime.settings
    clock = service_clock(s.clock_mode)
    runtime.extras["clock"] = clock
    runtime.extras["dispatcher"] = Dispatcher(
        pool=runtime.pool, sender=SmtpSender(s), renderer=EmailRenderer(), sender_address=s.email_sender,
        public_base_url=s.public_base_url.rstrip("/"), link_secret=s.link_secret, instance=uuid.uuid4(),
        clock=clock,
    )
    install_contact_facts(runtime, "email")
    subscribers.wire(runtime)


SPEC = ServiceSpec(
    name="dispatch-email",
    schema="dispatch_email",
    package="regua_dispatch_email",
    libraries=["regua_dispatch"],
    topics=topics.all_topics(),
    wire=_wire,
    routers=[api.router],
    title="Régua — e-mail dispatcher",
)
