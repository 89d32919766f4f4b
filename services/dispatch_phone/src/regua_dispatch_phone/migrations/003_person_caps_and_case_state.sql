-- Call caps count per person across creditors (Recipient.person_id, else tenant and debtor), and a queued
-- task is found by its invoices when their case stops or pauses (the task is withdrawn).
ALTER TABLE call_tasks ADD COLUMN person_key text;
ALTER TABLE call_tasks ADD COLUMN invoice_ids uuid[];
-- When the ruler emitted the command: a pause older than that was lifted since (regua_dispatch.cases).
ALTER TABLE call_tasks ADD COLUMN emitted_at timestamptz;
ALTER TABLE call_tasks ADD COLUMN fired_invoice_ids uuid[];  -- NULL: every invoice of the task was fired
UPDATE call_tasks SET person_key = tenant_id || ':' || debtor_id,
                      invoice_ids = ARRAY(SELECT (e ->> 'invoice_id')::uuid FROM jsonb_array_elements(invoices) e);
ALTER TABLE call_tasks ALTER COLUMN person_key SET NOT NULL;
ALTER TABLE call_tasks ALTER COLUMN invoice_ids SET NOT NULL;
CREATE INDEX call_tasks_invoices ON call_tasks USING gin (invoice_ids) WHERE status = 'queued';

ALTER TABLE calls ADD COLUMN person_key text;
UPDATE calls SET person_key = tenant_id || ':' || debtor_id;
ALTER TABLE calls ALTER COLUMN person_key SET NOT NULL;
CREATE INDEX calls_person ON calls (person_key, called_at DESC);
