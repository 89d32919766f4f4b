-- The debtor's state (UF) when the client sent it: a due date on one of that state's holidays is payable on
-- the next business day (regua_finance). Only the UF is kept (LGPD art. 6 III); NULL: national holidays only.
ALTER TABLE invoices ADD COLUMN debtor_state text;
