-- Every account index led with realm, so `realm = $1` matched all of them, and on a young
-- table (no statistics, every index costed alike) PostgreSQL could plan a lookup by email
-- through the user-name or account-number index: it then read the whole realm per lookup.
-- Each key now leads its own index, so a lookup by email or user name can only use its own,
-- whatever the statistics say; account numbers are indexed where they exist (numbered realms).
DROP INDEX accounts_realm_email_key;
CREATE UNIQUE INDEX accounts_email_key_realm ON accounts (email_key, realm);
DROP INDEX accounts_realm_username_key;
CREATE UNIQUE INDEX accounts_username_key_realm ON accounts (username_key, realm);
DROP INDEX accounts_realm_seq;
CREATE UNIQUE INDEX accounts_seq_realm ON accounts (seq, realm) WHERE seq IS NOT NULL;
