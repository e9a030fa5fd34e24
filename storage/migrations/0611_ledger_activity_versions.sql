-- Ledger (台账): a data version per activity for its sign-ups, so that /stats after a sign-up
-- recounts that activity only (the activities part of the cache: bot/ledger/service.py). Bumped by
-- triggers in the writing transaction, as ledger_versions (migration 0610). Not copied by
-- storage/copy.py (each database keeps its own versions).
CREATE TABLE ledger_activity_versions (
    activity_id INTEGER PRIMARY KEY,    -- an activity (no foreign key: a deleted activity's row is harmless)
    version     INTEGER NOT NULL        -- bumped by every write to one of its sign-ups
);

CREATE TRIGGER ledger_av_i AFTER INSERT ON activity_signups
BEGIN
    INSERT INTO ledger_activity_versions (activity_id, version) VALUES (NEW.activity_id, 1)
    ON CONFLICT (activity_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_av_u AFTER UPDATE ON activity_signups
BEGIN
    INSERT INTO ledger_activity_versions (activity_id, version) VALUES (OLD.activity_id, 1)
    ON CONFLICT (activity_id) DO UPDATE SET version = version + 1;
    INSERT INTO ledger_activity_versions (activity_id, version) VALUES (NEW.activity_id, 1)
    ON CONFLICT (activity_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ledger_av_d AFTER DELETE ON activity_signups
BEGIN
    INSERT INTO ledger_activity_versions (activity_id, version) VALUES (OLD.activity_id, 1)
    ON CONFLICT (activity_id) DO UPDATE SET version = version + 1;
END;
