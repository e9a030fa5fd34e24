-- Core schema: people who talk to the bot, the group tree, members, roles, audit log,
-- and python-telegram-bot's persisted state. Times are UTC text '%Y-%m-%dT%H:%M:%S.%fZ'.

CREATE TABLE bot_users (
    user_id      INTEGER PRIMARY KEY,
    language     TEXT,
    started_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    blocked_at   TEXT
);

CREATE TABLE groups (
    id                INTEGER PRIMARY KEY,
    parent_id         INTEGER REFERENCES groups(id),
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('head', 'sub', 'local', 'club')),
    -- materialised path of ids from the root, e.g. '/1/4/9/': a subtree is a path prefix
    path              TEXT NOT NULL DEFAULT '/',
    requires_approval INTEGER NOT NULL DEFAULT 0,
    archived_at       TEXT,
    created_at        TEXT NOT NULL
);
CREATE INDEX groups_parent ON groups (parent_id);
CREATE INDEX groups_path ON groups (path);

CREATE TABLE members (
    id                   INTEGER PRIMARY KEY,
    user_id              INTEGER UNIQUE,
    status               TEXT NOT NULL CHECK (status IN ('pending', 'active', 'left', 'erased')),
    name                 TEXT,
    category             TEXT,
    organisation         TEXT,
    position             TEXT,
    phone                TEXT,
    expertise_note       TEXT,
    interests            TEXT,
    consent_at           TEXT,
    registered_at        TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    profile_confirmed_at TEXT,
    unreachable_at       TEXT,
    left_at              TEXT,
    erased_at            TEXT
);
CREATE INDEX members_status ON members (status);
CREATE INDEX members_category ON members (category);

CREATE TABLE member_expertise (
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    PRIMARY KEY (member_id, tag)
);
CREATE INDEX member_expertise_tag ON member_expertise (tag);

CREATE TABLE member_groups (
    member_id    INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    group_id     INTEGER NOT NULL REFERENCES groups(id),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'left')),
    requested_at TEXT NOT NULL,
    decided_at   TEXT,
    decided_by   INTEGER,
    reason       TEXT,
    PRIMARY KEY (member_id, group_id)
);
CREATE INDEX member_groups_group ON member_groups (group_id, status);

CREATE TABLE coordinators (
    user_id      INTEGER NOT NULL,
    group_id     INTEGER NOT NULL REFERENCES groups(id),
    appointed_by INTEGER NOT NULL,
    appointed_at TEXT NOT NULL,
    PRIMARY KEY (user_id, group_id)
);

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    actor_user_id INTEGER,
    action        TEXT NOT NULL,
    target_type   TEXT,
    target_id     TEXT,
    details       TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action, at);

CREATE TABLE ptb_conversations (
    name       TEXT NOT NULL,
    conv_key   TEXT NOT NULL,
    state      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (name, conv_key)
);

CREATE TABLE ptb_user_data (
    user_id INTEGER PRIMARY KEY,
    data    TEXT NOT NULL
);

CREATE TABLE ptb_chat_data (
    chat_id INTEGER PRIMARY KEY,
    data    TEXT NOT NULL
);
