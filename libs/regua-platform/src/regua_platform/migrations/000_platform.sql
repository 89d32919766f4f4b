-- Tables every service has in its own schema: the transactional outbox and the processed-events inbox.
CREATE TABLE outbox (
    id         bigserial PRIMARY KEY,
    topic      text        NOT NULL,
    key        bytea,
    payload    bytea       NOT NULL,
    headers    jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- The client companies a service knows: written by ingestion (their source), replicated to every other
-- service that authenticates tenants from regua.tenants.v1. Only a hash of each API key is kept.
CREATE TABLE known_tenants (
    id           text PRIMARY KEY,
    name         text        NOT NULL,
    cnpj         text        NOT NULL,
    address      text        NOT NULL,
    api_key_hash bytea       NOT NULL UNIQUE,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
