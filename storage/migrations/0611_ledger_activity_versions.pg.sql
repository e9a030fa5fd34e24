-- Ledger (台账): a data version per activity for its sign-ups, so that /stats after a sign-up
-- recounts that activity only (the activities part of the cache: bot/ledger/service.py). Bumped by
-- triggers in the writing transaction, as ledger_versions (migration 0610). Not copied by
-- storage/copy.py (each database keeps its own versions).
CREATE TABLE ledger_activity_versions (
    activity_id BIGINT PRIMARY KEY,     -- an activity (no foreign key: a deleted activity's row is harmless)
    version     BIGINT NOT NULL         -- bumped by every write to one of its sign-ups
);

-- A row trigger (it needs each row's activity); TRUNCATE fires no row trigger, so it bumps them all.
-- Bodies are quoted strings and the triggers made in a DO block (see migration 0610).
CREATE FUNCTION ledger_bump_activity() RETURNS trigger LANGUAGE plpgsql AS '
BEGIN
    IF TG_OP = ''TRUNCATE'' THEN
        UPDATE ledger_activity_versions SET version = version + 1;
        RETURN NULL;
    END IF;
    IF TG_OP <> ''INSERT'' THEN
        INSERT INTO ledger_activity_versions (activity_id, version) VALUES (OLD.activity_id, 1)
        ON CONFLICT (activity_id) DO UPDATE SET version = ledger_activity_versions.version + 1;
    END IF;
    IF TG_OP <> ''DELETE'' THEN
        INSERT INTO ledger_activity_versions (activity_id, version) VALUES (NEW.activity_id, 1)
        ON CONFLICT (activity_id) DO UPDATE SET version = ledger_activity_versions.version + 1;
    END IF;
    RETURN NULL;
END';

DO '
BEGIN
    CREATE TRIGGER ledger_av AFTER INSERT OR UPDATE OR DELETE ON activity_signups
        FOR EACH ROW EXECUTE FUNCTION ledger_bump_activity();
    CREATE TRIGGER ledger_av_truncate AFTER TRUNCATE ON activity_signups
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_bump_activity();
END';
