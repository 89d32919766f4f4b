"""The Kafka ACLs of compose and the chart are generated from regua_contracts.topics (PRODUCERS, CONSUMERS):
they are current, each service writes only what it produces (and the dead letters of what it reads), and
every service connects as its own SASL user with its own signing key."""

import re
from pathlib import Path
from typing import Any

import yaml

from regua_contracts import topics
from regua_localstack.stack import SERVICES
from regua_platform import kafka_acls

ROOT = Path(__file__).resolve().parents[2]
GENERATED = [ROOT / "deploy" / "kafka" / "kafka-acls.sh", ROOT / "helm" / "regua" / "files" / "kafka-acls.sh"]


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _writes(script: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for user, topic in re.findall(r"^acl (\S+) --operation Write --topic (\S+)$", script, re.MULTILINE):
        out.setdefault(user, set()).add(topic)
    return out


def test_the_acl_files_are_generated_from_topics() -> None:
    for path in GENERATED:
        assert path.read_text(encoding="utf-8") == kafka_acls.script(), \
            f"{path} is stale: python -m regua_platform.kafka_acls > {path.relative_to(ROOT)}"


def test_each_service_writes_only_what_it_produces_and_its_dead_letters() -> None:
    writes = _writes(GENERATED[1].read_text(encoding="utf-8"))
    for service in SERVICES:
        produced = {t for t, names in topics.PRODUCERS.items() if service in names}
        dead_letters = {topics.dead_letter(t) for t, names in topics.CONSUMERS.items() if service in names}
        assert writes.get(service, set()) == produced | dead_letters, service
    assert writes["clients"] == {topics.CLIENT_COMMANDS}
    assert topics.INVOICES in writes["ingestion"] and all(
        topics.INVOICES not in w for user, w in writes.items() if user not in ("ingestion", "replay"))


def test_every_service_has_its_own_kafka_user_and_signing_key_in_compose_and_the_chart() -> None:
    compose = _load(ROOT / "deploy" / "compose" / "docker-compose.yml")
    for name in SERVICES:
        env = compose["services"][name]["environment"]
        assert env["REGUA_KAFKA_SASL_USERNAME"] == name
        var = name.upper().replace("-", "_")
        assert env["REGUA_SIGNING_KEY"] == f"${{REGUA_SIGNING_KEY_{var}:?}}"
        assert env["REGUA_KAFKA_SASL_PASSWORD"] == f"${{REGUA_KAFKA_PASSWORD_{var}:?}}"
        assert env["REGUA_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    kafka = compose["services"]["kafka"]["environment"]
    assert "LOCAL:PLAINTEXT" in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    # Nothing but the container's loopback is unauthenticated.
    assert all(":PLAINTEXT" not in p or p.split(":")[0] in ("CONTROLLER", "LOCAL")
               for p in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert "127.0.0.1:9093" in kafka["KAFKA_LISTENERS"] and "LOCAL://127.0.0.1:9095" in kafka["KAFKA_LISTENERS"]
    values = _load(ROOT / "helm" / "regua" / "values.yaml")
    assert values["integrity"]["kafka"]["sasl"] is True
    assert sorted(values["integrity"]["kafka"]["users"]) == kafka_acls.users()
    template = (ROOT / "helm" / "regua" / "templates" / "kafka-acls.yaml").read_text(encoding="utf-8")
    assert '.Files.Get "files/kafka-acls.sh"' in template
    deployment = (ROOT / "helm" / "regua" / "templates" / "deployment.yaml").read_text(encoding="utf-8")
    assert "REGUA_KAFKA_SASL_USERNAME" in deployment and "-identity" in deployment
