package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM audit WHERE tenant_id = $1`, tenantID).Scan(&seq); err != nil {
		return 0, fmt.Errorf("store/postgres: max audit seq of %q: %w", tenantID, err)
	}
	return seq, nil
}

// QueryAudit returns the tenant's entries matching q in Seq order
// (descending when q.Newest), at most
// q.Limit of them (1000 when Limit is 0 or negative). q.TenantID is required:
// the audit log is never read across tenants.
func (s *Store) QueryAudit(ctx context.Context, q audit.Query) ([]audit.Entry, error) {
	if q.TenantID == "" {
		return nil, errors.New("store/postgres: audit query needs a tenant id")
	}
	if err := s.life.enter(); err != nil {
		return nil, err
	}
	defer s.life.leave()

	var b strings.Builder
	b.WriteString(`SELECT seq, at, actor, action, user_id, group_id, sku_id, why, detail FROM audit WHERE tenant_id = $1`)
	args := []any{q.TenantID}
	where := func(cond string, arg any) {
		args = append(args, arg)
		fmt.Fprintf(&b, " AND "+cond, len(args))
	}
	if q.UserID != "" {
		where("user_id = $%d", q.UserID)
	}
	if q.GroupID != "" {
		where("group_id = $%d", q.GroupID)
	}
	if q.SKUID != "" {
		where("sku_id = $%d", q.SKUID)
	}
	for _, f := range [...][2]string{{"action", q.Activity}, {"actor", q.Actor}} {
		col, name := f[0], f[1]
		if name == "" {
			continue
		}
		args = append(args, audit.Aliases(name))
		fmt.Fprintf(&b, " AND %s = ANY($%d)", col, len(args))
	}
	if !q.From.IsZero() {
		where("at >= $%d", ceilMicro(q.From))
	}
	if !q.To.IsZero() {
		where("at < $%d", ceilMicro(q.To))
	}
	if q.AfterSeq != 0 {
		where("seq > $%d", q.AfterSeq)
	}
	if q.BeforeSeq != 0 {
		where("seq < $%d", q.BeforeSeq)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	args = append(args, limit)
	order := ""
	if q.Newest {
		order = " DESC"
	}
	fmt.Fprintf(&b, " ORDER BY seq%s LIMIT $%d", order, len(args))

	rows, err := s.pool.Query(ctx, b.String(), args...)
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
