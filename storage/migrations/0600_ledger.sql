-- Ledger (台账): scheduled operational jobs (daily backup) and indexes the figures need.
CREATE TABLE ledger_jobs (
    name        TEXT PRIMARY KEY,          -- 'backup'
    due_at      TEXT NOT NULL,             -- next run (UTC)
    last_run_at TEXT,
    last_result TEXT
);

-- Covering indexes: the figures are counted from the index alone, without touching rows.
CREATE INDEX members_category_status ON members (category, status);
CREATE INDEX members_registered ON members (registered_at, status);
CREATE INDEX member_groups_member ON member_groups (member_id, status, group_id);
CREATE INDEX audit_log_actor ON audit_log (actor_user_id, id);
-- first answer of a reopened feedback item (audit rows of one target)
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, action);
CREATE INDEX activity_signups_counts ON activity_signups (activity_id, status, checked_in_at);
CREATE INDEX feedback_items_created ON feedback_items (created_at, kind, status);
CREATE INDEX outbox_notice_members ON outbox (kind, ref_id, member_id, status);
