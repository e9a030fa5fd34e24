-- Segment counts at city scale (issue 19): the active memberships of the members a notice can
-- reach, with the member's category, kept by triggers in the same transaction as every write to
-- member_groups and members (so no write path, import, copy or erasure can leave it behind).
-- A segment count ("this district", "this category in this district") is then an index-only
-- count over the chosen groups' rows (storage/segments.count_members), instead of a semi-join of
-- the groups' memberships with the million member rows.
--
-- One row per (member, group) where the membership is active and the member is active, has a
-- Telegram account and is not marked unreachable: exactly the rows `storage.segments.members`
-- selects through member_groups. Whether the GROUP is live (archived_at) and where it lies in the
-- tree (path) are read from `groups` when counting, so archiving or moving a group changes nothing
-- here. Derived data: storage/copy.py does not copy it (the target's triggers rebuild it).
CREATE TABLE reachable_memberships (
    member_id INTEGER NOT NULL,
    group_id  INTEGER NOT NULL,
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

-- A membership written: its row follows it (an upsert: exact even over a stale row).
CREATE TRIGGER reachable_mg_insert AFTER INSERT ON member_groups WHEN NEW.status = 'active' BEGIN
    INSERT INTO reachable_memberships (member_id, group_id, category)
    SELECT m.id, NEW.group_id, m.category FROM members m
     WHERE m.id = NEW.member_id AND m.status = 'active' AND m.user_id IS NOT NULL AND m.unreachable_at IS NULL
    ON CONFLICT (member_id, group_id) DO UPDATE SET category = excluded.category;
END;

CREATE TRIGGER reachable_mg_update AFTER UPDATE OF member_id, group_id, status ON member_groups
WHEN OLD.member_id IS NOT NEW.member_id OR OLD.group_id IS NOT NEW.group_id OR OLD.status IS NOT NEW.status BEGIN
    DELETE FROM reachable_memberships WHERE member_id = OLD.member_id AND group_id = OLD.group_id;
    INSERT INTO reachable_memberships (member_id, group_id, category)
    SELECT m.id, NEW.group_id, m.category FROM members m
     WHERE NEW.status = 'active' AND m.id = NEW.member_id AND m.status = 'active' AND m.user_id IS NOT NULL
       AND m.unreachable_at IS NULL
    ON CONFLICT (member_id, group_id) DO UPDATE SET category = excluded.category;
END;

CREATE TRIGGER reachable_mg_delete AFTER DELETE ON member_groups BEGIN
    DELETE FROM reachable_memberships WHERE member_id = OLD.member_id AND group_id = OLD.group_id;
END;

-- A member's reachability or category changed: all the member's rows again. (No trigger on
-- INSERT INTO members: a new member has no memberships yet, member_groups.member_id being a
-- foreign key.)
CREATE TRIGGER reachable_member_update AFTER UPDATE OF id, status, user_id, unreachable_at, category ON members
WHEN OLD.id IS NOT NEW.id OR OLD.status IS NOT NEW.status OR OLD.user_id IS NOT NEW.user_id
  OR OLD.unreachable_at IS NOT NEW.unreachable_at OR OLD.category IS NOT NEW.category BEGIN
    DELETE FROM reachable_memberships WHERE member_id = OLD.id;
    INSERT INTO reachable_memberships (member_id, group_id, category)
    SELECT mg.member_id, mg.group_id, NEW.category FROM member_groups mg
     WHERE mg.member_id = NEW.id AND mg.status = 'active' AND NEW.status = 'active' AND NEW.user_id IS NOT NULL
       AND NEW.unreachable_at IS NULL
    ON CONFLICT (member_id, group_id) DO UPDATE SET category = excluded.category;
END;

CREATE TRIGGER reachable_member_delete AFTER DELETE ON members BEGIN
    DELETE FROM reachable_memberships WHERE member_id = OLD.id;
END;
