-- Tenant leases (store.Leaser): when several allot processes share the
-- database, each tenant is written by the holder of its lease. token is
-- the fencing token: it increases every time the lease changes hands and
-- never goes back (the row outlives the tenant). expires_at is on the
-- database's clock. (Under Citus: distributed by tenant_id, colocated with
-- the tenant tables, so a commit's fence runs on the tenant's shard.)
CREATE TABLE tenant_leases (
    tenant_id   text COLLATE "C" NOT NULL PRIMARY KEY,
    owner       text        NOT NULL,
    token       bigint      NOT NULL,
    expires_at  timestamptz NOT NULL,
    acquired_at timestamptz NOT NULL
);

-- lease_fence is the first statement of every commit of a tenant under a
-- lease: it fails (SQLSTATE AL001) unless tok is the tenant's current
-- token, and otherwise keeps the lease row locked FOR SHARE until the
-- commit ends, so that a takeover (an UPDATE of the row) waits for it.
-- (FOR KEY SHARE would not make it wait.)
CREATE FUNCTION lease_fence(tenant text, tok bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    holder text;
    cur    bigint;
BEGIN
    PERFORM 1 FROM tenant_leases WHERE tenant_id = tenant AND token = tok FOR SHARE;
    IF NOT FOUND THEN
        SELECT owner, token INTO holder, cur FROM tenant_leases WHERE tenant_id = tenant;
        RAISE EXCEPTION 'allot: the lease of tenant % is held by % (token %), not by this commit''s token %',
            tenant, coalesce(holder, 'nobody'), coalesce(cur, 0), tok
            USING ERRCODE = 'AL001';
    END IF;
END $$;
