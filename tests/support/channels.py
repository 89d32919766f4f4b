"""Shared steps of the channel tests: a tenant with its own ruler, invoices, the simulated clock, events."""

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from regua_compliance import is_no_contact_day
from regua_contracts import topics
from regua_contracts.contacts import CONTACT_EVENT, AnyContactEvent
from regua_localstack.portfolio import cpf
from regua_localstack.topics import read_topic
from tests.support.client import Platform, eventually

SP = ZoneInfo("America/Sao_Paulo")


def at_local(day: date, hour: int = 10, minute: int = 1) -> datetime:
    return datetime.combine(day, time(hour, minute), SP).astimezone(UTC)


def next_monday(platform: Platform) -> date:
    """The next Monday of a week without holidays (the gate would defer steps on them), so a ruler's
    D+1..D+4 fall on working days."""
    today = platform.now().astimezone(SP).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    while any(is_no_contact_day(monday + timedelta(days=d), "SP") for d in range(5)):
        monday += timedelta(weeks=1)
    return monday


def unique_phone() -> str:
    """A mobile number no other test uses (the provider double keys its records on it). Never one ending in
    9999: the provider double answers those as invalid numbers (regua_localstack.provider_sink)."""
    while (number := random.randint(10_000_000, 99_999_998)) % 10_000 == 9_999:
        pass
    return f"+55119{number:08d}"


def tenant_with_ruler(platform: Platform, name: str, steps: str, services: tuple[str, ...] = ()) -> str:
    """A new client company whose default ruler is ``steps`` (YAML list items); returns its API key."""
    _, api_key = platform.new_tenant(name, "11222333000181", "Rua Augusta, 500, São Paulo - SP")
    ruler = f"name: default\nsegments:\n  - name: all\n    steps:\n{steps}"
    r = httpx.put(f"{platform.stack.url('ruler')}/v1/rulers/default", content=ruler,
                  headers={"X-API-Key": api_key, "content-type": "application/yaml"})
    assert r.status_code == 201, r.text
    for service in services:
        platform.wait_tenant_known(service, api_key)
    return api_key


def register(platform: Platform, api_key: str, due: date, amount_cents: int = 15_000,
             **debtor: Any) -> dict[str, Any]:
    body = {"external_id": f"CH-{uuid.uuid4().hex[:10]}", "amount_cents": amount_cents, "due_date": due.isoformat(),
            "debtor": {"document": cpf(random.Random(uuid.uuid4().int)), "name": "Ana Beatriz Souza",
                       "state": "SP", **debtor}}
    with platform.api(api_key) as api:
        r = api.post("/v1/invoices", json=body)
        assert r.status_code == 201, r.text
        invoice: dict[str, Any] = r.json()
    eventually(lambda: httpx.get(f"{platform.stack.url('ruler')}/v1/invoices/{invoice['id']}/case",
                                 headers={"X-API-Key": api_key}).status_code == 200, 30, what="the case to open")
    return invoice


def contact_events(platform: Platform, debtor_id: str) -> list[AnyContactEvent]:
    assert platform.stack.bootstrap
    found = [CONTACT_EVENT.validate_json(r["value"])
             for r in asyncio.run(read_topic(platform.stack.bootstrap, topics.CONTACTS))]
    return [e for e in found if str(e.debtor_id) == debtor_id]


def wait_consumed(platform: Platform, group: str, topic: str = topics.CONTACTS, timeout: float = 30.0) -> None:
    """Until consumer ``group`` has committed everything now on ``topic`` (e.g. the ruler has learnt a fact)."""
    assert platform.stack.bootstrap
    bootstrap = platform.stack.bootstrap

    async def behind() -> int:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await consumer.start()
        await admin.start()
        try:
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            ends = await consumer.end_offsets(partitions)
            committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
            # Tansu may report a committed offset one past the end offset: count only what is left to read.
            return sum(max(0, ends[tp] - (committed[tp].offset if tp in committed else 0)) for tp in partitions)
        finally:
            await admin.close()
            await consumer.stop()

    eventually(lambda: asyncio.run(behind()) == 0, timeout, 0.2, what=f"{group} to consume {topic}")


def of_type(platform: Platform, debtor_id: str, kind: str) -> list[AnyContactEvent]:
    return [e for e in contact_events(platform, debtor_id) if e.type == kind]
