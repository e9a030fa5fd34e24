-- Ledger (台账) at city scale (issue 19): each notice's figures for /stats over everything (the
-- head association's coordinators and the owners), kept in the same transaction as every write to
-- the outbox and to notice_acks, so /stats for the city reads one row per notice instead of
-- scanning the notice's outbox rows (a city-wide notice: 1,000,000 of them, 1-2.5 s on PostgreSQL).
--
-- For each notice, over its outbox rows with a member (kind 'notice', member_id not NULL):
--   recipients  the rows;
--   delivered   the rows with status 'sent';
--   acked       the 'sent' rows whose member acknowledged the notice (a row of notice_acks).
-- Exactly what storage/ledger.py counted from the outbox before (`notice_counts`, still used for
-- scopes narrower than everything, where a member is in scope by their memberships of now).
-- Each trigger takes away what the old row counted and adds what the new row counts, given the
-- other table as it stands: a sum over (outbox row, acknowledgement) pairs, exact in any order
-- of writes (an erasure moves both sides of a pair to the anonymous member one after the other).
-- Derived data: storage/copy.py does not copy it (the target's triggers rebuild it).
CREATE TABLE notice_tallies (
    notice_id   INTEGER PRIMARY KEY,    -- no foreign key: a deleted notice's row is harmless
    recipients  INTEGER NOT NULL DEFAULT 0,
    delivered   INTEGER NOT NULL DEFAULT 0,
    acked       INTEGER NOT NULL DEFAULT 0
);

INSERT INTO notice_tallies (notice_id, recipients, delivered, acked)
SELECT o.ref_id, COUNT(*), COUNT(CASE WHEN o.status = 'sent' THEN 1 END),
       COUNT(CASE WHEN o.status = 'sent' THEN a.member_id END)
  FROM outbox o LEFT JOIN notice_acks a ON a.notice_id = o.ref_id AND a.member_id = o.member_id
 WHERE o.kind = 'notice' AND o.ref_id IS NOT NULL AND o.member_id IS NOT NULL
 GROUP BY o.ref_id;

CREATE TRIGGER notice_tallies_outbox_i AFTER INSERT ON outbox
WHEN NEW.kind = 'notice' AND NEW.ref_id IS NOT NULL AND NEW.member_id IS NOT NULL BEGIN
    INSERT INTO notice_tallies (notice_id, recipients, delivered, acked)
    SELECT NEW.ref_id, 1, NEW.status = 'sent',
           NEW.status = 'sent' AND EXISTS (SELECT 1 FROM notice_acks a WHERE a.notice_id = NEW.ref_id
                                                                       AND a.member_id = NEW.member_id)
    ON CONFLICT (notice_id) DO UPDATE SET recipients = recipients + excluded.recipients,
        delivered = delivered + excluded.delivered, acked = acked + excluded.acked;
END;

-- Sends mark rows 'sending' and 'attempted' many times over: only a change of what a row counts
-- (its notice, its member, whether it is 'sent') fires, i.e. once per delivered message.
CREATE TRIGGER notice_tallies_outbox_u AFTER UPDATE OF kind, ref_id, member_id, status ON outbox
WHEN (OLD.kind = 'notice' AND OLD.ref_id IS NOT NULL AND OLD.member_id IS NOT NULL
      OR NEW.kind = 'notice' AND NEW.ref_id IS NOT NULL AND NEW.member_id IS NOT NULL)
 AND (OLD.kind IS NOT NEW.kind OR OLD.ref_id IS NOT NEW.ref_id OR OLD.member_id IS NOT NEW.member_id
      OR (OLD.status = 'sent') <> (NEW.status = 'sent')) BEGIN
    UPDATE notice_tallies SET recipients = recipients - 1, delivered = delivered - (OLD.status = 'sent'),
        acked = acked - (OLD.status = 'sent' AND EXISTS (SELECT 1 FROM notice_acks a
                          WHERE a.notice_id = OLD.ref_id AND a.member_id = OLD.member_id))
     WHERE notice_id = OLD.ref_id AND OLD.kind = 'notice' AND OLD.member_id IS NOT NULL;
    INSERT INTO notice_tallies (notice_id, recipients, delivered, acked)
    SELECT NEW.ref_id, 1, NEW.status = 'sent',
           NEW.status = 'sent' AND EXISTS (SELECT 1 FROM notice_acks a WHERE a.notice_id = NEW.ref_id
                                                                       AND a.member_id = NEW.member_id)
     WHERE NEW.kind = 'notice' AND NEW.ref_id IS NOT NULL AND NEW.member_id IS NOT NULL
    ON CONFLICT (notice_id) DO UPDATE SET recipients = recipients + excluded.recipients,
        delivered = delivered + excluded.delivered, acked = acked + excluded.acked;
END;

CREATE TRIGGER notice_tallies_outbox_d AFTER DELETE ON outbox
WHEN OLD.kind = 'notice' AND OLD.ref_id IS NOT NULL AND OLD.member_id IS NOT NULL BEGIN
    UPDATE notice_tallies SET recipients = recipients - 1, delivered = delivered - (OLD.status = 'sent'),
        acked = acked - (OLD.status = 'sent' AND EXISTS (SELECT 1 FROM notice_acks a
                          WHERE a.notice_id = OLD.ref_id AND a.member_id = OLD.member_id))
     WHERE notice_id = OLD.ref_id;
END;

-- An acknowledgement counts once for each 'sent' row of its notice and member (one, in practice);
-- the lookup is an index probe (outbox_notice_members: kind, ref_id, member_id, status), the status
-- tested after it so that no statistics can steer it to the notice's 'sent' rows (outbox_ref).
CREATE TRIGGER notice_tallies_ack_i AFTER INSERT ON notice_acks BEGIN
    UPDATE notice_tallies SET acked = acked + (SELECT COUNT(CASE WHEN o.status = 'sent' THEN 1 END) FROM outbox o
                                                  WHERE o.kind = 'notice' AND o.ref_id = NEW.notice_id
                                                    AND o.member_id = NEW.member_id)
     WHERE notice_id = NEW.notice_id;
END;

CREATE TRIGGER notice_tallies_ack_u AFTER UPDATE OF notice_id, member_id ON notice_acks
WHEN OLD.notice_id IS NOT NEW.notice_id OR OLD.member_id IS NOT NEW.member_id BEGIN
    UPDATE notice_tallies SET acked = acked - (SELECT COUNT(CASE WHEN o.status = 'sent' THEN 1 END) FROM outbox o
                                                  WHERE o.kind = 'notice' AND o.ref_id = OLD.notice_id
                                                    AND o.member_id = OLD.member_id)
     WHERE notice_id = OLD.notice_id;
    UPDATE notice_tallies SET acked = acked + (SELECT COUNT(CASE WHEN o.status = 'sent' THEN 1 END) FROM outbox o
                                                  WHERE o.kind = 'notice' AND o.ref_id = NEW.notice_id
                                                    AND o.member_id = NEW.member_id)
     WHERE notice_id = NEW.notice_id;
END;

CREATE TRIGGER notice_tallies_ack_d AFTER DELETE ON notice_acks BEGIN
    UPDATE notice_tallies SET acked = acked - (SELECT COUNT(CASE WHEN o.status = 'sent' THEN 1 END) FROM outbox o
                                                  WHERE o.kind = 'notice' AND o.ref_id = OLD.notice_id
                                                    AND o.member_id = OLD.member_id)
     WHERE notice_id = OLD.notice_id;
END;
