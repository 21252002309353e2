-- When a row gave up, so its mail body can be wiped once mail.dead_retention_days pass.
ALTER TABLE outbox ADD COLUMN dead_at BIGINT;
