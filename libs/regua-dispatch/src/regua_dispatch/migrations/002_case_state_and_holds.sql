-- Collection stops where it must: the state of the cases a dispatcher may act on, messages held until the
-- debtor's next allowed moment, and facts that belong to the person or the address rather than one creditor.

-- The state of each case, from regua.cases.v1 (keyed by invoice). ``changed_at`` is the event time of the
-- last change applied; stopped is final.
CREATE TABLE case_states (
    invoice_id uuid PRIMARY KEY,
    tenant_id  text        NOT NULL,
    debtor_id  uuid        NOT NULL,
    status     text        NOT NULL CHECK (status IN ('active', 'paused', 'stopped', 'exhausted')),
    reasons    text[]      NOT NULL DEFAULT '{}',  -- stopped: why; paused: every reason holding it
    changed_at timestamptz NOT NULL
);

-- A step the send-time gate held: the command as it came, released by a background loop at release_at (the
-- service's clock) through the same pipeline. The attempt's status is 'held' meanwhile. A release in progress
-- leases the row (wall clock) so a crashed release is taken over, never lost.
CREATE TABLE held_messages (
    step_id     uuid PRIMARY KEY REFERENCES dispatch_attempts (step_id),
    tenant_id   text        NOT NULL,
    debtor_id   uuid        NOT NULL,
    invoice_ids uuid[]      NOT NULL,
    command     jsonb       NOT NULL,
    rule        text        NOT NULL,
    release_at  timestamptz NOT NULL,
    held_at     timestamptz NOT NULL,
    leased_until timestamptz
);
CREATE INDEX held_messages_due ON held_messages (release_at);
CREATE INDEX held_messages_invoices ON held_messages USING gin (invoice_ids);

ALTER TABLE dispatch_attempts DROP CONSTRAINT dispatch_attempts_status_check;
ALTER TABLE dispatch_attempts ADD CONSTRAINT dispatch_attempts_status_check
    CHECK (status IN ('sending', 'held', 'sent', 'failed', 'suppressed'));
-- The outcome's moment on the service's clock (done_at is the database's): channel intervals count from it.
ALTER TABLE dispatch_attempts ADD COLUMN finished_at timestamptz;
CREATE INDEX dispatch_attempts_sent ON dispatch_attempts (tenant_id, debtor_id, channel, finished_at DESC)
    WHERE status = 'sent';

-- Who a debtor is: the person behind it (the same for every creditor) and keyed hashes of its addresses,
-- learnt from the commands (never the address in clear).
CREATE TABLE debtor_identities (
    tenant_id  text        NOT NULL,
    debtor_id  uuid        NOT NULL,
    person_id  uuid,
    phone_hash text,
    email_hash text,
    PRIMARY KEY (tenant_id, debtor_id)
);
CREATE INDEX debtor_identities_person ON debtor_identities (person_id) WHERE person_id IS NOT NULL;

-- An address known to be invalid, whichever creditor it was learnt for.
CREATE TABLE invalid_addresses (
    contact      text        NOT NULL,  -- email / phone
    address_hash text        NOT NULL,
    reason       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (contact, address_hash)
);

-- An opt-out applies to the creditor's messages, or to every creditor's (scope 'agency').
ALTER TABLE contact_opt_outs ADD COLUMN scope text NOT NULL DEFAULT 'creditor'
    CHECK (scope IN ('creditor', 'agency'));
