-- A negotiation call carries the debtor's offers and self-service link (negotiation fills them in), so the
-- agent can state them and send the link while talking.
ALTER TABLE call_tasks ADD COLUMN offers jsonb NOT NULL DEFAULT '[]';
ALTER TABLE call_tasks ADD COLUMN self_service_url text;
