-- One row whose counter every write probe (store.ProbeSQL) bumps, so that
-- a probe is a real write on every backend. (Under Citus, a reference
-- table like tokens.)
CREATE TABLE write_probe (
    id integer PRIMARY KEY CHECK (id = 1),
    n  bigint  NOT NULL
);
INSERT INTO write_probe (id, n) VALUES (1, 0);
