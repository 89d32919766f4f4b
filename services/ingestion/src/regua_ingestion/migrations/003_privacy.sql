-- LGPD. PII at rest is encrypted under the person's data key (regua_platform.pii, subject "person:<id>"):
-- the document is kept only as a keyed hash (lookups) and encrypted; an invoice's debtor (name, document,
-- e-mail, phone, address) moves out of `details` into debtor_enc. Rows written before this migration are
-- encrypted by the service at start-up (regua_ingestion.privacy_store.encrypt_legacy).
ALTER TABLE persons DROP CONSTRAINT persons_pkey;
ALTER TABLE persons ALTER COLUMN document DROP NOT NULL;
ALTER TABLE persons ADD PRIMARY KEY (person_id);
ALTER TABLE persons ADD COLUMN document_hash bytea UNIQUE, ADD COLUMN document_enc bytea;

ALTER TABLE invoices ADD COLUMN person_id uuid, ADD COLUMN debtor_enc bytea;
CREATE INDEX invoices_person ON invoices (person_id);

-- A replayed response names debtors: encrypted, and erased with any person it names.
ALTER TABLE idempotency_keys ALTER COLUMN body DROP NOT NULL;
ALTER TABLE idempotency_keys ADD COLUMN body_enc bytea, ADD COLUMN person_ids uuid[] NOT NULL DEFAULT '{}';
CREATE INDEX idempotency_keys_persons ON idempotency_keys USING gin (person_ids);

-- Data-subject requests (LGPD art. 18): access (export), correction, erasure; the person id is random, never
-- the document.
CREATE TABLE privacy_requests (
    id           uuid PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('export', 'correction', 'erasure')),
    person_id    uuid        NOT NULL,
    status       text        NOT NULL,
    reason       text,
    requested_by text        NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);
-- Each service's part of an export, encrypted under the person's data key (shredded with it).
CREATE TABLE privacy_export_parts (
    request_id  uuid        NOT NULL REFERENCES privacy_requests (id),
    service     text        NOT NULL,
    part_enc    bytea       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, service)
);
-- Who read or changed a debtor's data through the privacy endpoints, when, and what.
CREATE TABLE privacy_access_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text        NOT NULL,
    action     text        NOT NULL,
    person_id  uuid,
    request_id uuid,
    detail     jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX privacy_access_log_person ON privacy_access_log (person_id, at);
