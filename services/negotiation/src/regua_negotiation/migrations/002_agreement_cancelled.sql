-- An agreement whose invoice the creditor cancelled no longer stands: status 'cancelled'.
ALTER TABLE agreements DROP CONSTRAINT agreements_status_check;
ALTER TABLE agreements ADD CONSTRAINT agreements_status_check
    CHECK (status IN ('active', 'settled', 'broken', 'cancelled'));
