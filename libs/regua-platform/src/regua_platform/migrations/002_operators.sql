-- API keys carry a scope: 'integration' (a client company's systems: invoices, payments, reads) or
-- 'administration' (also its configuration: rulers, negotiation policies, templates). Existing keys integrate.
ALTER TABLE known_tenants ADD COLUMN scope text NOT NULL DEFAULT 'integration'
    CHECK (scope IN ('integration', 'administration'));

-- Every operator action (a staff member or an administration key), written in the transaction of the action.
CREATE TABLE audit_log (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text        NOT NULL,  -- staff id, or 'api-key:<tenant>' for an administration key
    role      text        NOT NULL,  -- agent | supervisor | admin | administration
    action    text        NOT NULL,
    tenant_id text,
    subject   text,                  -- what was acted on (invoice, call, offer, ruler)
    person_id uuid,                  -- the debtor concerned, if any
    detail    jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at);
