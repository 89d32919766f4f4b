-- Published events are moved here (in the relay's transaction) and kept for a retention period, so the
-- broker's state can be rebuilt from PostgreSQL after it lost it (regua_platform.rebuild): a re-queue moves
-- them back into the outbox under their own ids, in their order. A loop prunes them by age. A move costs the
-- relay about what the old DELETE did; marking rows in place cost twice as much (bench/outbox.py).
CREATE TABLE outbox_published (
    id           bigint      NOT NULL,
    topic        text        NOT NULL,
    key          bytea,
    payload      bytea       NOT NULL,
    headers      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_published_at ON outbox_published USING brin (published_at);
