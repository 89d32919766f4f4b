-- One row per contact step: the intent is recorded before sending, the outcome after.
CREATE TABLE attempts (
    step_id    uuid PRIMARY KEY,
    tenant_id  text        NOT NULL,
    debtor_id  uuid        NOT NULL,
    step_key   text        NOT NULL,
    status     text        NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'suppressed')),
    claimed_by uuid        NOT NULL,
    tries      int         NOT NULL DEFAULT 1,
    message_id text        NOT NULL,
    reason     text,
    created_at timestamptz NOT NULL DEFAULT now(),
    done_at    timestamptz
);
CREATE INDEX attempts_debtor ON attempts (tenant_id, debtor_id, created_at DESC);

CREATE TABLE opt_outs (
    tenant_id  text        NOT NULL,
    debtor_id  uuid        NOT NULL,
    source     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, debtor_id)
);
