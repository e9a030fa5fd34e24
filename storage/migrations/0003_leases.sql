-- Leases: one holder at a time for work that must run in one process only (the long poller, the
-- delivery pacer of a bot token), with several processes on one database. A holder renews its lease
-- before it expires; any process takes an expired one over.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    acquired_at TEXT NOT NULL
);
