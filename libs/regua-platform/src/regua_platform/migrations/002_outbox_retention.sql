-- Published events stay in the outbox for a retention period (published_at set instead of a DELETE), so the
-- broker's state can be rebuilt from PostgreSQL after it lost it (regua_platform.rebuild); a loop prunes them
-- by age. The relay reads pending rows through the partial index.
ALTER TABLE outbox ADD COLUMN published_at timestamptz;
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
