-- One row whose counter every write probe (store.ProbeSQL) bumps: a probe
-- must change bytes on disk, since SQLite commits nothing for an UPDATE
-- that leaves a row as it was, and such a probe succeeds on a database
-- that refuses every real write.
CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO write_probe (id, n) VALUES (1, 0);
