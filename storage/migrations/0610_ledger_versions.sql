-- Ledger (台账): data versions for the /stats cache. Every write to a table a figure is counted from
-- bumps that table's version in the same transaction (triggers), so a cached figure is reused only
-- while none of its tables changed: exact, and writes by any process (a CLI import) are seen.
-- bot_users counts only for blocked_at (the unreachable figure), not for language or names.
-- Not copied by storage/copy.py (each database keeps its own versions).
CREATE TABLE ledger_versions (
    name    TEXT PRIMARY KEY,       -- a table's name
    version INTEGER NOT NULL        -- bumped by every write to it
);

-- Indexes that let the /stats parts be counted from an index alone (migration 0600 has the others).
CREATE INDEX members_figures ON members (category, status, user_id, unreachable_at, profile_confirmed_at, registered_at);
CREATE INDEX members_active_profile ON members (status, profile_confirmed_at, registered_at);
CREATE INDEX feedback_items_due ON feedback_items (status, due_at);  -- overdue now, and the next to fall due

CREATE TRIGGER ledger_v_members_i AFTER INSERT ON members
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('members', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_members_u AFTER UPDATE ON members
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('members', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_members_d AFTER DELETE ON members
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('members', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_member_groups_i AFTER INSERT ON member_groups
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('member_groups', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_member_groups_u AFTER UPDATE ON member_groups
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('member_groups', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_member_groups_d AFTER DELETE ON member_groups
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('member_groups', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_groups_i AFTER INSERT ON groups
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('groups', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_groups_u AFTER UPDATE ON groups
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('groups', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_groups_d AFTER DELETE ON groups
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('groups', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_bot_users_i AFTER INSERT ON bot_users
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('bot_users', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_bot_users_u AFTER UPDATE OF blocked_at ON bot_users
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('bot_users', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_bot_users_d AFTER DELETE ON bot_users
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('bot_users', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_activities_i AFTER INSERT ON activities
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('activities', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_activities_u AFTER UPDATE ON activities
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('activities', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_activities_d AFTER DELETE ON activities
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('activities', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_activity_signups_i AFTER INSERT ON activity_signups
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('activity_signups', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_activity_signups_u AFTER UPDATE ON activity_signups
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('activity_signups', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_activity_signups_d AFTER DELETE ON activity_signups
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('activity_signups', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_activity_groups_i AFTER INSERT ON activity_groups
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('activity_groups', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_activity_groups_u AFTER UPDATE ON activity_groups
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('activity_groups', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_activity_groups_d AFTER DELETE ON activity_groups
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('activity_groups', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_feedback_items_i AFTER INSERT ON feedback_items
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('feedback_items', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_feedback_items_u AFTER UPDATE ON feedback_items
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('feedback_items', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_feedback_items_d AFTER DELETE ON feedback_items
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('feedback_items', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_feedback_groups_i AFTER INSERT ON feedback_groups
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('feedback_groups', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_feedback_groups_u AFTER UPDATE ON feedback_groups
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('feedback_groups', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_feedback_groups_d AFTER DELETE ON feedback_groups
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('feedback_groups', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_notices_i AFTER INSERT ON notices
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('notices', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_notices_u AFTER UPDATE ON notices
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('notices', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_notices_d AFTER DELETE ON notices
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('notices', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_outbox_i AFTER INSERT ON outbox
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('outbox', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_outbox_u AFTER UPDATE ON outbox
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('outbox', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_outbox_d AFTER DELETE ON outbox
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('outbox', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_notice_acks_i AFTER INSERT ON notice_acks
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('notice_acks', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_notice_acks_u AFTER UPDATE ON notice_acks
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('notice_acks', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_v_notice_acks_d AFTER DELETE ON notice_acks
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES ('notice_acks', 1) ON CONFLICT (name) DO UPDATE SET version = version + 1;
END;
