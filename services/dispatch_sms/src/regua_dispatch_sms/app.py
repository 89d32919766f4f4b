"""Wiring of the SMS dispatcher."""


from regua_contracts import topics
from regua_dispatch.api import ping_router, templates_router
from regua_dispatch.facts import install_contact_facts
from regua_dispatch.holds import release_job
from regua_dispatch.pipeline import Dispatcher, install_dispatcher
from regua_dispatch.privacy import install_privacy
from regua_dispatch.provider import ProviderClient, RetryPolicy
from regua_dispatch.registry import TemplateRegistry, load_defaults
from regua_dispatch_sms import api
from regua_dispatch_sms.adapter import SmsAdapter, check_length
from regua_platform.clock import service_clock
from regua_platform.ratelimit import TokenBucket
from regua_platform.service import Runtime, ServiceSpec
from regua_platform.tenants import install_tenant_directory


async def _wire(runtime: Runtime) -> None:
    s = runtime.settings
    client = ProviderClient("sms", s.sms_provider_url, s.sms_provider_token,
                            bucket=TokenBucket(s.sms_rate_per_second),
                            retry=RetryPolicy(s.provider_retry_attempts, s.provider_retry_base_seconds),
                            timeout_seconds=s.provider_timeout_seconds, connections=s.dispatch_concurrency)
    await client.start()
    runtime.closers.append(client.close)
    registry = TemplateRegistry("sms", load_defaults("regua_dispatch_sms", "sms", check_length), check_length)
    clock = service_clock(s.clock_mode)
    runtime.extras.update(clock=clock, templates=registry)
    dispatcher = Dispatcher(runtime.pool, SmsAdapter(client, registry, s.sms_sender_id), clock,
                            s.dispatch_concurrency, status_wait_seconds=s.provider_status_wait_seconds)
    install_tenant_directory(runtime)
    install_contact_facts(runtime, "sms")
    install_dispatcher(runtime, dispatcher)
    install_privacy(runtime, "dispatch-sms")


SPEC = ServiceSpec(
    name="dispatch-sms",
    schema="dispatch_sms",
    package="regua_dispatch_sms",
    libraries=["regua_dispatch"],
    topics=topics.all_topics(),
    wire=_wire,
    background=[release_job("sms")],
    routers=[api.router, templates_router(), ping_router],
    title="Régua — SMS dispatcher",
)
