"""Kafka topic names. The version in each name changes only with a breaking change of its events."""

from typing import Final

#: Commands produced by client companies (register invoice, record payment, cancel).
CLIENT_COMMANDS: Final = "regua.client-commands.v1"
#: Client companies and their API key hashes, published by ingestion. Keyed by tenant id.
TENANTS: Final = "regua.tenants.v1"
#: Facts about invoices, published by ingestion. Keyed by invoice id.
INVOICES: Final = "regua.invoices.v1"
#: Facts about collection cases, published by the ruler. Keyed by invoice id.
CASES: Final = "regua.cases.v1"
#: Facts about negotiated agreements, published by negotiation. Keyed by debtor id.
AGREEMENTS: Final = "regua.agreements.v1"
#: Contact commands of negotiation steps on their way to a channel: the ruler sends them here, negotiation
#: adds the offer menu and the self-service link and forwards them to the channel's topic. Keyed by debtor id.
OFFER_COMMANDS: Final = "regua.offer-commands.v1"
#: Facts about contacts (attempts, opt-outs), published by the dispatchers. Keyed by debtor id.
CONTACTS: Final = "regua.contacts.v1"

#: The simulated clock (tests and the demo only), published by the ruler whenever it is moved, so the services
#: that hold work until a moment (dispatchers holding a message until contact hours) follow the same time.
CLOCK: Final = "regua.clock.v1"

#: LGPD requests (access, correction, erasure) and each service's answer, agency-wide. Keyed by person id.
PRIVACY: Final = "regua.privacy.v1"

CHANNELS: Final = ("email", "sms", "whatsapp", "phone")


def contact_commands(channel: str) -> str:
    """The topic a channel's dispatcher consumes its contact commands from. Keyed by debtor id."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    return f"regua.contact-commands.{channel}.v1"


def dead_letter(topic: str) -> str:
    """Where records from ``topic`` that cannot be processed end up, with the reason in headers."""
    return f"{topic}.dlq"


def all_topics() -> list[str]:
    base = [CLIENT_COMMANDS, TENANTS, INVOICES, CASES, AGREEMENTS, CONTACTS, OFFER_COMMANDS, CLOCK, PRIVACY,
            *(contact_commands(c) for c in CHANNELS)]
    return base + [dead_letter(t) for t in base]
