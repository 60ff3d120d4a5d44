-- State v2: a tenant's objects are a snapshot plus a log of changes (package
-- store/statelog describes the bytes). The objects table of earlier
-- versions stays the base of a tenant until its first snapshot, whose commit
-- deletes the tenant's rows there: databases migrate as they are used.

-- One row per tenant that has written a record or a snapshot: the snapshot
-- in use (-1: none, the objects rows are the base; a tenant without a row
-- has none either), the last record's number,
-- and the bytes of the records after the snapshot (compaction's trigger).
CREATE TABLE state_heads (
    tenant_id    TEXT    NOT NULL PRIMARY KEY,
    snapshot_seq INTEGER NOT NULL,
    last_seq     INTEGER NOT NULL,
    log_bytes    INTEGER NOT NULL
);

-- One record per committed change with mutations.
CREATE TABLE state_changes (
    tenant_id TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

-- The parts of snapshots, each with the key of its first object (GetObject
-- finds the one part that can hold a key). Parts of a snapshot that is not
-- the head's are leftovers of an interrupted compaction: never read, and
-- deleted by the next one.
CREATE TABLE state_snapshots (
    tenant_id  TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    part       INTEGER NOT NULL,
    first_kind TEXT    NOT NULL,
    first_id   TEXT    NOT NULL,
    data       BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, seq, part)
);
CREATE INDEX state_snapshots_first ON state_snapshots (tenant_id, seq, first_kind, first_id);
