-- A tenant's head keeps only its snapshot in use. The last record's number
-- and the bytes of the records after the snapshot are derived from
-- state_changes (its last key, the sum of its records' lengths), and the
-- store's writer keeps them in memory (store/sqlite/tails.go): a commit
-- writes no head row (one WAL frame of the 5.4 a membership change wrote).
-- A row is written only when a snapshot is installed (a compaction, a bulk
-- commit); a tenant without a row has none (snapshot -1: the legacy objects
-- rows are the base), which is what a row with snapshot_seq -1 said.
CREATE TABLE state_heads_v9 (
    tenant_id    TEXT    NOT NULL PRIMARY KEY,
    snapshot_seq INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO state_heads_v9 (tenant_id, snapshot_seq)
    SELECT tenant_id, snapshot_seq FROM state_heads WHERE snapshot_seq >= 0;
DROP TABLE state_heads;
ALTER TABLE state_heads_v9 RENAME TO state_heads;
