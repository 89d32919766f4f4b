-- The person behind a debtor: one random id per CPF/CNPJ across every creditor, so contact caps and wrong
-- numbers can belong to the person without any other service holding the document.
CREATE TABLE persons (
    document  text PRIMARY KEY,
    person_id uuid NOT NULL UNIQUE
);
