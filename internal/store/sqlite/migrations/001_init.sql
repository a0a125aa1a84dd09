CREATE TABLE resources (
    account    TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    revision   INTEGER NOT NULL,
    arn        TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    body       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account, kind, name, revision)
);

CREATE TABLE jobs (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    account      TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    queue        TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    array_parent TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    body         BLOB    NOT NULL
);
CREATE UNIQUE INDEX jobs_id ON jobs (id);
CREATE INDEX jobs_queue_status ON jobs (account, queue, status, seq);
CREATE INDEX jobs_array_parent ON jobs (account, array_parent, status, seq) WHERE array_parent <> '';
CREATE INDEX jobs_unfinished ON jobs (seq) WHERE status NOT IN ('SUCCEEDED', 'FAILED');
