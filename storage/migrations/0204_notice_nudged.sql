-- When the notice's not-yet-acknowledged recipients were last reminded (by hand or automatically):
-- shown as "已于 HH:MM 提醒过", and a second reminder by hand waits LIAISON_NUDGE_INTERVAL_MINUTES.
ALTER TABLE notices ADD COLUMN nudged_at TEXT;
