-- The outbox: one row per message to one chat, written in the same transaction as whatever
-- produced it (a notice, an activity announcement, a reminder). A delivery worker drains it.
CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL,            -- 'notice', 'activity', 'reminder', 'nudge', ...
    ref_id         INTEGER,                  -- id of the notice/activity/... it belongs to
    chat_id        INTEGER NOT NULL,
    member_id      INTEGER,
    text           TEXT NOT NULL,            -- rendered HTML, already escaped
    reply_markup   TEXT,                     -- JSON of an InlineKeyboardMarkup, or NULL
    attachment     TEXT,                     -- JSON {"type": "photo"|"document", "file_id": ...} or NULL
    priority       INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'sending', 'sent', 'blocked', 'failed', 'unknown', 'skipped')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    message_id     INTEGER,
    error          TEXT,
    not_before     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    finished_at    TEXT,
    UNIQUE (kind, ref_id, chat_id)
);
CREATE INDEX outbox_pending ON outbox (status, not_before, priority);
CREATE INDEX outbox_ref ON outbox (kind, ref_id, status);
