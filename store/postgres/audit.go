package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"allot/audit"
	"allot/store/auditsql"
)

// MaxAuditSeq returns the highest audit Seq of the tenant, 0 if none.
func (s *Store) MaxAuditSeq(ctx context.Context, tenantID string) (int64, error) {
	if err := s.life.Enter(); err != nil {
		return 0, err
	}
	defer s.life.Leave()
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM audit WHERE tenant_id = $1`, tenantID).Scan(&seq); err != nil {
		return 0, fmt.Errorf("store/postgres: max audit seq of %q: %w", tenantID, err)
	}
	return seq, nil
}

// QueryAudit returns the tenant's entries matching q in Seq order
// (descending when q.Newest), at most q.Limit of them
// (auditsql.DefaultLimit when Limit is 0 or negative). q.TenantID is
// required: the audit log is never read across tenants.
func (s *Store) QueryAudit(ctx context.Context, q audit.Query) ([]audit.Entry, error) {
	if q.TenantID == "" {
		return nil, errors.New("store/postgres: audit query needs a tenant id")
	}
	if err := s.life.Enter(); err != nil {
		return nil, err
	}
	defer s.life.Leave()

	query, args := auditsql.Build(auditsql.Dialect{Numbered: true, AnyOf: true, Instant: func(t time.Time) any { return ceilMicro(t) }}, q)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: query audit of %q: %w", q.TenantID, err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (audit.Entry, error) {
		e := audit.Entry{TenantID: q.TenantID}
		var at time.Time
		var user, group, sku *string
		if err := r.Scan(&e.Seq, &at, &e.Actor, &e.Action, &user, &group, &sku, &e.Why, &e.Detail); err != nil {
			return audit.Entry{}, err
		}
		e.At = utc(at)
		e.UserID, e.GroupID, e.SKUID = deref(user), deref(group), deref(sku)
		audit.Canonical(&e)
		return e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store/postgres: query audit of %q: %w", q.TenantID, err)
	}
	return es, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
