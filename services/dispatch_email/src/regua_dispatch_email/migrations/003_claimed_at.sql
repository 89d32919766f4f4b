-- When an attempt was last claimed for sending: an attempt still 'sending' long after it (its process died
-- between the end of DATA and its commit, or the database went away then) is resolved as sent-unconfirmed,
-- never sent again (unconfirmed.py).
ALTER TABLE dispatch_attempts ADD COLUMN claimed_at timestamptz NOT NULL DEFAULT now();
