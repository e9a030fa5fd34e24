-- Questionnaires (调研): built in the chat, published to groups, answered question by question.
CREATE TABLE surveys (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_by   INTEGER NOT NULL,
    invited      INTEGER NOT NULL DEFAULT 0,
    deadline_at  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    closed_at    TEXT
);

CREATE TABLE survey_targets (
    survey_id INTEGER NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL,
    PRIMARY KEY (survey_id, member_id)
);

-- Group paths the survey was addressed to (for coordinators' scope checks).
CREATE TABLE survey_scopes (
    survey_id INTEGER NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
    path      TEXT NOT NULL,
    PRIMARY KEY (survey_id, path)
);

CREATE TABLE survey_questions (
    id        INTEGER PRIMARY KEY,
    survey_id INTEGER NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('single', 'multi', 'rating', 'text')),
    text      TEXT NOT NULL,
    options   TEXT NOT NULL DEFAULT '[]',   -- JSON list of option labels
    UNIQUE (survey_id, position)
);

-- One answer set per member and questionnaire.
CREATE TABLE survey_responses (
    id           INTEGER PRIMARY KEY,
    survey_id    INTEGER NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
    member_id    INTEGER NOT NULL,
    started_at   TEXT NOT NULL,
    completed_at TEXT,
    UNIQUE (survey_id, member_id)
);

CREATE TABLE survey_answers (
    response_id INTEGER NOT NULL REFERENCES survey_responses(id) ON DELETE CASCADE,
    question_id INTEGER NOT NULL REFERENCES survey_questions(id) ON DELETE CASCADE,
    value       TEXT NOT NULL,              -- JSON: option index, list of indexes, rating, or text
    final       INTEGER NOT NULL DEFAULT 1, -- 0 while a multiple choice is still being ticked
    PRIMARY KEY (response_id, question_id)
);

CREATE TABLE survey_jobs (
    id         INTEGER PRIMARY KEY,
    survey_id  INTEGER NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('remind', 'close')),
    due_at     TEXT NOT NULL,
    claimed_at TEXT,
    UNIQUE (survey_id, kind)
);
CREATE INDEX survey_jobs_due ON survey_jobs (claimed_at, due_at);
