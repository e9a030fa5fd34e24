-- Updates received by webhook when several processes share the database (PostgreSQL): each is
-- recorded here (once: Telegram's update_id is the key) before Telegram gets its 200, then handled
-- from here, once and in update_id order per chat_key, by the one process holding that chat's lease
-- (lease chat:<chat_key>). state: pending -> taken (being handled) -> done. An update found
-- taken by a process that died while handling it becomes abandoned (never handled twice).
CREATE TABLE inbound_updates (
    update_id   INTEGER PRIMARY KEY,
    chat_key    INTEGER NOT NULL,
    body        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    taken_by    TEXT,
    taken_at    TEXT
);
CREATE INDEX inbound_updates_open ON inbound_updates (chat_key, update_id) WHERE state IN ('pending', 'taken');
CREATE INDEX inbound_updates_received ON inbound_updates (received_at);
