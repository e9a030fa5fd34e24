-- Ledger (台账): data versions for the /stats cache. Every write to a table a figure is counted from
-- bumps that table's version in the same transaction (triggers), so a cached figure is reused only
-- while none of its tables changed: exact, and writes by any process (a CLI import) are seen.
-- bot_users counts only for blocked_at (the unreachable figure), not for language or names.
-- Not copied by storage/copy.py (each database keeps its own versions).
CREATE TABLE ledger_versions (
    name    TEXT PRIMARY KEY,       -- a table's name
    version BIGINT NOT NULL         -- bumped by every write to it
);

-- Indexes that let the /stats parts be counted from an index alone (migration 0600 has the others).
CREATE INDEX members_figures ON members (category, status, user_id, unreachable_at, profile_confirmed_at, registered_at);
CREATE INDEX members_active_profile ON members (status, profile_confirmed_at, registered_at);
CREATE INDEX feedback_items_due ON feedback_items (status, due_at);  -- overdue now, and the next to fall due

-- One bump per statement (PostgreSQL writes are serialised by the advisory write lock: storage/pg.py).
-- Bodies are quoted strings, not $$...$$, and the triggers are made in a DO block, so that
-- storage/migrations.split_statements (SQLite's statement reader) keeps each statement whole.
CREATE FUNCTION ledger_bump() RETURNS trigger LANGUAGE plpgsql AS '
BEGIN
    INSERT INTO ledger_versions (name, version) VALUES (TG_TABLE_NAME, 1)
    ON CONFLICT (name) DO UPDATE SET version = ledger_versions.version + 1;
    RETURN NULL;
END';

DO '
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY[''members'', ''member_groups'', ''groups'', ''activities'', ''activity_signups'', ''activity_groups'', ''feedback_items'', ''feedback_groups'', ''notices'', ''outbox'', ''notice_acks''] LOOP
        EXECUTE ''CREATE TRIGGER ledger_v_'' || t || '' AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ''
            || quote_ident(t) || '' FOR EACH STATEMENT EXECUTE FUNCTION ledger_bump()'';
    END LOOP;
    CREATE TRIGGER ledger_v_bot_users AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF blocked_at ON bot_users
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_bump();
END';
