-- Invoices whose collection waits for a promise to pay (from regua.cases.v1): no offer message names them
-- until the promise ends (kept or expired).
CREATE TABLE promised_invoices (
    invoice_id uuid PRIMARY KEY,
    since      timestamptz NOT NULL
);
