-- Captcha tickets, in the database so any instance checks a ticket another issued. The ticket
-- is kept only as its SHA-256 (hex); the answer lowercased. Times are Unix milliseconds (UTC).
CREATE TABLE captcha_tickets (
    ticket_hash TEXT PRIMARY KEY NOT NULL,
    answer      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX captcha_tickets_expiry ON captcha_tickets (expires_at);
