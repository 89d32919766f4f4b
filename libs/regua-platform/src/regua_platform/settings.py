"""The one settings model. Every value comes from an environment variable prefixed ``REGUA_``."""

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGUA_", extra="ignore")

    service_name: str = "regua"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/regua"
    db_pool_min: int = 1
    db_pool_max: int = 10
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Group join takes max(1 s, session_timeout/2) on small brokers; keep both configurable.
    kafka_session_timeout_ms: int = 10_000
    kafka_heartbeat_interval_ms: int = 3_000
    kafka_max_batch: int = 500
    kafka_partitions: int = 4
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    otel_exporter_otlp_endpoint: str | None = None
    outbox_poll_seconds: float = 0.05
    outbox_batch: int = 1000
    consumer_retry_attempts: int = 5
    consumer_retry_base_seconds: float = 0.2
    # Time: "wall" in production; "simulated" lets tests and the demo move the clock (ruler admin API).
    clock_mode: Literal["wall", "simulated"] = "wall"
    admin_token: str = Field(default="change-me-admin-token", min_length=8)
    timezone: str = "America/Sao_Paulo"
    ruler_tick_seconds: float = 1.0
    ruler_claim_batch: int = 1000
    ruler_send_hour: int = 10
    ruler_late_grace_days: int = 1
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_use_tls: bool = False
    smtp_timeout_seconds: float = 10.0
    email_sender: str = "cobranca@regua.local"
    email_concurrency: int = 8  # each send holds a pooled connection
    public_base_url: str = "http://127.0.0.1:8002"
    link_secret: str = Field(default="change-me-link-secret", min_length=8)
