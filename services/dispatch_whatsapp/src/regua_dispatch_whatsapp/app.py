"""Wiring of the WhatsApp dispatcher."""


from regua_contracts import topics
from regua_dispatch.api import ping_router, templates_router
from regua_dispatch.facts import install_contact_facts
from regua_dispatch.holds import release_job
from regua_dispatch.pipeline import Dispatcher, install_dispatcher
from regua_dispatch.privacy import install_privacy
from regua_dispatch.provider import ProviderClient, RetryPolicy
from regua_dispatch.registry import TemplateRegistry, load_defaults
from regua_dispatch_whatsapp import api
from regua_dispatch_whatsapp.adapter import WhatsAppAdapter, check_template
from regua_platform.clock import service_clock
from regua_platform.ratelimit import TokenBucket
from regua_platform.service import Runtime, ServiceSpec
from regua_platform.tenants import install_tenant_directory


async def _wire(runtime: Runtime) -> None:
    s = runtime.settings
    client = ProviderClient("whatsapp", s.whatsapp_api_url, s.whatsapp_access_token,
                            bucket=TokenBucket(s.whatsapp_rate_per_second),
                            retry=RetryPolicy(s.provider_retry_attempts, s.provider_retry_base_seconds),
                            timeout_seconds=s.provider_timeout_seconds, connections=s.dispatch_concurrency)
    await client.start()
    runtime.closers.append(client.close)
    defaults = load_defaults("regua_dispatch_whatsapp", "whatsapp", check_template)
    registry = TemplateRegistry("whatsapp", defaults, check_template)
    clock = service_clock(s.clock_mode)
    runtime.extras.update(clock=clock, templates=registry)
    adapter = WhatsAppAdapter(client, registry, f"/{s.whatsapp_api_version}/{s.whatsapp_phone_number_id}/messages")
    dispatcher = Dispatcher(runtime.pool, adapter, clock, s.dispatch_concurrency,
                            status_wait_seconds=s.provider_status_wait_seconds)
    install_tenant_directory(runtime)
    install_contact_facts(runtime, "whatsapp")
    install_dispatcher(runtime, dispatcher)
    install_privacy(runtime, "dispatch-whatsapp")


SPEC = ServiceSpec(
    name="dispatch-whatsapp",
    schema="dispatch_whatsapp",
    package="regua_dispatch_whatsapp",
    libraries=["regua_dispatch"],
    topics=topics.all_topics(),
    wire=_wire,
    background=[release_job("whatsapp")],
    routers=[api.router, templates_router(), ping_router],
    title="Régua — WhatsApp dispatcher",
)
