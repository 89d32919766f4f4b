-- Records a consumer moved aside because they must wait (regua_platform.parking): kept whole, so nothing is
-- lost when their offset is committed, and retried alone with a growing backoff.
CREATE TABLE parked_records (
    id            bigserial PRIMARY KEY,
    consumer      text        NOT NULL,
    topic         text        NOT NULL,
    partition     int         NOT NULL,
    record_offset bigint      NOT NULL,
    record_key    bytea,
    record_value  bytea       NOT NULL,
    headers       jsonb       NOT NULL DEFAULT '[]',
    timestamp_ms  bigint      NOT NULL,
    reason        text        NOT NULL,
    attempts      int         NOT NULL DEFAULT 0,
    next_at       timestamptz NOT NULL,
    parked_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consumer, topic, partition, record_offset)
);
CREATE INDEX parked_records_due ON parked_records (next_at);
