-- Members feature: invite links and the profile-freshness due time.
CREATE TABLE invites (
    id          INTEGER PRIMARY KEY,
    token       TEXT NOT NULL UNIQUE,
    group_id    INTEGER NOT NULL REFERENCES groups(id),
    created_by  INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    max_uses    INTEGER CHECK (max_uses IS NULL OR max_uses > 0),
    uses        INTEGER NOT NULL DEFAULT 0,
    revoked_at  TEXT,
    CHECK (max_uses IS NULL OR uses <= max_uses)
);
CREATE INDEX invites_group ON invites (group_id);

-- When the member is next asked whether the profile is still correct (NULL: not scheduled).
ALTER TABLE members ADD COLUMN profile_due_at TEXT;
CREATE INDEX members_profile_due ON members (profile_due_at);
