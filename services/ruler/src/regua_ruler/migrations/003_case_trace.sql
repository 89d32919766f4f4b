-- The trace context (W3C traceparent, tracestate) of the invoice registration that opened the case: the steps
-- the ticker fires later continue that trace, so one invoice's journey is one trace.
ALTER TABLE cases ADD COLUMN trace_context jsonb NOT NULL DEFAULT '{}';
