-- The debtors a tenant has (from invoices and contacts): another tenant's debtor is unknown here.
CREATE TABLE debtors (
    tenant_id text NOT NULL,
    debtor_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, debtor_id)
);

-- Each contact command, for the template, tone and step its attempts and outcomes refer to.
CREATE TABLE requests (
    step_id      uuid PRIMARY KEY,
    tenant_id    text        NOT NULL,
    debtor_id    uuid        NOT NULL,
    channel      text        NOT NULL,
    step_key     text        NOT NULL,
    template     text        NOT NULL,
    tone         text        NOT NULL,
    invoice_ids  uuid[]      NOT NULL,
    requested_at timestamptz NOT NULL
);

-- One row per contact fact, newest first per debtor.
CREATE TABLE contacts (
    id        bigserial PRIMARY KEY,
    event_id  uuid        NOT NULL UNIQUE,
    tenant_id text        NOT NULL,
    debtor_id uuid        NOT NULL,
    at        timestamptz NOT NULL,
    kind      text        NOT NULL,
    channel   text,
    step_id   uuid,
    step_key  text,
    outcome   text,
    detail    jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX contacts_debtor ON contacts (tenant_id, debtor_id, at DESC, id DESC);
