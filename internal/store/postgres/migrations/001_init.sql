CREATE TABLE resources (
    account     TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    revision    INTEGER NOT NULL,
    arn         TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    body        BYTEA   NOT NULL,
    created_at  BIGINT  NOT NULL,
    version     BIGINT  NOT NULL DEFAULT 1,
    owner       TEXT    NOT NULL DEFAULT '',
    visible_at  BIGINT  NOT NULL DEFAULT 0,
    lease_until BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (account, kind, name, revision)
);
CREATE INDEX resources_kind_name ON resources (kind, name, revision);
CREATE INDEX resources_claim ON resources (kind, visible_at, lease_until);

CREATE TABLE jobs (
    seq          BIGSERIAL PRIMARY KEY,
    account      TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    name         TEXT    NOT NULL,
    queue        TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    array_parent TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    body         BYTEA   NOT NULL
);
CREATE UNIQUE INDEX jobs_id ON jobs (id);
CREATE INDEX jobs_queue_status ON jobs (account, queue, status, seq);
CREATE INDEX jobs_array_parent ON jobs (account, array_parent, status, seq) WHERE array_parent <> '';
CREATE INDEX jobs_unfinished ON jobs (seq) WHERE status NOT IN ('SUCCEEDED', 'FAILED');
CREATE INDEX jobs_submitted ON jobs (seq) WHERE status = 'SUBMITTED';

CREATE TABLE leases (
    name       TEXT COLLATE "C" PRIMARY KEY,
    holder     TEXT   NOT NULL,
    generation BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
