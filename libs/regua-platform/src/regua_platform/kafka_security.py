"""Kafka authentication from the one settings model: every client of a service (its FastStream broker, the
outbox producer, the topic admin) connects with the same SASL user and TLS settings. Off by default (the
embedded broker has no SASL); the chart and compose turn SCRAM-SHA-512 on, one user per service, whose
ACLs allow exactly the topics regua_contracts.topics.PRODUCERS gives it."""

import ssl
from typing import Any

from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from regua_platform.settings import Settings

_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def kafka_security(settings: Settings) -> BaseSecurity | None:
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile) if settings.kafka_ssl else None
    if settings.kafka_sasl_mechanism:
        if not settings.kafka_sasl_username or not settings.kafka_sasl_password:
            raise ValueError("REGUA_KAFKA_SASL_USERNAME and REGUA_KAFKA_SASL_PASSWORD are required with "
                             "REGUA_KAFKA_SASL_MECHANISM")
        sasl = _SASL[settings.kafka_sasl_mechanism]
        return sasl(settings.kafka_sasl_username, settings.kafka_sasl_password, ssl_context=context,
                    use_ssl=settings.kafka_ssl)
    return BaseSecurity(ssl_context=context) if context is not None else None


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for a raw aiokafka client (producer, consumer, admin)."""
    return parse_security(kafka_security(settings))
