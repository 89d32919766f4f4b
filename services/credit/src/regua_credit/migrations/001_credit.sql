-- The credit read model: every invoice of regua.invoices.v1 with what scoring needs, and nothing else
-- (no names, documents or contacts: LGPD art. 6 III).
CREATE TABLE invoices (
    invoice_id        uuid PRIMARY KEY,
    tenant_id         text        NOT NULL,
    debtor_id         uuid        NOT NULL,
    amount_cents      bigint      NOT NULL,
    outstanding_cents bigint      NOT NULL,
    due_date          date        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('open', 'paid', 'cancelled')),
    registered_at     timestamptz NOT NULL,
    settled_at        timestamptz  -- paid_at of the payment that settled it
);
-- The only read path: one tenant's debtors. Scoped by tenant first, so a tenant never reads another's.
CREATE INDEX invoices_debtor ON invoices (tenant_id, debtor_id);

-- Fitted score models (`python -m regua_credit train`); the newest is the one in use.
CREATE TABLE score_models (
    version    text PRIMARY KEY,
    trained_at timestamptz NOT NULL,
    model      jsonb       NOT NULL
);
CREATE INDEX score_models_newest ON score_models (trained_at DESC);

-- A tenant's negotiation policy; without a row, the defaults of offers.py (version 0).
CREATE TABLE negotiation_policies (
    tenant_id  text PRIMARY KEY,
    version    int         NOT NULL,
    policy     jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
