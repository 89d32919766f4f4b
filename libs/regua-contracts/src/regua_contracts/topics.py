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


#: Which services may produce each internal topic (derived from each service's outbox writes). Consumers drop
#: (dead-letter) a record signed by anyone else; the Kafka ACLs of compose and the chart are generated from it.
#: Client commands are not here: client companies produce them, authenticated by their API key.
_SERVICES: Final = frozenset({"ingestion", "ruler", "credit", "negotiation", "contact-history", "dispatch-email",
                               "dispatch-sms", "dispatch-whatsapp", "dispatch-phone"})
PRODUCERS: Final[dict[str, frozenset[str]]] = {
    TENANTS: frozenset({"ingestion"}),
    INVOICES: frozenset({"ingestion"}),
    CASES: frozenset({"ruler"}),
    CLOCK: frozenset({"ruler"}),
    OFFER_COMMANDS: frozenset({"ruler"}),
    AGREEMENTS: frozenset({"negotiation"}),
    CONTACTS: frozenset({"negotiation", "dispatch-email", "dispatch-sms", "dispatch-whatsapp", "dispatch-phone"}),
    **{contact_commands(c): frozenset({"ruler", "negotiation"}) for c in CHANNELS},
    # Every service answers a data-subject request with its own part; only ingestion asks (regua_platform.privacy).
    PRIVACY: _SERVICES,
}
#: Topics anyone holding a client company's API key may produce (checked by the consuming service).
CLIENT_FACING: Final = frozenset({CLIENT_COMMANDS})


def producers_of(topic: str) -> frozenset[str] | None:
    """The services allowed to produce ``topic``; None for a topic outside the map (client-facing, dead letters)."""
    return PRODUCERS.get(topic)


_DISPATCHERS: Final = frozenset(f"dispatch-{c}" for c in CHANNELS)
#: Which services consume each topic (their subscribe calls): with PRODUCERS, the source of the Kafka ACLs.
CONSUMERS: Final[dict[str, frozenset[str]]] = {
    CLIENT_COMMANDS: frozenset({"ingestion"}),
    TENANTS: frozenset({"ruler", "negotiation", "contact-history", "dispatch-sms", "dispatch-whatsapp",
                        "dispatch-phone"}),
    INVOICES: frozenset({"ruler", "credit", "contact-history", "negotiation"}),
    CASES: frozenset({"negotiation"}) | _DISPATCHERS,
    AGREEMENTS: frozenset({"ruler"}),
    OFFER_COMMANDS: frozenset({"negotiation"}),
    CONTACTS: frozenset({"ruler", "contact-history", "negotiation"}) | _DISPATCHERS,
    CLOCK: _DISPATCHERS,
    PRIVACY: _SERVICES,
    **{contact_commands(c): frozenset({f"dispatch-{c}", "contact-history"}) for c in CHANNELS},
}
