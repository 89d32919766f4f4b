-- LGPD: the debtor's name and contacts are encrypted under the debtor's data key (regua_platform.pii,
-- subject "debtor:<tenant>:<debtor>"); the state stays in clear in its own column (holidays, days late).
-- Rows written before are encrypted by the service at start-up (regua_negotiation.privacy).
ALTER TABLE invoices ADD COLUMN state text, ADD COLUMN debtor_enc bytea;
UPDATE invoices SET state = debtor ->> 'state';
