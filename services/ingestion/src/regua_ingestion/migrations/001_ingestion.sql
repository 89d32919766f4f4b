CREATE TABLE invoices (
    id           uuid PRIMARY KEY,
    tenant_id    text        NOT NULL REFERENCES known_tenants (id),
    external_id  text        NOT NULL,
    debtor_id    uuid        NOT NULL,
    amount_cents bigint      NOT NULL CHECK (amount_cents > 0),
    paid_cents   bigint      NOT NULL DEFAULT 0,
    due_date     date        NOT NULL,
    status       text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'cancelled')),
    details      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, external_id)
);
CREATE INDEX invoices_debtor ON invoices (tenant_id, debtor_id);

CREATE TABLE payments (
    id           uuid PRIMARY KEY,
    invoice_id   uuid        NOT NULL REFERENCES invoices (id),
    amount_cents bigint      NOT NULL CHECK (amount_cents > 0),
    paid_at      timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_invoice ON payments (invoice_id);

-- Replays of HTTP requests carrying the same Idempotency-Key get the first response back.
CREATE TABLE idempotency_keys (
    tenant_id   text        NOT NULL,
    key         text        NOT NULL,
    fingerprint bytea       NOT NULL,
    status_code int         NOT NULL,
    body        jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);
