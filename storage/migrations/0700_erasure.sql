-- Erasures (/forget): one row per erased member, holding no identity. `digest` is a slow salted
-- hash (PBKDF2) of the member's Telegram id, so a restore can find the member again in an older
-- backup and erase them once more, while the row alone cannot be turned back into the id.
CREATE TABLE erasures (
    id        INTEGER PRIMARY KEY,
    erased_at TEXT NOT NULL,
    salt      TEXT NOT NULL,
    digest    TEXT NOT NULL UNIQUE
);
