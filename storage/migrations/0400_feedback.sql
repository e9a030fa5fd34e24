-- Feedback items (suggestions, needs, complaints, other) and their handling.
-- Anonymity: the author of an anonymous item is kept ONLY in feedback_authors, which no
-- coordinator-facing query reads; author_member_id on the item is NULL for anonymous items.
CREATE TABLE feedback_items (
    id               INTEGER PRIMARY KEY,
    year             INTEGER NOT NULL,
    seq              INTEGER NOT NULL,
    ref              TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL CHECK (kind IN ('suggestion', 'need', 'complaint', 'other')),
    body             TEXT NOT NULL,
    anonymous        INTEGER NOT NULL DEFAULT 0,
    author_member_id INTEGER REFERENCES members(id) ON DELETE SET NULL,
    status           TEXT NOT NULL DEFAULT 'new'
                     CHECK (status IN ('new', 'assigned', 'in_progress', 'answered', 'closed')),
    assignee_user_id INTEGER,
    answer           TEXT,
    answered_at      TEXT,
    answered_by      INTEGER,
    helpful          INTEGER,
    reopened_at      TEXT,
    reopen_comment   TEXT,
    due_at           TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    closed_at        TEXT,
    UNIQUE (year, seq)
);
CREATE INDEX feedback_items_status ON feedback_items (status, created_at);

-- Groups of the author at submission time: the scope of the item for coordinators.
CREATE TABLE feedback_groups (
    feedback_id INTEGER NOT NULL REFERENCES feedback_items(id) ON DELETE CASCADE,
    group_id    INTEGER NOT NULL,
    path        TEXT NOT NULL,
    PRIMARY KEY (feedback_id, group_id)
);

-- The author link (member-facing only: "my feedback", routing answers, daily limit).
CREATE TABLE feedback_authors (
    feedback_id INTEGER PRIMARY KEY REFERENCES feedback_items(id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX feedback_authors_member ON feedback_authors (member_id, created_at);

CREATE TABLE feedback_attachments (
    id          INTEGER PRIMARY KEY,
    feedback_id INTEGER NOT NULL REFERENCES feedback_items(id) ON DELETE CASCADE,
    type        TEXT NOT NULL CHECK (type IN ('photo', 'document')),
    file_id     TEXT NOT NULL
);

CREATE TABLE feedback_notes (
    id             INTEGER PRIMARY KEY,
    feedback_id    INTEGER NOT NULL REFERENCES feedback_items(id) ON DELETE CASCADE,
    author_user_id INTEGER NOT NULL,
    body           TEXT NOT NULL,
    created_at     TEXT NOT NULL
);

-- Deadline jobs: a reminder to the assignee before the target time, an escalation after it.
CREATE TABLE feedback_jobs (
    id          INTEGER PRIMARY KEY,
    feedback_id INTEGER NOT NULL REFERENCES feedback_items(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('remind', 'escalate')),
    due_at      TEXT NOT NULL,
    claimed_at  TEXT,
    outcome     TEXT,
    UNIQUE (feedback_id, kind)
);
CREATE INDEX feedback_jobs_due ON feedback_jobs (claimed_at, due_at);

-- "You said, we did" digests (ref of their outbox rows).
CREATE TABLE feedback_digests (
    id         INTEGER PRIMARY KEY,
    sent_by    INTEGER NOT NULL,
    group_id   INTEGER,
    items      INTEGER NOT NULL,
    recipients INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
