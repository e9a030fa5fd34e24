-- Ledger (台账) at city scale (issue 19): PostgreSQL's text of 0613_group_tallies.sql (read that file
-- for what the table holds and why). Inserts (a COPY of a city's memberships) and deletes are
-- counted by statement triggers over their transition tables; an update by a row trigger whose
-- WHEN passes only a change of group or status.
CREATE TABLE group_tallies (
    group_id    BIGINT PRIMARY KEY,
    active      BIGINT NOT NULL DEFAULT 0,
    pending     BIGINT NOT NULL DEFAULT 0
);

INSERT INTO group_tallies (group_id, active, pending)
SELECT group_id, COUNT(CASE WHEN status = 'active' THEN 1 END), COUNT(CASE WHEN status = 'pending' THEN 1 END)
  FROM member_groups WHERE status IN ('active', 'pending') GROUP BY group_id;

CREATE FUNCTION group_tallies_added() RETURNS trigger LANGUAGE plpgsql AS '
BEGIN
    INSERT INTO group_tallies (group_id, active, pending)
    SELECT group_id, COUNT(CASE WHEN status = ''active'' THEN 1 END), COUNT(CASE WHEN status = ''pending'' THEN 1 END)
      FROM added WHERE status IN (''active'', ''pending'') GROUP BY group_id
    ON CONFLICT (group_id) DO UPDATE SET active = group_tallies.active + EXCLUDED.active,
        pending = group_tallies.pending + EXCLUDED.pending;
    RETURN NULL;
END';

CREATE FUNCTION group_tallies_removed() RETURNS trigger LANGUAGE plpgsql AS '
BEGIN
    UPDATE group_tallies t SET active = t.active - d.active, pending = t.pending - d.pending
      FROM (SELECT group_id, COUNT(CASE WHEN status = ''active'' THEN 1 END) AS active,
                   COUNT(CASE WHEN status = ''pending'' THEN 1 END) AS pending
              FROM removed WHERE status IN (''active'', ''pending'') GROUP BY group_id) d
     WHERE t.group_id = d.group_id;
    RETURN NULL;
END';

CREATE FUNCTION group_tallies_changed() RETURNS trigger LANGUAGE plpgsql AS '
BEGIN
    IF OLD.status IN (''active'', ''pending'') THEN
        UPDATE group_tallies SET active = active - CASE WHEN OLD.status = ''active'' THEN 1 ELSE 0 END,
               pending = pending - CASE WHEN OLD.status = ''pending'' THEN 1 ELSE 0 END
         WHERE group_id = OLD.group_id;
    END IF;
    IF NEW.status IN (''active'', ''pending'') THEN
        INSERT INTO group_tallies (group_id, active, pending)
        VALUES (NEW.group_id, CASE WHEN NEW.status = ''active'' THEN 1 ELSE 0 END,
                CASE WHEN NEW.status = ''pending'' THEN 1 ELSE 0 END)
        ON CONFLICT (group_id) DO UPDATE SET active = group_tallies.active + EXCLUDED.active,
            pending = group_tallies.pending + EXCLUDED.pending;
    END IF;
    RETURN NULL;
END';

CREATE FUNCTION group_tallies_truncated() RETURNS trigger LANGUAGE plpgsql AS '
BEGIN
    DELETE FROM group_tallies;
    RETURN NULL;
END';

DO '
BEGIN
    CREATE TRIGGER group_tallies_i AFTER INSERT ON member_groups REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION group_tallies_added();
    CREATE TRIGGER group_tallies_u AFTER UPDATE OF group_id, status ON member_groups FOR EACH ROW
        WHEN ((OLD.group_id IS DISTINCT FROM NEW.group_id OR OLD.status IS DISTINCT FROM NEW.status)
              AND (OLD.status IN (''active'', ''pending'') OR NEW.status IN (''active'', ''pending'')))
        EXECUTE FUNCTION group_tallies_changed();
    CREATE TRIGGER group_tallies_d AFTER DELETE ON member_groups REFERENCING OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION group_tallies_removed();
    CREATE TRIGGER group_tallies_t AFTER TRUNCATE ON member_groups
        FOR EACH STATEMENT EXECUTE FUNCTION group_tallies_truncated();
END';

CREATE INDEX members_pending ON members (id) WHERE status = 'pending';
