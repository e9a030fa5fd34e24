-- Each edit of an activity bumps its revision: the "activity changed" notice of every edit
-- gets its own outbox kind (act_edit_r<revision>), so two edits in the same second both reach
-- the members (the outbox is unique per kind, ref and chat).
ALTER TABLE activities ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
