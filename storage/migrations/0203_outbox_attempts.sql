-- Crash semantics of the delivery engine.
-- A row is claimed ('sending', attempted_at NULL) shortly before it is sent; attempted_at is set,
-- durably, right before its request goes to Telegram. After a crash, claimed rows that were never
-- attempted simply go back to 'pending'; rows that were attempted (in flight at the crash) are sent
-- again and counted in `resent` (the recipient may have got it twice: Telegram has no idempotency key).
ALTER TABLE outbox ADD COLUMN attempted_at TEXT;
ALTER TABLE outbox ADD COLUMN resent INTEGER NOT NULL DEFAULT 0;

-- A scheduled send has no progress message when it fires; the engine posts one when the send
-- is big enough to take a while, and the final report then says which scheduled notice it was.
ALTER TABLE outbox_progress ADD COLUMN scheduled INTEGER NOT NULL DEFAULT 0;
