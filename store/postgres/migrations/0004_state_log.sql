-- State v2: a tenant's objects are a snapshot plus a log of changes (package
-- store/statelog describes the bytes). The objects table of earlier
-- versions stays the base of a tenant until its first snapshot, whose commit
-- deletes the tenant's rows there: databases migrate as they are used.

-- One row per tenant that has written a record or a snapshot: the snapshot
-- in use (-1: none, the objects rows are the base; a tenant without a row
-- has none either), the last record's number,
-- and the bytes of the records after the snapshot (compaction's trigger).
CREATE TABLE state_heads (
    tenant_id    text COLLATE "C" NOT NULL PRIMARY KEY,
    snapshot_seq bigint NOT NULL,
    last_seq     bigint NOT NULL,
    log_bytes    bigint NOT NULL
);

-- One record per committed change with mutations.
CREATE TABLE state_changes (
    tenant_id text COLLATE "C" NOT NULL,
    seq       bigint NOT NULL,
    data      bytea  NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

-- The parts of snapshots, each with the key of its first object. Parts of a
-- snapshot that is not the head's are leftovers of an interrupted
-- compaction: never read, and deleted by the next one.
CREATE TABLE state_snapshots (
    tenant_id  text COLLATE "C" NOT NULL,
    seq        bigint NOT NULL,
    part       bigint NOT NULL,
    first_kind text COLLATE "C" NOT NULL,
    first_id   text COLLATE "C" NOT NULL,
    data       bytea  NOT NULL,
    PRIMARY KEY (tenant_id, seq, part)
);
CREATE INDEX state_snapshots_first ON state_snapshots (tenant_id, seq, first_kind, first_id);
