-- Rulers are data: one row per (tenant, name, version); a case keeps the version it started with.
CREATE TABLE rulers (
    tenant_id  text        NOT NULL,
    name       text        NOT NULL,
    version    int         NOT NULL,
    definition jsonb       NOT NULL,
    source     text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name, version)
);

CREATE TABLE cases (
    invoice_id       uuid PRIMARY KEY,
    tenant_id        text        NOT NULL,
    debtor_id        uuid        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('active', 'paused', 'stopped', 'exhausted')),
    pause_reason     text,
    paused_until     timestamptz,
    stop_reason      text,
    ruler_name       text        NOT NULL,
    ruler_version    int         NOT NULL,
    segment          text        NOT NULL,
    variant          text        NOT NULL CHECK (variant IN ('champion', 'challenger')),
    behaviour        text        NOT NULL DEFAULT 'unknown',
    score_band       text        NOT NULL DEFAULT 'unknown',
    profile_fallback boolean     NOT NULL DEFAULT false,
    amount_cents     bigint      NOT NULL,
    paid_cents       bigint      NOT NULL DEFAULT 0,
    due_date         date        NOT NULL,
    recipient        jsonb       NOT NULL,
    creditor         jsonb       NOT NULL,
    invoice          jsonb       NOT NULL,
    tags             text[]      NOT NULL DEFAULT '{}',
    opened_at        timestamptz NOT NULL,
    closed_at        timestamptz
);
CREATE INDEX cases_debtor ON cases (tenant_id, debtor_id);
CREATE INDEX cases_paused ON cases (paused_until) WHERE status = 'paused';
CREATE INDEX cases_ruler ON cases (tenant_id, ruler_name, variant);

-- One row per message slot of a step; the channel is chosen from the fallback order when it fires.
CREATE TABLE case_steps (
    invoice_id  uuid        NOT NULL REFERENCES cases (invoice_id),
    step_key    text        NOT NULL,
    slot        smallint    NOT NULL,
    tenant_id   text        NOT NULL,
    debtor_id   uuid        NOT NULL,
    channels    text[]      NOT NULL,
    template    text        NOT NULL,
    tone        text        NOT NULL,
    offset_days int         NOT NULL,
    fire_at     timestamptz NOT NULL,
    status      text        NOT NULL CHECK (status IN ('pending', 'fired', 'cancelled', 'skipped')),
    reason      text,
    channel     text,
    message_id  uuid,
    fired_at    timestamptz,
    PRIMARY KEY (invoice_id, step_key, slot)
);
-- The ticker's only access path: due pending steps by time. Its cost follows the due steps, not the portfolio.
CREATE INDEX case_steps_due ON case_steps (fire_at) WHERE status = 'pending';

-- What the compliance gate needs about a debtor, learnt from contact events.
CREATE TABLE debtor_facts (
    tenant_id text   NOT NULL,
    debtor_id uuid   NOT NULL,
    state     text,
    opted_out text[] NOT NULL DEFAULT '{}',
    invalid   text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, debtor_id)
);

CREATE TABLE debtor_contacts (
    tenant_id    text        NOT NULL,
    debtor_id    uuid        NOT NULL,
    channel      text        NOT NULL,
    at           timestamptz NOT NULL,
    conversation boolean     NOT NULL DEFAULT false
);
CREATE INDEX debtor_contacts_recent ON debtor_contacts (tenant_id, debtor_id, at DESC);

-- Every contact the gate held back, with the rule that did it (rescheduled or skipped).
CREATE TABLE gate_blocks (
    invoice_id uuid        NOT NULL,
    step_key   text        NOT NULL,
    slot       smallint    NOT NULL,
    rule       text        NOT NULL,
    at         timestamptz NOT NULL,
    retry_at   timestamptz
);
CREATE INDEX gate_blocks_invoice ON gate_blocks (invoice_id);

-- The simulated clock (tests, demo) survives restarts; unused with the wall clock.
CREATE TABLE simulated_clock (
    id  boolean PRIMARY KEY DEFAULT true CHECK (id),
    now timestamptz NOT NULL
);

-- Claiming takes all due steps of a debtor at once (consolidation).
CREATE INDEX case_steps_debtor_pending ON case_steps (tenant_id, debtor_id) WHERE status = 'pending';

-- Steps change status all day long: vacuum and analyze after 1% of changes, not the default 20%, so the
-- due index does not fill with dead entries between vacuums on a large portfolio.
ALTER TABLE case_steps SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01);
