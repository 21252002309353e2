-- Accounts, one-time tokens and the outbox. Times are Unix milliseconds (UTC).
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY NOT NULL,
    realm         TEXT NOT NULL,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL,
    username      TEXT,
    username_key  TEXT,
    password_hash TEXT,
    profile       TEXT NOT NULL DEFAULT '{}',
    status        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX accounts_realm_email_key ON accounts (realm, email_key);
CREATE UNIQUE INDEX accounts_realm_username_key ON accounts (realm, username_key);

CREATE TABLE one_time_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX one_time_tokens_account ON one_time_tokens (account_id, purpose);

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    account_id      TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until    BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_account ON outbox (account_id);
