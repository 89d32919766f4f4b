-- Negotiation policies are data: one row per (tenant, version); agreements keep the terms they started with.
CREATE TABLE policies (
    tenant_id  text        NOT NULL,
    version    int         NOT NULL,
    definition jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, version)
);

-- Read model of regua.invoices.v1: what each debtor owes each tenant.
CREATE TABLE invoices (
    invoice_id        uuid PRIMARY KEY,
    tenant_id         text        NOT NULL,
    debtor_id         uuid        NOT NULL,
    external_id       text        NOT NULL,
    amount_cents      bigint      NOT NULL,
    outstanding_cents bigint      NOT NULL,
    due_date          date        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('open', 'paid', 'cancelled')),
    paid_late         boolean,
    debtor            jsonb       NOT NULL,
    creditor          jsonb       NOT NULL
);
CREATE INDEX invoices_debtor ON invoices (tenant_id, debtor_id);

CREATE TABLE offers (
    offer_id           uuid PRIMARY KEY,
    tenant_id          text        NOT NULL,
    debtor_id          uuid        NOT NULL,
    invoice_ids        uuid[]      NOT NULL,
    installments       int         NOT NULL,
    total_cents        bigint      NOT NULL,
    amounts            bigint[]    NOT NULL,
    due_dates          date[]      NOT NULL,
    discount_cents     bigint      NOT NULL,
    undiscounted_cents bigint      NOT NULL,
    policy_version     int         NOT NULL,
    expires_on         date        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('open', 'accepted', 'superseded')),
    created_at         timestamptz NOT NULL
);
CREATE INDEX offers_debtor ON offers (tenant_id, debtor_id) WHERE status = 'open';

CREATE TABLE agreements (
    agreement_id       uuid PRIMARY KEY,
    tenant_id          text        NOT NULL,
    debtor_id          uuid        NOT NULL,
    offer_id           uuid        NOT NULL UNIQUE REFERENCES offers (offer_id),
    invoice_ids        uuid[]      NOT NULL,
    total_cents        bigint      NOT NULL,
    undiscounted_cents bigint      NOT NULL,
    tolerance_days     int         NOT NULL,
    revoke_on_break    boolean     NOT NULL,  -- the policy's terms when the agreement was made
    accepted_via       text        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('active', 'settled', 'broken')),
    reason             text,
    balance_cents      bigint,     -- after a break: what is owed again, discounts revoked
    created_at         timestamptz NOT NULL,
    closed_at          timestamptz
);
CREATE INDEX agreements_debtor ON agreements (tenant_id, debtor_id);
CREATE INDEX agreements_active ON agreements (status) WHERE status = 'active';

CREATE TABLE installments (
    agreement_id uuid   NOT NULL REFERENCES agreements (agreement_id),
    number       int    NOT NULL,
    amount_cents bigint NOT NULL,
    due_date     date   NOT NULL,
    paid_cents   bigint NOT NULL DEFAULT 0,
    txid         text   NOT NULL UNIQUE,  -- also the payment reference
    pix_payload  text   NOT NULL,
    PRIMARY KEY (agreement_id, number)
);

-- The simulated clock (tests, demo) survives restarts; unused with the wall clock.
CREATE TABLE simulated_clock (
    id  boolean PRIMARY KEY DEFAULT true CHECK (id),
    now timestamptz NOT NULL
);
