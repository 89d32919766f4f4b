-- Short links for messages (an SMS part is 153 characters; a signed link alone is about 190). The code is
-- random and unguessable; it stands for the signed link, which the page still verifies.
CREATE TABLE short_links (
    code       text PRIMARY KEY,
    token      text        NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX short_links_expiry ON short_links (expires_at);
