-- Consumer rules follow the debtor's document: a CPF debtor (consumer = true) is always a consumer.
-- NULL for invoices registered before this column: the policy's flag decides for them.
ALTER TABLE invoices ADD COLUMN consumer boolean;

-- The updated debt each offer's discount was taken from (principal, fine, interest, as of the day it was
-- made), so a message states the discount against it. Offers made before this migration have NULLs and are
-- made afresh when next asked for.
ALTER TABLE offers ADD COLUMN principal_cents bigint;
ALTER TABLE offers ADD COLUMN fine_cents bigint;
ALTER TABLE offers ADD COLUMN interest_cents bigint;
ALTER TABLE offers ADD COLUMN as_of date;

-- Invoices under dispute, from regua.cases.v1: no offer, offer command or acceptance covers them until the
-- dispute is lifted (rejected, or the case stopped). An upheld dispute (case stopped "dispute-upheld") keeps
-- the invoice out of negotiation for good.
CREATE TABLE disputes (
    invoice_id uuid PRIMARY KEY,
    tenant_id  text        NOT NULL,
    debtor_id  uuid        NOT NULL,
    upheld     boolean     NOT NULL DEFAULT false,
    since      timestamptz NOT NULL
);
CREATE INDEX disputes_debtor ON disputes (tenant_id, debtor_id);

-- Payments that reached a closed (broken or cancelled) agreement's invoices: the money is applied to the
-- invoice (its outstanding amount) and lowers the broken agreement's balance; recorded here for the record.
ALTER TABLE agreements ADD COLUMN paid_after_close_cents bigint NOT NULL DEFAULT 0;
