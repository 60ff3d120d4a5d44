package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"allot/audit"
	"allot/store/auditsql"
)

// MaxAuditSeq returns the highest audit Seq of the tenant, 0 if none.
func (s *Store) MaxAuditSeq(ctx context.Context, tenantID string) (int64, error) {
	if err := s.life.enter(); err != nil {
		return 0, err
	}
	defer s.life.leave()
	var seq int64
	err := s.readers.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM audit WHERE tenant_id = ?`, tenantID).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("store/sqlite: max audit seq of %q: %w", tenantID, err)
	}
	return seq, nil
}

// QueryAudit returns the tenant's entries matching q in Seq order
// (descending when q.Newest), at most q.Limit of them
// (auditsql.DefaultLimit when Limit is 0 or negative). q.TenantID is
// required: the audit log is never read across tenants.
func (s *Store) QueryAudit(ctx context.Context, q audit.Query) ([]audit.Entry, error) {
	if q.TenantID == "" {
		return nil, errors.New("store/sqlite: audit query needs a tenant id")
	}
	if err := s.life.enter(); err != nil {
		return nil, err
	}
	defer s.life.leave()

	query, args := auditsql.Build(auditsql.Dialect{Instant: func(t time.Time) any { return ceilMicros(t) }}, q)
	rows, err := s.readers.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: query audit of %q: %w", q.TenantID, err)
	}
	defer rows.Close()
	var es []audit.Entry
	for rows.Next() {
		e := audit.Entry{TenantID: q.TenantID}
		var at int64
		var user, group, sku sql.NullString
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &user, &group, &sku, &e.Why, &e.Detail); err != nil {
			return nil, fmt.Errorf("store/sqlite: query audit of %q: %w", q.TenantID, err)
		}
		e.At = fromMicros(at)
		e.UserID, e.GroupID, e.SKUID = user.String, group.String, sku.String
		audit.Canonical(&e)
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store/sqlite: query audit of %q: %w", q.TenantID, err)
	}
	return es, nil
}
