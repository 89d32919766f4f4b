"""Signed events against a real Kafka-protocol broker (Tansu): the outbox publisher signs, the consumer wrapper
hands its handler only records that a producer allowed for the topic signed with a trusted key; everything
else is dead-lettered with the reason. Service tokens for gRPC calls are checked the same way."""

import asyncio
import base64
import json
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import BaseModel, TypeAdapter

from regua_contracts import topics
from regua_localstack.infra import start_broker
from regua_platform.kafka import Delivery, OutboxPublisher, Rejection, create_broker, ensure_topics, subscribe
from regua_platform.kafka_security import client_options
from regua_platform.replay import replay
from regua_platform.service_tokens import TokenIssuer, TokenRejected, TokenVerifier
from regua_platform.settings import Settings
from regua_platform.signing import Verifier, load_public_key, new_key_pair, signer_from, verifier_from


class Paid(BaseModel):
    invoice: str


KEYS = {name: new_key_pair() for name in ("ingestion", "ruler")}
TRUSTED = json.dumps({name: public for name, (_, public) in KEYS.items()})


@pytest.fixture(scope="module")
def bootstrap() -> Any:
    process, address = start_broker(Path(tempfile.mkdtemp(prefix="regua-signing-test-")))
    try:
        yield address
    finally:
        process.stop()


async def _read(bootstrap: str, topic: str, at_least: int, timeout: float = 30.0) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"r-{uuid.uuid4().hex[:6]}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    out: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(out) < at_least and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                out += records
        return out
    finally:
        await consumer.stop()


@pytest.fixture
async def invoices_consumer(bootstrap: str) -> AsyncIterator[dict[str, Any]]:
    """A service consuming regua.invoices.v1 that trusts ingestion's and the ruler's keys."""
    settings = Settings(kafka_bootstrap_servers=bootstrap, kafka_partitions=1, kafka_session_timeout_ms=2000,
                        kafka_heartbeat_interval_ms=500, trusted_producers=TRUSTED, service_name="ruler")
    await ensure_topics(settings, [topics.INVOICES, topics.dead_letter(topics.INVOICES)])
    handled: list[str] = []

    async def handler(deliveries: list[Delivery[Paid]]) -> list[Rejection]:
        handled.extend(d.event.invoice for d in deliveries)
        return []

    broker = create_broker(settings)
    subscribe(broker, settings, topic=topics.INVOICES, group_id=f"g-{uuid.uuid4().hex[:6]}",
              adapter=TypeAdapter(Paid), handler=handler)
    await broker.start()
    try:
        yield {"handled": handled, "settings": settings}
    finally:
        await broker.stop()


async def test_only_records_signed_by_an_allowed_producer_reach_the_handler(
        bootstrap: str, invoices_consumer: dict[str, Any]) -> None:
    def payment(name: str) -> tuple[bytes, bytes, dict[str, str]]:
        return b"inv", Paid(invoice=name).model_dump_json().encode(), {"x-event-type": "payment.recorded.v1"}

    raw = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await raw.start()
    try:
        async def send(record: tuple[bytes, bytes, dict[str, str]]) -> None:
            key, value, headers = record
            await raw.send_and_wait(topics.INVOICES, value, key=key,
                                    headers=[(k, v.encode()) for k, v in headers.items()])

        await send(payment("unsigned"))
        forged_key, _ = new_key_pair()  # "ingestion", but not its key
        forger = signer_from("ingestion", forged_key)
        assert forger is not None
        await send((b"inv", payment("wrong-key")[1], forger.headers(topics.INVOICES, *payment("wrong-key"))))
        ruler = signer_from("ruler", KEYS["ruler"][0])  # trusted, but the ruler may not produce invoices
        assert ruler is not None
        await send((b"inv", payment("ruler")[1], ruler.headers(topics.INVOICES, *payment("ruler"))))
        ingestion = signer_from("ingestion", KEYS["ingestion"][0])
        assert ingestion is not None
        tampered = ingestion.headers(topics.INVOICES, *payment("signed-then-changed"))
        await send((b"inv", Paid(invoice="changed").model_dump_json().encode(), tampered))
    finally:
        await raw.stop()
    # The outbox publisher signs as its service: this one reaches the handler.
    publisher = OutboxPublisher(Settings(kafka_bootstrap_servers=bootstrap, service_name="ingestion",
                                         signing_key=KEYS["ingestion"][0]))
    await publisher.start()
    try:
        await publisher.publish([(topics.INVOICES, b"inv", Paid(invoice="genuine").model_dump_json().encode(),
                                  {"x-event-type": "payment.recorded.v1"})])
    finally:
        await publisher.stop()

    letters = await _read(bootstrap, topics.dead_letter(topics.INVOICES), at_least=4)
    reasons = [dict(r.headers)["x-dlq-reason"].decode() for r in letters]
    assert reasons == ["untrusted producer: the record is not signed",
                       "untrusted producer: invalid signature for 'ingestion'",
                       "untrusted producer: 'ruler' may not produce regua.invoices.v1",
                       "untrusted producer: invalid signature for 'ingestion'"]
    for _ in range(100):
        if invoices_consumer["handled"]:
            break
        await asyncio.sleep(0.1)
    assert invoices_consumer["handled"] == ["genuine"]


async def test_a_replayed_dead_letter_keeps_its_signature(bootstrap: str) -> None:
    topic = topics.CASES
    settings = Settings(kafka_bootstrap_servers=bootstrap, kafka_partitions=1, kafka_session_timeout_ms=2000,
                        kafka_heartbeat_interval_ms=500, trusted_producers=TRUSTED, consumer_retry_attempts=1,
                        consumer_retry_base_seconds=0.01)
    await ensure_topics(settings, [topic, topics.dead_letter(topic)])
    state: dict[str, Any] = {"fixed": False, "handled": []}

    async def handler(deliveries: list[Delivery[Paid]]) -> list[Rejection]:
        if not state["fixed"]:
            return [Rejection(d.record, "not yet") for d in deliveries]
        state["handled"] += [d.event.invoice for d in deliveries]
        return []

    broker = create_broker(settings)
    subscribe(broker, settings, topic=topic, group_id="g-replay", adapter=TypeAdapter(Paid), handler=handler)
    await broker.start()
    try:
        publisher = OutboxPublisher(settings.model_copy(update={"service_name": "ruler",
                                                                 "signing_key": KEYS["ruler"][0]}))
        await publisher.start()
        await publisher.publish([(topic, b"k", b'{"invoice": "c1"}', {"x-event-type": "case.stopped.v1"})])
        await publisher.stop()
        assert len(await _read(bootstrap, topics.dead_letter(topic), at_least=1)) == 1
        state["fixed"] = True
        report = await replay(bootstrap, topics.dead_letter(topic), group="replay-cases", idle_seconds=1.0)
        assert report.replayed == 1
        for _ in range(100):
            if state["handled"]:
                break
            await asyncio.sleep(0.1)
        assert state["handled"] == ["c1"]
    finally:
        await broker.stop()


def test_client_facing_and_unknown_topics_are_not_signature_checked() -> None:
    verifier = verifier_from(TRUSTED)
    assert verifier.untrusted(topics.CLIENT_COMMANDS, b"k", b"{}", {}) is None  # authenticated by its API key
    assert verifier.untrusted(topics.INVOICES, b"k", b"{}", {}) == "untrusted producer: the record is not signed"


def test_every_internal_topic_has_declared_producers() -> None:
    internal = [t for t in topics.all_topics() if not t.endswith(".dlq") and t not in topics.CLIENT_FACING]
    assert sorted(internal) == sorted(topics.PRODUCERS)


def test_service_tokens_carry_the_tenant_and_are_refused_otherwise() -> None:
    now = [1_000_000.0]
    ruler = signer_from("ruler", KEYS["ruler"][0])
    ingestion = signer_from("ingestion", KEYS["ingestion"][0])
    assert ruler is not None and ingestion is not None
    verifier = TokenVerifier(verifier_from(TRUSTED), ["ruler"], clock=lambda: now[0])
    token = TokenIssuer(ruler, ttl_seconds=60, clock=lambda: now[0]).token("tn_a")
    claims = verifier.verify(token)
    assert (claims.service, claims.tenant) == ("ruler", "tn_a")

    with pytest.raises(TokenRejected) as denied:  # trusted key, but not an allowed caller
        verifier.verify(TokenIssuer(ingestion, clock=lambda: now[0]).token("tn_a"))
    assert denied.value.denied
    stranger_key, _ = new_key_pair()
    stranger = signer_from("ruler", stranger_key)
    assert stranger is not None
    with pytest.raises(TokenRejected, match="invalid signature"):  # "ruler", but not its key
        verifier.verify(TokenIssuer(stranger, clock=lambda: now[0]).token("tn_b"))
    version, payload, signature = token.split(".")
    edited = base64.urlsafe_b64encode(base64.urlsafe_b64decode(payload + "==").replace(b"tn_a", b"tn_b"))
    with pytest.raises(TokenRejected, match="invalid signature"):  # another tenant written into the token
        verifier.verify(f"{version}.{edited.decode().rstrip('=')}.{signature}")
    with pytest.raises(TokenRejected, match="required"):
        verifier.from_metadata(None)
    now[0] += 61
    with pytest.raises(TokenRejected, match="expired"):
        verifier.verify(token)


def test_keys_load_from_pem_too() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    signer = signer_from("ruler", pem)
    assert signer is not None
    assert Verifier({"ruler": load_public_key(public_pem)}).verify(b"x", "ruler", signer.sign(b"x"))


def test_kafka_sasl_settings_reach_every_client() -> None:
    options = client_options(Settings(kafka_sasl_mechanism="SCRAM-SHA-512", kafka_sasl_username="ruler",
                                      kafka_sasl_password="s3cret", kafka_ssl=True))
    assert options["security_protocol"] == "SASL_SSL"
    assert (options["sasl_mechanism"], options["sasl_plain_username"], options["sasl_plain_password"]) == \
        ("SCRAM-SHA-512", "ruler", "s3cret")
    assert client_options(Settings()) == {}
    with pytest.raises(ValueError, match="USERNAME"):
        client_options(Settings(kafka_sasl_mechanism="SCRAM-SHA-512"))


def test_a_producing_service_refuses_to_start_without_its_signing_key() -> None:
    from regua_platform.service import ServiceSpec, create_app

    async def wire(_: Any) -> None:
        return None

    spec = ServiceSpec(name="ingestion", schema="ingestion", package="regua_platform", topics=[], wire=wire)
    with pytest.raises(RuntimeError, match="REGUA_SIGNING_KEY is required"):
        create_app(spec, Settings(service_name="ingestion"))


def test_a_producer_key_rotates_without_downtime() -> None:
    """While a new key rolls out, consumers trust both; once the old one is dropped, it signs nothing."""
    old_private, old_public = KEYS["ingestion"]
    new_private, new_public = new_key_pair()
    record = (topics.INVOICES, b"k", b"{}", {"x-event-type": "invoice.registered.v1"})
    old, new = signer_from("ingestion", old_private), signer_from("ingestion", new_private)
    assert old is not None and new is not None
    both = verifier_from(json.dumps({"ingestion": [new_public, old_public]}))
    only_new = verifier_from(json.dumps({"ingestion": new_public}))
    assert both.untrusted(*record[:3], old.headers(*record)) is None
    assert both.untrusted(*record[:3], new.headers(*record)) is None
    assert only_new.untrusted(*record[:3], new.headers(*record)) is None
    assert only_new.untrusted(*record[:3], old.headers(*record)) == \
        "untrusted producer: invalid signature for 'ingestion'"
