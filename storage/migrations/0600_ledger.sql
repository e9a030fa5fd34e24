-- Ledger (台账): scheduled operational jobs (daily backup) and indexes the figures need.
CREATE TABLE ledger_jobs (
    name        TEXT PRIMARY KEY,          -- 'backup'
    due_at      TEXT NOT NULL,             -- next run (UTC)
    last_run_at TEXT,
    last_result TEXT
);

CREATE INDEX members_registered ON members (registered_at);
CREATE INDEX member_groups_member ON member_groups (member_id, status);
CREATE INDEX audit_log_actor ON audit_log (actor_user_id, id);
-- first answer of a reopened feedback item (audit rows of one target)
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, action);
