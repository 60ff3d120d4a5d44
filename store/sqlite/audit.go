package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"allot/audit"
)

// defaultAuditLimit is the page size of a Query whose Limit is 0.
const defaultAuditLimit = 1000

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
// (descending when q.Newest), at most
// q.Limit of them (1000 when Limit is 0 or negative). q.TenantID is required:
// the audit log is never read across tenants.
func (s *Store) QueryAudit(ctx context.Context, q audit.Query) ([]audit.Entry, error) {
	if q.TenantID == "" {
		return nil, errors.New("store/sqlite: audit query needs a tenant id")
	}
	if err := s.life.enter(); err != nil {
		return nil, err
	}
	defer s.life.leave()

	var b strings.Builder
	b.WriteString(`SELECT seq, at, actor, action, user_id, group_id, sku_id, why, detail FROM audit WHERE tenant_id = ?`)
	args := []any{q.TenantID}
	where := func(cond string, arg any) {
		b.WriteString(" AND ")
		b.WriteString(cond)
		args = append(args, arg)
	}
	if q.UserID != "" {
		where("user_id = ?", q.UserID)
	}
	if q.GroupID != "" {
		where("group_id = ?", q.GroupID)
	}
	if q.SKUID != "" {
		where("sku_id = ?", q.SKUID)
	}
	for _, f := range [...][2]string{{"action", q.Activity}, {"actor", q.Actor}} {
		col, name := f[0], f[1]
		if name == "" {
			continue
		}
		names := audit.Aliases(name)
		b.WriteString(" AND " + col + " IN (?" + strings.Repeat(",?", len(names)-1) + ")")
		for _, n := range names {
			args = append(args, n)
		}
	}
	if !q.From.IsZero() {
		where("at >= ?", ceilMicros(q.From))
	}
	if !q.To.IsZero() {
		where("at < ?", ceilMicros(q.To))
	}
	if q.AfterSeq != 0 {
		where("seq > ?", q.AfterSeq)
	}
	if q.BeforeSeq != 0 {
		where("seq < ?", q.BeforeSeq)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	if q.Newest {
		b.WriteString(" ORDER BY seq DESC LIMIT ?")
	} else {
		b.WriteString(" ORDER BY seq LIMIT ?")
	}
	args = append(args, limit)

	rows, err := s.readers.QueryContext(ctx, b.String(), args...)
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
