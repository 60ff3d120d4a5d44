-- The allot processes sharing the database (allot serve --ha), for tenant
-- placement (store.Placement): each process keeps its row alive by
-- renewing expires_at (on the database's clock) and removes it when it
-- stops; a row whose time ran out is a process that is gone. max_tenants
-- is the process's limit of tenant leases (0: none). One row per process,
-- read by every process: a reference table under Citus.
CREATE TABLE processes (
    owner       text COLLATE "C" NOT NULL PRIMARY KEY,
    max_tenants integer     NOT NULL,
    expires_at  timestamptz NOT NULL,
    started_at  timestamptz NOT NULL
);
