-- How many minutes before the start check-in opens (by code, or marked by a coordinator without
-- a confirmation); chosen under /newactivity's 更多选项. 30 was the fixed window before.
ALTER TABLE activities ADD COLUMN checkin_opens INTEGER NOT NULL DEFAULT 30 CHECK (checkin_opens >= 0);
