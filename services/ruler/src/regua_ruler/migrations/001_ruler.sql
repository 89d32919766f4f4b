-- Rulers are data: one row per (tenant, name, version); a case keeps the version it started with.
CREATE TABLE rulers (
    tenant_id  text        NOT NULL,
    name       text        NOT NULL,
    version    int         NOT NULL,
    definition jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name, version)
);

CREATE TABLE cases (
    invoice_id    uuid PRIMARY KEY,
    tenant_id     text        NOT NULL,
    debtor_id     uuid        NOT NULL,
    status        text        NOT NULL CHECK (status IN ('active', 'paused', 'stopped', 'exhausted')),
    stop_reason   text,
    ruler_name    text        NOT NULL,
    ruler_version int         NOT NULL,
    recipient     jsonb       NOT NULL,
    creditor      jsonb       NOT NULL,
    invoice       jsonb       NOT NULL,
    opened_at     timestamptz NOT NULL,
    closed_at     timestamptz
);
CREATE INDEX cases_debtor ON cases (tenant_id, debtor_id);

CREATE TABLE case_steps (
    invoice_id uuid        NOT NULL REFERENCES cases (invoice_id),
    step_key   text        NOT NULL,
    channel    text        NOT NULL,
    step_id    uuid        NOT NULL UNIQUE,
    template   text        NOT NULL,
    tone       text        NOT NULL,
    fire_at    timestamptz NOT NULL,
    status     text        NOT NULL CHECK (status IN ('pending', 'fired', 'cancelled', 'skipped')),
    reason     text,
    fired_at   timestamptz,
    PRIMARY KEY (invoice_id, step_key, channel)
);
-- The ticker's only access path: due pending steps by time. Its cost depends on due steps, not portfolio size.
CREATE INDEX case_steps_due ON case_steps (fire_at) WHERE status = 'pending';

-- The simulated clock (tests, demo) survives restarts; unused with the wall clock.
CREATE TABLE simulated_clock (
    id  boolean PRIMARY KEY DEFAULT true CHECK (id),
    now timestamptz NOT NULL
);
