-- Activities: sign-up with capacity and a first-come-first-served waitlist, reminders,
-- offers, check-in and surveys. Times are UTC text (storage/timefmt).
CREATE TABLE activity_series (
    id         INTEGER PRIMARY KEY,
    rule       TEXT NOT NULL CHECK (rule IN ('weekly', 'monthly')),
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE activities (
    id              INTEGER PRIMARY KEY,
    series_id       INTEGER REFERENCES activity_series(id),
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    place           TEXT NOT NULL DEFAULT '',
    starts_at       TEXT NOT NULL,
    ends_at         TEXT NOT NULL,
    signup_deadline TEXT NOT NULL,
    capacity        INTEGER CHECK (capacity IS NULL OR capacity > 0),
    -- seats held (confirmed + offered); kept in the same transaction as the sign-up rows
    seats_taken     INTEGER NOT NULL DEFAULT 0 CHECK (seats_taken >= 0),
    offer_hours     INTEGER CHECK (offer_hours IS NULL OR offer_hours > 0),
    survey          INTEGER NOT NULL DEFAULT 0,
    reminder_offsets TEXT NOT NULL DEFAULT '1440,120',  -- minutes before the start
    categories      TEXT NOT NULL DEFAULT '',           -- '|'-separated; empty = any category
    has_groups      INTEGER NOT NULL DEFAULT 0,         -- 1 when activity_groups restrict eligibility
    status          TEXT NOT NULL CHECK (status IN ('published', 'closed', 'cancelled')),
    checkin_code    TEXT,
    created_by      INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK (signup_deadline <= starts_at),
    CHECK (capacity IS NULL OR seats_taken <= capacity)
);
CREATE INDEX activities_starts ON activities (status, starts_at);
CREATE INDEX activities_series ON activities (series_id);

CREATE TABLE activity_groups (
    activity_id INTEGER NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
    group_id    INTEGER NOT NULL REFERENCES groups(id),
    PRIMARY KEY (activity_id, group_id)
);

-- One row per (activity, member). The id is the queue ticket: a new sign-up after a
-- cancellation gets a new row (and so goes to the back of the waitlist).
CREATE TABLE activity_signups (
    id            INTEGER PRIMARY KEY,  -- a re-sign-up deletes and re-inserts: always the largest id
    activity_id   INTEGER NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
    member_id     INTEGER NOT NULL REFERENCES members(id),
    status        TEXT NOT NULL CHECK (status IN ('confirmed', 'waiting', 'offered', 'not_going', 'cancelled')),
    offer_expires TEXT,
    checked_in_at TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (activity_id, member_id)
);
CREATE INDEX activity_signups_queue ON activity_signups (activity_id, status, id);

-- Scheduled work with due times: claimed in a transaction, never run twice.
CREATE TABLE activity_due (
    id          INTEGER PRIMARY KEY,
    activity_id INTEGER NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('reminder', 'offer', 'survey')),
    member_id   INTEGER NOT NULL DEFAULT 0,   -- 0 = the whole activity
    tag         INTEGER NOT NULL DEFAULT 0,   -- reminder offset in minutes / signup id of an offer
    due_at      TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'skipped', 'cancelled')),
    done_at     TEXT,
    note        TEXT,
    UNIQUE (activity_id, kind, member_id, tag)
);
CREATE INDEX activity_due_pending ON activity_due (status, due_at);

CREATE TABLE activity_survey (
    activity_id INTEGER NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES members(id),
    rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment     TEXT,
    answered_at TEXT NOT NULL,
    PRIMARY KEY (activity_id, member_id)
);
