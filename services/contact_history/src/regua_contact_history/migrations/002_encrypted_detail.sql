-- LGPD: an entry's detail (a debtor's reply text, call notes) is encrypted under the debtor's data key
-- (regua_platform.pii, subject "debtor:<tenant>:<debtor>"); rows written before keep `detail` until the
-- service encrypts them at start-up.
ALTER TABLE contacts ADD COLUMN detail_enc bytea;
