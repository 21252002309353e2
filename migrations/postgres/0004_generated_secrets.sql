-- Secrets the operator did not configure (token keys, HMAC keys, salts): generated once by
-- whichever instance needs one first, then read by every instance.
CREATE TABLE generated_secrets (
    name       TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
