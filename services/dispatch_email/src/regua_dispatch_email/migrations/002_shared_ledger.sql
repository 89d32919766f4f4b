-- The e-mail dispatcher now keeps its attempts and opt-outs in the dispatchers' shared tables
-- (regua_dispatch:001_dispatch.sql, applied before this file).
INSERT INTO dispatch_attempts (step_id, tenant_id, debtor_id, channel, step_key, status, claimed_by, tries,
                               provider_id, reason, created_at, done_at)
SELECT step_id, tenant_id, debtor_id, 'email', step_key, status, claimed_by, tries, message_id, reason, created_at,
       done_at
FROM attempts
ON CONFLICT (step_id) DO NOTHING;

INSERT INTO contact_opt_outs (tenant_id, debtor_id, channel, source, created_at)
SELECT tenant_id, debtor_id, 'email', source, created_at FROM opt_outs
ON CONFLICT DO NOTHING;

DROP TABLE attempts;
DROP TABLE opt_outs;
