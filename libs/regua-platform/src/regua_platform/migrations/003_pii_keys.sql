-- Envelope encryption of PII at rest (regua_platform.pii): one random data key per person (subject), kept
-- only wrapped by a key-encryption key named by kek_id. Rotation re-wraps these rows, never the data;
-- deleting a subject's row (crypto-shredding) leaves everything encrypted under it unreadable.
CREATE TABLE pii_keys (
    subject      text PRIMARY KEY,
    kek_id       text        NOT NULL,
    wrapped_key  bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    rewrapped_at timestamptz
);
CREATE INDEX pii_keys_kek ON pii_keys (kek_id);
