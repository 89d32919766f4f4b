-- The agents' work queue: one task per phone step (the step id is the idempotency key).
CREATE TABLE call_tasks (
    step_id     uuid PRIMARY KEY,
    tenant_id   text        NOT NULL,
    debtor_id   uuid        NOT NULL,
    step_key    text        NOT NULL,
    template    text        NOT NULL,
    tone        text        NOT NULL,
    recipient   jsonb       NOT NULL,
    creditor    jsonb       NOT NULL,
    invoices    jsonb       NOT NULL,
    total_cents bigint      NOT NULL,
    oldest_due  date        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('queued', 'assigned', 'done', 'cancelled')),
    not_before  timestamptz NOT NULL,
    calls       int         NOT NULL DEFAULT 0,
    agent_id    text,
    assigned_at timestamptz,
    outcome     text,
    reason      text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_tasks_queue ON call_tasks (tenant_id, status, not_before);

-- Every call an agent made: the call caps and the quiet period after a conversation count these.
CREATE TABLE calls (
    id           bigserial PRIMARY KEY,
    tenant_id    text        NOT NULL,
    debtor_id    uuid        NOT NULL,
    step_id      uuid        NOT NULL,
    agent_id     text        NOT NULL,
    outcome      text        NOT NULL,
    conversation boolean     NOT NULL,
    called_at    timestamptz NOT NULL
);
CREATE INDEX calls_debtor ON calls (tenant_id, debtor_id, called_at DESC);
