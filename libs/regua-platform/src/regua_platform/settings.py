"""The one settings model. Every value comes from an environment variable prefixed ``REGUA_``."""

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from regua_platform.secrets import MIN_LENGTH, weak_secrets


class Settings(BaseSettings):
    # Errors never echo what was given: a mistyped secret must not end up in a log.
    model_config = SettingsConfigDict(env_prefix="REGUA_", extra="ignore", hide_input_in_errors=True)

    service_name: str = "regua"
    #: "local" (the local stack, tests, demo) accepts the shipped placeholder secrets; anywhere else a
    #: service refuses to start while a secret it uses is a placeholder or short (secrets.py).
    environment: Literal["local", "production"] = "production"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/regua"
    db_pool_min: int = 1
    db_pool_max: int = 10
    #: Each service migrates its schema at start-up; off where a Job migrates before the pods start
    #: (the Helm chart's pre-install/upgrade Jobs run `python -m regua_platform.migrations <module>`).
    migrate_on_start: bool = True
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Group join takes max(1 s, session_timeout/2) on small brokers; keep both configurable.
    kafka_session_timeout_ms: int = 10_000
    kafka_heartbeat_interval_ms: int = 3_000
    kafka_max_batch: int = 500
    kafka_partitions: int = 4
    #: Replicas of each partition of the topics the services create (ensure_topics); 3 on a production
    #: cluster, 1 on a single broker (the local stack).
    kafka_replication_factor: int = 1
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    #: Larger request bodies are refused with 413 before they are read (a batch of 1,000 invoices is ~0.5 MB).
    http_max_body_bytes: int = 4_000_000
    log_level: str = "INFO"
    otel_exporter_otlp_endpoint: str | None = None
    outbox_poll_seconds: float = 0.05
    outbox_batch: int = 1000
    consumer_retry_attempts: int = 5
    consumer_retry_base_seconds: float = 0.2
    #: A parked record (one that must wait) is retried this many times, backing off from 1 s to 10 min
    #: (about 3 hours in all), then dead-lettered.
    consumer_park_attempts: int = 30
    consumer_park_poll_seconds: float = 1.0
    #: How often each service measures its consumer groups' lag (regua_kafka_consumer_lag).
    consumer_lag_seconds: float = 15.0
    #: Larger records are dead-lettered without being parsed (the dead letter points at the original).
    kafka_max_record_bytes: int = 1024 * 1024
    # Time: "wall" in production; "simulated" lets tests and the demo move the clock (ruler admin API).
    clock_mode: Literal["wall", "simulated"] = "wall"
    timezone: str = "America/Sao_Paulo"  # the agency's calendar (days late); contacts use the debtor's zone
    admin_token: str = "change-me-admin-token"
    ruler_tick_seconds: float = 1.0
    ruler_claim_batch: int = 1000
    ruler_send_hour: int = 10
    ruler_late_grace_days: int = 1
    ruler_resegment_seconds: float = 30.0
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_use_tls: bool = False
    smtp_timeout_seconds: float = 10.0
    email_sender: str = "cobranca@regua.local"
    email_concurrency: int = 8  # each send holds a pooled connection
    public_base_url: str = "http://127.0.0.1:8002"
    link_secret: str = "change-me-link-secret"

    # --- Credit analysis: the gRPC service (services/credit) and its one client (libs/regua-credit-client) ---
    # The service listens for gRPC on REGUA_HTTP_HOST at this port, next to its HTTP health and metrics.
    credit_grpc_port: int = 50051
    credit_grpc_grace_seconds: float = 5.0  # in-flight calls may finish this long after SIGTERM
    credit_grpc_target: str = "127.0.0.1:50051"  # where clients (ruler, negotiation) reach the service
    credit_client_deadline_ms: int = 200
    credit_client_breaker_failures: int = 5  # consecutive failures that open the circuit
    credit_client_breaker_reset_seconds: float = 5.0  # an open circuit lets one trial call through after this
    credit_min_training_samples: int = 500  # labelled invoices `python -m regua_credit train` needs to fit a model
    credit_model_refresh_seconds: float = 30.0  # how often the service looks for a newly trained model
    # Tests only: honour the `x-regua-test-delay-ms` metadata (a forced delay). Off, the hook is not installed.
    credit_test_hooks: bool = False

    # --- Negotiation (services/negotiation): offers, agreements with PIX installments, self-service page ---
    negotiation_public_base_url: str = "http://127.0.0.1:8005"  # where debtors' self-service links point
    negotiation_break_check_seconds: float = 5.0  # how often agreements with late installments are looked for
    #: The agency's legal ceilings on interest on arrears, a month (consumer: every CPF debtor): a policy above
    #: them is refused when saved, and no debt is ever updated above them.
    negotiation_max_monthly_interest_consumer: Annotated[Decimal, Field(ge=0, le=Decimal("0.2"))] = Decimal("0.01")
    negotiation_max_monthly_interest_business: Annotated[Decimal, Field(ge=0, le=Decimal("0.2"))] = Decimal("0.01")

    # --- Channel dispatchers (SMS, WhatsApp, phone) and the contact history (libs/regua-dispatch) ---
    dispatch_concurrency: int = 64  # provider calls in flight per dispatcher
    provider_timeout_seconds: float = 10.0
    provider_retry_attempts: int = 4  # tries of one provider call; after the last the command is dead-lettered
    provider_retry_base_seconds: float = 0.5  # exponential backoff with jitter between tries
    sms_provider_url: str = "http://127.0.0.1:8090/sms"
    sms_provider_token: str = "change-me-sms-token"
    sms_sender_id: str = "REGUA"
    sms_rate_per_second: float = 100.0  # the provider's limit (token bucket); 0 turns it off
    sms_webhook_secret: str = "change-me-sms-webhook-secret"  # signs the gateway's webhooks (X-Signature)
    whatsapp_api_url: str = "http://127.0.0.1:8090/whatsapp"  # Cloud API base (https://graph.facebook.com)
    whatsapp_api_version: str = "v21.0"
    whatsapp_phone_number_id: str = "100000000000001"
    whatsapp_access_token: str = "change-me-whatsapp-token"
    whatsapp_app_secret: str = "change-me-whatsapp-app-secret"  # signs webhooks
    whatsapp_verify_token: str = "change-me-whatsapp-verify-token"  # webhook subscription handshake
    whatsapp_rate_per_second: float = 80.0  # Cloud API throughput per business phone number
    phone_max_attempts: int = 3  # calls of one task (no answer) before its step is given up
    phone_retry_minutes: int = 120  # a call with no answer returns to the queue this much later
    phone_assignment_minutes: int = 30  # a fetched call without an outcome returns to the queue after this

    # --- Integrity (issue 14): signed events, Kafka authentication, authenticated gRPC calls ---
    #: This service's Ed25519 private key (base64 of the raw 32 bytes, or PEM): signs every record it publishes.
    #: Required by every service that produces an internal topic (regua_contracts.topics.PRODUCERS).
    signing_key: str | None = None
    #: JSON {service: Ed25519 public key (base64 raw or PEM), or a list during a rotation}: the producers whose
    #: signed records are handled and callers whose credit tokens are accepted. Anyone else is dead-lettered.
    trusted_producers: str = "{}"
    #: Kafka authentication (production): SASL mechanism ("" = none; SCRAM-SHA-512 in the chart and compose),
    #: with this service's own user, and TLS to the brokers (optionally with a CA file).
    kafka_sasl_mechanism: Literal["", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = ""
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ssl: bool = False
    kafka_ssl_cafile: str | None = None
    #: Services whose tokens credit analysis accepts, and how long a caller's token lives.
    credit_allowed_callers: list[str] = Field(default_factory=lambda: ["ruler", "negotiation"])
    credit_token_seconds: int = Field(default=300, ge=10, le=3600)
    #: gRPC TLS (file paths). Server: its certificate and key; with a client CA, callers must present a
    #: certificate it signed (mTLS). Client: the CA that signed the server's certificate, and its own pair.
    credit_grpc_tls_cert: str | None = None
    credit_grpc_tls_key: str | None = None
    credit_grpc_tls_client_ca: str | None = None
    credit_client_tls_ca: str | None = None
    credit_client_tls_cert: str | None = None
    credit_client_tls_key: str | None = None
    # --- LGPD (regua_platform.pii, the privacy requests of ingestion) ---
    #: Key-encryption keys of PII at rest, ``id:base64(32 bytes)`` comma-separated, the active one first; keep
    #: an old one listed until ``python -m regua_platform.pii rotate`` has re-wrapped the data keys.
    pii_keks: str = "local-1:cmVndWEtbG9jYWwtcGlpLWtlay1jaGFuZ2UtbWUhISE="
    #: HMAC key of the blind indexes (lookups by CPF/CNPJ); changing it loses those lookups.
    pii_index_key: str = Field(default="change-me-pii-index-key", min_length=8)
    #: How long a person's data is kept after their last debt ended (CDC art. 27 / CTN art. 173: 5 years).
    privacy_retention_days: int = 5 * 365 + 2  # five years, leap days included
    # --- Survival: database and broker outages, rebuilding the broker's state (regua_platform.broker_watch) ---
    kafka_watch_seconds: float = 1.0  # how often a service checks the broker holds its topics (readiness)
    #: Published events kept this long, to rebuild a broker that lost them; 0: deleted once published (a
    #: durable broker), and no rebuild.
    outbox_retention_hours: float = 168.0
    outbox_prune_seconds: float = 300.0  # how often published events past their retention are deleted
    email_unconfirmed_after_seconds: float = 120.0  # a 'sending' e-mail nobody confirmed this long is resolved
    # --- Each text contact once, with a provider that does not dedupe (libs/regua-dispatch doubt.py) ---
    #: A send that may have gone through (crash before its confirmation, timeout) on a provider without a lookup
    #: by our reference (WhatsApp) waits this long for a status webhook naming it; then unconfirmed, not resent.
    provider_status_wait_seconds: float = 60.0
    # --- Operators (staff tokens, X-Staff-Token) and request limits (regua_platform.staff, .ratelimit) ---
    staff_token_secret: str = "change-me-staff-token-secret"  # signs staff tokens
    staff_token_hours: float = 12.0  # default lifetime of an issued staff token
    #: Guesses per client IP a minute at short codes and token checks (login, admin token); 429 past them.
    auth_attempts_per_minute: float = 30.0
    #: Signed webhooks older (or further in the future) than this are refused (replays of old messages).
    webhook_tolerance_seconds: int = 300

    @model_validator(mode="after")
    def _real_secrets_outside_local(self) -> "Settings":
        if self.environment != "local" and (weak := weak_secrets(self)):
            raise ValueError("refusing to start outside the local stack (REGUA_ENVIRONMENT=local) with placeholder "
                             f"or short secrets: {', '.join(weak)}; set each to a random value of at least "
                             f"{MIN_LENGTH} characters")
        return self
