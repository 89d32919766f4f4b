"""Wiring of the e-mail dispatcher."""

import uuid

from regua_contracts import topics
from regua_dispatch.cases import install_case_states
from regua_dispatch.clock import follow_clock
from regua_dispatch.facts import install_contact_facts
from regua_dispatch.holds import release_job
from regua_dispatch.pipeline import withdrawer
from regua_dispatch.privacy import install_privacy
from regua_dispatch_email import api, subscribers
from regua_dispatch_email.handlers import Dispatcher
from regua_dispatch_email.rendering import EmailRenderer
from regua_dispatch_email.smtp import SmtpSender
from regua_dispatch_email.unconfirmed import resolve_unconfirmed
from regua_platform.clock import observe, service_clock
from regua_platform.service import Runtime, ServiceSpec


async def _wire(runtime: Runtime) -> None:
    s = runtime.settings
    clock = service_clock(s.clock_mode)
    runtime.extras["clock"] = clock
    runtime.extras["dispatcher"] = dispatcher = Dispatcher(
        pool=runtime.pool, sender=SmtpSender(s), renderer=EmailRenderer(), sender_address=s.email_sender,
        public_base_url=s.public_base_url.rstrip("/"), link_secret=s.link_secret, instance=uuid.uuid4(),
        clock=clock,
    )
    runtime.extras["release"] = dispatcher.release
    install_contact_facts(runtime, "email")
    install_case_states(runtime, "email", withdrawer("email", clock), lambda at: observe(clock, at))
    follow_clock(runtime, "email", clock)
    subscribers.wire(runtime)
    install_privacy(runtime, "dispatch-email")


SPEC = ServiceSpec(
    name="dispatch-email",
    schema="dispatch_email",
    package="regua_dispatch_email",
    libraries=["regua_dispatch"],
    topics=topics.all_topics(),
    wire=_wire,
    background=[release_job("email"), resolve_unconfirmed],
    routers=[api.router],
    title="Régua — e-mail dispatcher",
)
