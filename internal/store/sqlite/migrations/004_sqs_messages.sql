-- SQS messages: one row per message of a queue (the id of the queue's incarnation). seq orders
-- sends (a FIFO queue's sequence numbers); visible_at is when a delayed or received message can
-- be received (again); receipt names its latest receive.
CREATE TABLE sqs_messages (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    queue            TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    grp              TEXT    NOT NULL,
    source           TEXT    NOT NULL,
    sent_at          INTEGER NOT NULL,
    visible_at       INTEGER NOT NULL,
    receive_count    INTEGER NOT NULL,
    first_receive_at INTEGER NOT NULL,
    receipt          TEXT    NOT NULL,
    body             BLOB    NOT NULL
);
CREATE UNIQUE INDEX sqs_messages_id ON sqs_messages (queue, id);
CREATE INDEX sqs_messages_visible ON sqs_messages (queue, visible_at);
CREATE INDEX sqs_messages_group ON sqs_messages (queue, grp, visible_at);
CREATE INDEX sqs_messages_sent ON sqs_messages (queue, sent_at);

-- Deduplication records of FIFO queues: a key sent again before expires_at is a duplicate of
-- the message it names.
CREATE TABLE sqs_dedup (
    queue      TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    message_id TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (queue, key)
);
CREATE INDEX sqs_dedup_expiry ON sqs_dedup (queue, expires_at);
