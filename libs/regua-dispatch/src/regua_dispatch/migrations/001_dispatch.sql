-- Tables every dispatcher has in its own schema (applied through ServiceSpec.libraries).

-- One row per contact step: the intent is recorded before sending, the outcome after.
CREATE TABLE dispatch_attempts (
    step_id     uuid PRIMARY KEY,
    tenant_id   text        NOT NULL,
    debtor_id   uuid        NOT NULL,
    channel     text        NOT NULL,
    step_key    text        NOT NULL,
    address_key text,                     -- phone key or e-mail address: maps replies back to the debtor
    status      text        NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'suppressed')),
    claimed_by  uuid        NOT NULL,
    tries       int         NOT NULL DEFAULT 1,
    provider_id text,                     -- the provider's message id (SMS id, wamid, Message-ID)
    detail      jsonb       NOT NULL DEFAULT '{}',
    reason      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    done_at     timestamptz
);
CREATE INDEX dispatch_attempts_debtor ON dispatch_attempts (tenant_id, debtor_id, created_at DESC);
CREATE INDEX dispatch_attempts_address ON dispatch_attempts (channel, address_key, created_at DESC);
CREATE INDEX dispatch_attempts_provider ON dispatch_attempts (provider_id) WHERE provider_id IS NOT NULL;

-- Facts the send-time gate needs: opt-outs per channel, contacts known to be invalid ("email"/"phone").
CREATE TABLE contact_opt_outs (
    tenant_id  text        NOT NULL,
    debtor_id  uuid        NOT NULL,
    channel    text        NOT NULL,
    source     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, debtor_id, channel)
);
CREATE TABLE invalid_contacts (
    tenant_id  text        NOT NULL,
    debtor_id  uuid        NOT NULL,
    contact    text        NOT NULL,
    reason     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, debtor_id, contact)
);

-- Webhooks are delivered at least once: each receipt and inbound message is applied once.
CREATE TABLE provider_receipts (
    provider_id text        NOT NULL,
    status      text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider_id, status)
);
CREATE TABLE inbound_messages (
    provider_id text PRIMARY KEY,
    channel     text        NOT NULL,
    tenant_id   text,
    debtor_id   uuid,
    intent      text,
    received_at timestamptz NOT NULL
);
-- The debtor's last message per channel (WhatsApp: free text only within 24 hours of it).
CREATE TABLE conversations (
    tenant_id       text        NOT NULL,
    debtor_id       uuid        NOT NULL,
    channel         text        NOT NULL,
    last_inbound_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, debtor_id, channel)
);

-- A tenant's own message templates; the shipped defaults live in the service's package.
CREATE TABLE message_templates (
    tenant_id         text        NOT NULL,
    channel           text        NOT NULL,
    name              text        NOT NULL,
    body              text        NOT NULL,
    provider_template text,
    language          text        NOT NULL,
    approved          boolean     NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel, name)
);
