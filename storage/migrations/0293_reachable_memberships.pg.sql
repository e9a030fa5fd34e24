-- Segment counts at city scale (issue 19): PostgreSQL's text of 0293_reachable_memberships.sql
-- (read that file for what the table holds and why). The same rows, kept by row triggers in the
-- same transaction as every write; bodies are quoted strings (see 0610_ledger_versions.pg.sql).
CREATE TABLE reachable_memberships (
    member_id BIGINT NOT NULL,
    group_id  BIGINT NOT NULL,
    category  TEXT,
    PRIMARY KEY (member_id, group_id)
);
CREATE INDEX reachable_memberships_group ON reachable_memberships (group_id, category, member_id);

-- A category of the whole city (no scope, no groups) is counted from members: the reachable
-- members by category, so that count reads a small index too.
CREATE INDEX members_reachable_category ON members (category) WHERE status = 'active' AND user_id IS NOT NULL
    AND unreachable_at IS NULL;

INSERT INTO reachable_memberships (member_id, group_id, category)
SELECT mg.member_id, mg.group_id, m.category
  FROM member_groups mg JOIN members m ON m.id = mg.member_id
 WHERE mg.status = 'active' AND m.status = 'active' AND m.user_id IS NOT NULL AND m.unreachable_at IS NULL;

-- Each lookup is by primary key alone, the conditions tested in the function: with the reachable
-- conditions in its WHERE, the planner may take a partial index of members (members_reachable_category)
-- for "the row with this id" -- a scan of the whole index per row, when members has no statistics
-- yet (a bulk load inside one transaction: 4 ms a membership at 100,000 members, measured).
CREATE FUNCTION reachable_membership_changed() RETURNS trigger LANGUAGE plpgsql AS '
DECLARE
    kind TEXT;
    reachable BOOLEAN;
BEGIN
    IF TG_OP IN (''UPDATE'', ''DELETE'') THEN
        DELETE FROM reachable_memberships WHERE member_id = OLD.member_id AND group_id = OLD.group_id;
    END IF;
    IF TG_OP IN (''INSERT'', ''UPDATE'') AND NEW.status = ''active'' THEN
        SELECT m.category, m.status = ''active'' AND m.user_id IS NOT NULL AND m.unreachable_at IS NULL
          INTO kind, reachable FROM members m WHERE m.id = NEW.member_id;
        IF reachable THEN
            INSERT INTO reachable_memberships (member_id, group_id, category) VALUES (NEW.member_id, NEW.group_id, kind)
            ON CONFLICT (member_id, group_id) DO UPDATE SET category = EXCLUDED.category;
        END IF;
    END IF;
    RETURN NULL;
END';

CREATE FUNCTION reachable_member_changed() RETURNS trigger LANGUAGE plpgsql AS '
BEGIN
    IF TG_OP IN (''UPDATE'', ''DELETE'') THEN
        DELETE FROM reachable_memberships WHERE member_id = OLD.id;
    END IF;
    IF TG_OP = ''UPDATE'' AND NEW.status = ''active'' AND NEW.user_id IS NOT NULL AND NEW.unreachable_at IS NULL THEN
        INSERT INTO reachable_memberships (member_id, group_id, category)
        SELECT mg.member_id, mg.group_id, NEW.category FROM member_groups mg
         WHERE mg.member_id = NEW.id AND mg.status = ''active''
        ON CONFLICT (member_id, group_id) DO UPDATE SET category = EXCLUDED.category;
    END IF;
    RETURN NULL;
END';

-- In a DO block: storage/migrations.split_statements (SQLite's reader) wants CREATE TRIGGER ... END.
DO '
BEGIN
    CREATE TRIGGER reachable_mg_insert AFTER INSERT ON member_groups FOR EACH ROW
        WHEN (NEW.status = ''active'') EXECUTE FUNCTION reachable_membership_changed();
    CREATE TRIGGER reachable_mg_update AFTER UPDATE OF member_id, group_id, status ON member_groups FOR EACH ROW
        WHEN (OLD.member_id IS DISTINCT FROM NEW.member_id OR OLD.group_id IS DISTINCT FROM NEW.group_id
              OR OLD.status IS DISTINCT FROM NEW.status)
        EXECUTE FUNCTION reachable_membership_changed();
    CREATE TRIGGER reachable_mg_delete AFTER DELETE ON member_groups FOR EACH ROW
        EXECUTE FUNCTION reachable_membership_changed();
    CREATE TRIGGER reachable_member_update AFTER UPDATE OF id, status, user_id, unreachable_at, category ON members
        FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.status IS DISTINCT FROM NEW.status
                           OR OLD.user_id IS DISTINCT FROM NEW.user_id
                           OR OLD.unreachable_at IS DISTINCT FROM NEW.unreachable_at
                           OR OLD.category IS DISTINCT FROM NEW.category)
        EXECUTE FUNCTION reachable_member_changed();
    CREATE TRIGGER reachable_member_delete AFTER DELETE ON members FOR EACH ROW
        EXECUTE FUNCTION reachable_member_changed();
END';
