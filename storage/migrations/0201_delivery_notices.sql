-- Delivery engine extras and notices.
-- Paid broadcast (allow_paid_broadcast) is decided per message by its producer.
ALTER TABLE outbox ADD COLUMN paid INTEGER NOT NULL DEFAULT 0;

-- A status message the engine keeps up to date while a (kind, ref_id) batch is delivered.
CREATE TABLE outbox_progress (
    kind        TEXT NOT NULL,
    ref_id      INTEGER NOT NULL,
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    lang        TEXT NOT NULL,
    done_at     TEXT,
    PRIMARY KEY (kind, ref_id)
);

-- Telegram group chats the bot is (or was) a member of, from my_chat_member updates.
CREATE TABLE group_chats (
    chat_id     INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('member', 'left')),
    updated_at  TEXT NOT NULL
);

-- A notice: one-off (sent now or at next_due_at) or a recurring template whose firings are
-- child notices (parent_id) with their own recipients and acknowledgements.
CREATE TABLE notices (
    id              INTEGER PRIMARY KEY,
    parent_id       INTEGER REFERENCES notices(id),
    author_user_id  INTEGER NOT NULL,
    author_lang     TEXT NOT NULL,
    text            TEXT NOT NULL,             -- HTML, already safe
    attachment      TEXT,                      -- JSON {"type": "photo"|"document", "file_id": ...}
    segment         TEXT NOT NULL,             -- JSON of bot.segments.Segment
    post_to_groups  INTEGER NOT NULL DEFAULT 0,
    paid            INTEGER NOT NULL DEFAULT 0,
    urgent          INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL CHECK (status IN ('scheduled', 'recurring', 'sent', 'cancelled', 'missed', 'done')),
    recurrence      TEXT,                      -- JSON of bot.notices.Recurrence
    next_due_at     TEXT,
    until_at        TEXT,
    nudge_after_h   INTEGER,
    nudge_due_at    TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX notices_due ON notices (status, next_due_at);
CREATE INDEX notices_nudge ON notices (nudge_due_at);
CREATE INDEX notices_author ON notices (author_user_id, status);

CREATE TABLE notice_acks (
    notice_id   INTEGER NOT NULL REFERENCES notices(id),
    member_id   INTEGER NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (notice_id, member_id)
);
