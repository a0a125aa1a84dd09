-- Leases (one holder acts alone until it expires; the generation fences a deposed holder's
-- writes), resource versions (optimistic concurrency) and claimable work items.
CREATE TABLE leases (
    name       TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL,
    generation INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

ALTER TABLE resources ADD COLUMN version     INTEGER NOT NULL DEFAULT 1;
ALTER TABLE resources ADD COLUMN owner       TEXT    NOT NULL DEFAULT '';
ALTER TABLE resources ADD COLUMN visible_at  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE resources ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
CREATE INDEX resources_claim ON resources (kind, visible_at, lease_until);
