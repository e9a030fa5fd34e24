-- Ledger (台账) at city scale (issue 19): PostgreSQL's text of 0612_notice_tallies.sql (read that
-- file for what the table holds and why). Bodies are quoted strings and the triggers are made in a
-- DO block (see 0610_ledger_versions.pg.sql).
--
-- What fires, and how often (the delivery and acknowledgement hot paths):
-- * INSERT INTO outbox: one STATEMENT trigger with the inserted rows as a transition table, so
--   the set-based enqueue of a city-wide notice (one INSERT ... SELECT of 1,000,000 rows) adds
--   one grouped pass over those rows, not a million function calls;
-- * UPDATE of outbox: ROW triggers whose WHEN (evaluated without calling the function) passes
--   only a change of what the row counts: whether it is 'sent' (once per delivered message: one
--   UPDATE with an acknowledgement probe by primary key), or its notice, member or kind (rare:
--   erasure). The WHEN is kept this small on purpose: PostgreSQL prepares it for every statement,
--   and the delivery worker's claims (one-row UPDATEs of status) pay for that: +5 us per claimed
--   row, against +12 us with the whole condition in one WHEN (measured);
-- * DELETE FROM outbox: one statement trigger (transition table);
-- * notice_acks: a row trigger per acknowledgement stored (a press that stores nothing fires
--   nothing): an index probe of outbox_notice_members and, when the row is 'sent', one UPDATE.
CREATE TABLE notice_tallies (
    notice_id   BIGINT PRIMARY KEY,
    recipients  BIGINT NOT NULL DEFAULT 0,
    delivered   BIGINT NOT NULL DEFAULT 0,
    acked       BIGINT NOT NULL DEFAULT 0
);

INSERT INTO notice_tallies (notice_id, recipients, delivered, acked)
SELECT o.ref_id, COUNT(*), COUNT(CASE WHEN o.status = 'sent' THEN 1 END),
       COUNT(CASE WHEN o.status = 'sent' THEN a.member_id END)
  FROM outbox o LEFT JOIN notice_acks a ON a.notice_id = o.ref_id AND a.member_id = o.member_id
 WHERE o.kind = 'notice' AND o.ref_id IS NOT NULL AND o.member_id IS NOT NULL
 GROUP BY o.ref_id;

-- (The acknowledgement is looked up only for 'sent' rows: nested CASEs, so an enqueue of
-- pending rows never probes notice_acks.)
CREATE FUNCTION notice_tallies_outbox_added() RETURNS trigger LANGUAGE plpgsql AS '
BEGIN
    INSERT INTO notice_tallies (notice_id, recipients, delivered, acked)
    SELECT o.ref_id, COUNT(*), COUNT(CASE WHEN o.status = ''sent'' THEN 1 END),
           COUNT(CASE WHEN o.status = ''sent'' THEN CASE WHEN EXISTS (SELECT 1 FROM notice_acks a
                 WHERE a.notice_id = o.ref_id AND a.member_id = o.member_id) THEN 1 END END)
      FROM added o
     WHERE o.kind = ''notice'' AND o.ref_id IS NOT NULL AND o.member_id IS NOT NULL
     GROUP BY o.ref_id
    ON CONFLICT (notice_id) DO UPDATE SET recipients = notice_tallies.recipients + EXCLUDED.recipients,
        delivered = notice_tallies.delivered + EXCLUDED.delivered, acked = notice_tallies.acked + EXCLUDED.acked;
    RETURN NULL;
END';

CREATE FUNCTION notice_tallies_outbox_removed() RETURNS trigger LANGUAGE plpgsql AS '
BEGIN
    UPDATE notice_tallies t SET recipients = t.recipients - d.recipients, delivered = t.delivered - d.delivered,
           acked = t.acked - d.acked
      FROM (SELECT o.ref_id, COUNT(*) AS recipients, COUNT(CASE WHEN o.status = ''sent'' THEN 1 END) AS delivered,
                   COUNT(CASE WHEN o.status = ''sent'' THEN CASE WHEN EXISTS (SELECT 1 FROM notice_acks a
                         WHERE a.notice_id = o.ref_id AND a.member_id = o.member_id) THEN 1 END END) AS acked
              FROM removed o
             WHERE o.kind = ''notice'' AND o.ref_id IS NOT NULL AND o.member_id IS NOT NULL
             GROUP BY o.ref_id) d
     WHERE t.notice_id = d.ref_id;
    RETURN NULL;
END';

-- A row became 'sent' or stopped being 'sent' (its notice and member unchanged): one statement.
CREATE FUNCTION notice_tallies_outbox_sent() RETURNS trigger LANGUAGE plpgsql AS '
DECLARE
    delta BIGINT;
BEGIN
    IF NEW.kind <> ''notice'' OR NEW.ref_id IS NULL OR NEW.member_id IS NULL
       OR OLD.kind IS DISTINCT FROM NEW.kind OR OLD.ref_id IS DISTINCT FROM NEW.ref_id
       OR OLD.member_id IS DISTINCT FROM NEW.member_id THEN
        RETURN NULL;  -- not a recipient row, or it moved as well: notice_tallies_outbox_moved counts it
    END IF;
    delta := CASE WHEN NEW.status = ''sent'' THEN 1 ELSE -1 END;
    UPDATE notice_tallies SET delivered = delivered + delta,
           acked = acked + CASE WHEN EXISTS (SELECT 1 FROM notice_acks a WHERE a.notice_id = NEW.ref_id
                                              AND a.member_id = NEW.member_id) THEN delta ELSE 0 END
     WHERE notice_id = NEW.ref_id;
    RETURN NULL;
END';

-- A row moved to another notice, member or kind: what it counted is taken away, what it counts added.
CREATE FUNCTION notice_tallies_outbox_moved() RETURNS trigger LANGUAGE plpgsql AS '
DECLARE
    old_sent BIGINT := CASE WHEN OLD.status = ''sent'' THEN 1 ELSE 0 END;
    new_sent BIGINT := CASE WHEN NEW.status = ''sent'' THEN 1 ELSE 0 END;
    old_ack BIGINT := 0;
    new_ack BIGINT := 0;
BEGIN
    IF OLD.kind = ''notice'' AND OLD.ref_id IS NOT NULL AND OLD.member_id IS NOT NULL THEN
        IF old_sent = 1 AND EXISTS (SELECT 1 FROM notice_acks a
                WHERE a.notice_id = OLD.ref_id AND a.member_id = OLD.member_id) THEN
            old_ack := 1;
        END IF;
        UPDATE notice_tallies SET recipients = recipients - 1, delivered = delivered - old_sent,
               acked = acked - old_ack
         WHERE notice_id = OLD.ref_id;
    END IF;
    IF NEW.kind = ''notice'' AND NEW.ref_id IS NOT NULL AND NEW.member_id IS NOT NULL THEN
        IF new_sent = 1 AND EXISTS (SELECT 1 FROM notice_acks a
                WHERE a.notice_id = NEW.ref_id AND a.member_id = NEW.member_id) THEN
            new_ack := 1;
        END IF;
        INSERT INTO notice_tallies (notice_id, recipients, delivered, acked) VALUES (NEW.ref_id, 1, new_sent, new_ack)
        ON CONFLICT (notice_id) DO UPDATE SET recipients = notice_tallies.recipients + 1,
            delivered = notice_tallies.delivered + EXCLUDED.delivered, acked = notice_tallies.acked + EXCLUDED.acked;
    END IF;
    RETURN NULL;
END';

-- The row is found by (kind, ref_id, member_id) alone, its status tested after: with `status =
-- 'sent'` in the WHERE, statistics taken at the enqueue (every row pending) made the planner read
-- the notice's 'sent' rows through outbox_ref for each press (1.4-1.6 ms a press at 10,000 sent,
-- growing with the broadcast; bench/tallies.py) instead of the one row through outbox_notice_members.
CREATE FUNCTION notice_tallies_ack_changed() RETURNS trigger LANGUAGE plpgsql AS '
BEGIN
    IF TG_OP IN (''UPDATE'', ''DELETE'') THEN
        UPDATE notice_tallies t SET acked = t.acked - s.n
          FROM (SELECT COUNT(CASE WHEN o.status = ''sent'' THEN 1 END) AS n FROM outbox o
                 WHERE o.kind = ''notice'' AND o.ref_id = OLD.notice_id AND o.member_id = OLD.member_id) s
         WHERE t.notice_id = OLD.notice_id AND s.n > 0;
    END IF;
    IF TG_OP IN (''INSERT'', ''UPDATE'') THEN  -- a press: one statement
        UPDATE notice_tallies t SET acked = t.acked + s.n
          FROM (SELECT COUNT(CASE WHEN o.status = ''sent'' THEN 1 END) AS n FROM outbox o
                 WHERE o.kind = ''notice'' AND o.ref_id = NEW.notice_id AND o.member_id = NEW.member_id) s
         WHERE t.notice_id = NEW.notice_id AND s.n > 0;
    END IF;
    RETURN NULL;
END';

-- TRUNCATE fires no row or transition-table trigger: start the affected figures again.
CREATE FUNCTION notice_tallies_truncated() RETURNS trigger LANGUAGE plpgsql AS '
BEGIN
    IF TG_TABLE_NAME = ''outbox'' THEN
        DELETE FROM notice_tallies;
    ELSE
        UPDATE notice_tallies SET acked = 0 WHERE acked <> 0;
    END IF;
    RETURN NULL;
END';

DO '
BEGIN
    CREATE TRIGGER notice_tallies_outbox_i AFTER INSERT ON outbox REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION notice_tallies_outbox_added();
    CREATE TRIGGER notice_tallies_outbox_u AFTER UPDATE OF status ON outbox FOR EACH ROW
        WHEN ((OLD.status = ''sent'') <> (NEW.status = ''sent''))
        EXECUTE FUNCTION notice_tallies_outbox_sent();
    CREATE TRIGGER notice_tallies_outbox_m AFTER UPDATE OF kind, ref_id, member_id ON outbox FOR EACH ROW
        WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.ref_id IS DISTINCT FROM NEW.ref_id
              OR OLD.member_id IS DISTINCT FROM NEW.member_id)
        EXECUTE FUNCTION notice_tallies_outbox_moved();
    CREATE TRIGGER notice_tallies_outbox_d AFTER DELETE ON outbox REFERENCING OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION notice_tallies_outbox_removed();
    CREATE TRIGGER notice_tallies_outbox_t AFTER TRUNCATE ON outbox
        FOR EACH STATEMENT EXECUTE FUNCTION notice_tallies_truncated();
    CREATE TRIGGER notice_tallies_ack_i AFTER INSERT ON notice_acks FOR EACH ROW
        EXECUTE FUNCTION notice_tallies_ack_changed();
    CREATE TRIGGER notice_tallies_ack_u AFTER UPDATE OF notice_id, member_id ON notice_acks FOR EACH ROW
        WHEN (OLD.notice_id IS DISTINCT FROM NEW.notice_id OR OLD.member_id IS DISTINCT FROM NEW.member_id)
        EXECUTE FUNCTION notice_tallies_ack_changed();
    CREATE TRIGGER notice_tallies_ack_d AFTER DELETE ON notice_acks FOR EACH ROW
        EXECUTE FUNCTION notice_tallies_ack_changed();
    CREATE TRIGGER notice_tallies_ack_t AFTER TRUNCATE ON notice_acks
        FOR EACH STATEMENT EXECUTE FUNCTION notice_tallies_truncated();
END';
