-- SQS messages (store.Message) and FIFO deduplication records, as in the SQLite driver.
CREATE TABLE sqs_messages (
    seq              BIGSERIAL PRIMARY KEY,
    queue            TEXT COLLATE "C" NOT NULL,
    id               TEXT COLLATE "C" NOT NULL,
    grp              TEXT COLLATE "C" NOT NULL,
    source           TEXT    NOT NULL,
    sent_at          BIGINT  NOT NULL,
    visible_at       BIGINT  NOT NULL,
    receive_count    INTEGER NOT NULL,
    first_receive_at BIGINT  NOT NULL,
    receipt          TEXT    NOT NULL,
    body             BYTEA   NOT NULL
);
CREATE UNIQUE INDEX sqs_messages_id ON sqs_messages (queue, id);
CREATE INDEX sqs_messages_visible ON sqs_messages (queue, visible_at);
CREATE INDEX sqs_messages_group ON sqs_messages (queue, grp, visible_at);
CREATE INDEX sqs_messages_sent ON sqs_messages (queue, sent_at);

CREATE TABLE sqs_dedup (
    queue      TEXT COLLATE "C" NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    message_id TEXT   NOT NULL,
    seq        BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (queue, key)
);
CREATE INDEX sqs_dedup_expiry ON sqs_dedup (queue, expires_at);
