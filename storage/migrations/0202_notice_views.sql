-- Status views of a notice that a coordinator has open: re-rendered when acknowledgements arrive,
-- so the sender's summary is live.
CREATE TABLE notice_views (
    notice_id  INTEGER NOT NULL REFERENCES notices(id),
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    lang       TEXT NOT NULL,
    opened_at  TEXT NOT NULL,
    PRIMARY KEY (notice_id, chat_id)
);
