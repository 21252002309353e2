-- Per-realm account numbers for flavours whose ids are numbers (Cloudreve's user id): counted
-- from 1 per realm, never reused, allocated in the sign-up transaction by one upsert on
-- realm_sequences (an aborted sign-up gives its number back with the rollback).
ALTER TABLE accounts ADD COLUMN seq BIGINT;
CREATE UNIQUE INDEX accounts_realm_seq ON accounts (realm, seq);
CREATE TABLE realm_sequences (
    realm    TEXT PRIMARY KEY NOT NULL,
    last_seq BIGINT NOT NULL
);
