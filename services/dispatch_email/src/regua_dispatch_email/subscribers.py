"""Kafka entrypoint: e-mail contact commands, dispatched concurrently within a batch."""

import asyncio

from regua_contracts import topics
from regua_contracts.contacts import CONTACT_REQUESTED, ContactRequested
from regua_dispatch_email.handlers import Dispatcher
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.service import Runtime


def wire(runtime: Runtime) -> None:
    dispatcher: Dispatcher = runtime.extras["dispatcher"]
    limit = asyncio.Semaphore(runtime.settings.email_concurrency)

    async def one(delivery: Delivery[ContactRequested]) -> None:
        async with limit:
            with delivery.traced():  # the send and the events it records continue the command's trace
                await dispatcher.dispatch(delivery.event)

    async def handle(deliveries: list[Delivery[ContactRequested]]) -> list[Rejection]:
        # A step redelivered within one batch is dispatched once.
        unique = {d.event.step_id: d for d in deliveries}
        results = await asyncio.gather(*(one(d) for d in unique.values()), return_exceptions=True)
        for result in results:  # every send has finished; now let the consumer retry the failed ones
            if isinstance(result, BaseException):
                raise result
        return []

    subscribe(runtime.broker, runtime.settings, topic=topics.contact_commands("email"),
              group_id="dispatch-email", adapter=CONTACT_REQUESTED, handler=handle)
