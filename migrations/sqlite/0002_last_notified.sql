-- When an account was last mailed by an enumeration-safe sign-up (resend interval).
ALTER TABLE accounts ADD COLUMN last_notified_at BIGINT;
