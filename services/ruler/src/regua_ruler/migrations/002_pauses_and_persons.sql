-- Issue 10: a case holds every pause reason at once, and the debtor is a person across creditors.

-- Every reason holding a case (promise, agreement, dispute), each with its own optional end. A case is
-- 'paused' exactly while it has a row here; it goes back to resume_status when the last one ends.
CREATE TABLE case_pauses (
    invoice_id uuid        NOT NULL REFERENCES cases (invoice_id),
    reason     text        NOT NULL CHECK (reason IN ('promise', 'agreement', 'dispute')),
    until      timestamptz,
    since      timestamptz NOT NULL,
    PRIMARY KEY (invoice_id, reason)
);
CREATE INDEX case_pauses_until ON case_pauses (until) WHERE until IS NOT NULL;
INSERT INTO case_pauses (invoice_id, reason, until, since)
    SELECT invoice_id, pause_reason, paused_until, now() FROM cases WHERE status = 'paused' AND pause_reason IS NOT NULL;
-- A paused case without a reason could never resume: give it back its activity.
UPDATE cases SET status = 'active' WHERE status = 'paused' AND pause_reason IS NULL;

-- Where a case returns when its last pause ends: an agreement also pauses an exhausted case.
ALTER TABLE cases ADD COLUMN resume_status text NOT NULL DEFAULT 'active'
    CHECK (resume_status IN ('active', 'exhausted'));
ALTER TABLE cases DROP COLUMN pause_reason, DROP COLUMN paused_until;  -- drops cases_paused with them

-- The person behind the debtor (ingestion assigns one per CPF/CNPJ across creditors). Cases opened before
-- it existed stand for a person of their own, md5(tenant:debtor), the same fallback the service computes.
ALTER TABLE cases ADD COLUMN person_id uuid;
UPDATE cases SET person_id = md5(tenant_id || ':' || debtor_id::text)::uuid;
ALTER TABLE cases ALTER COLUMN person_id SET NOT NULL;
UPDATE cases SET recipient = recipient || jsonb_build_object('person_id', person_id);
CREATE INDEX cases_person ON cases (person_id);
-- Bulk loads that predate the column (bench/ruler.py COPYs cases) get the same fallback.
CREATE FUNCTION cases_default_person() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.person_id := md5(NEW.tenant_id || ':' || NEW.debtor_id::text)::uuid;
    RETURN NEW;
END $$;
CREATE TRIGGER cases_default_person BEFORE INSERT ON cases FOR EACH ROW WHEN (NEW.person_id IS NULL)
    EXECUTE FUNCTION cases_default_person();

-- Contacts count per person, whichever creditor made them (caps, the silence after a conversation).
ALTER TABLE debtor_contacts ADD COLUMN person_id uuid;
UPDATE debtor_contacts SET person_id = md5(tenant_id || ':' || debtor_id::text)::uuid;
ALTER TABLE debtor_contacts ALTER COLUMN person_id SET NOT NULL;
DROP INDEX debtor_contacts_recent;
CREATE INDEX debtor_contacts_person ON debtor_contacts (person_id, at DESC);

-- Wrong numbers and bounced addresses belong to the address, for every creditor: keyed by the SHA-256 of
-- the normalized address (E.164 phone, lower-case e-mail), never the address itself.
CREATE TABLE invalid_addresses (
    address_sha256 text        PRIMARY KEY,
    kind           text        NOT NULL CHECK (kind IN ('email', 'phone')),
    at             timestamptz NOT NULL DEFAULT now()
);
INSERT INTO invalid_addresses (address_sha256, kind)
    SELECT DISTINCT encode(sha256(convert_to(CASE f.kind WHEN 'email' THEN lower(btrim(c.recipient ->> 'email'))
                                                        ELSE c.recipient ->> 'phone' END, 'UTF8')), 'hex'), f.kind
    FROM (SELECT tenant_id, debtor_id, unnest(invalid) AS kind FROM debtor_facts) f
    JOIN cases c ON c.tenant_id = f.tenant_id AND c.debtor_id = f.debtor_id
    WHERE f.kind IN ('email', 'phone') AND c.recipient ->> f.kind IS NOT NULL
    ON CONFLICT DO NOTHING;
ALTER TABLE debtor_facts DROP COLUMN invalid;

-- Opt-outs stay per creditor (debtor_facts.opted_out) unless the debtor asked the agency as a whole.
CREATE TABLE person_opt_outs (
    person_id uuid NOT NULL,
    channel   text NOT NULL,
    PRIMARY KEY (person_id, channel)
);
