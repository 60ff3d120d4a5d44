-- The log's records are kept in the b-tree of their (tenant_id, seq) key
-- (WITHOUT ROWID): a commit then writes one page of state_changes rather
-- than one of the table and one of its key's index (a membership change's
-- commit wrote 2.3 pages of the 6 it writes there).
CREATE TABLE state_changes_v8 (
    tenant_id TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;
INSERT INTO state_changes_v8 (tenant_id, seq, data) SELECT tenant_id, seq, data FROM state_changes;
DROP TABLE state_changes;
ALTER TABLE state_changes_v8 RENAME TO state_changes;
