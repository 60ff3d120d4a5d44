package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

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
	if err := s.life.Enter(); err != nil {
		return nil, err
	}
	defer s.life.Leave()

	tx, err := s.readers.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: query audit of %q: %w", q.TenantID, err)
	}
	defer tx.Rollback()
	es, err := s.queryAudit(ctx, tx, q)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: query audit of %q: %w", q.TenantID, err)
	}
	return es, nil
}

// auditDialect is SQLite's: "?" placeholders, instants in microseconds.
var auditDialect = auditsql.Dialect{Instant: func(t time.Time) any { return ceilMicros(t) }}

// queryAudit answers q in tx (auditindex.go): with a filter an index file
// table serves, the rows up to the index file's progress through it and
// the later ones from the audit table; otherwise from the audit table
// alone, in its (tenant_id, seq) order.
func (s *Store) queryAudit(ctx context.Context, tx *sql.Tx, q audit.Query) ([]audit.Entry, error) {
	table, ref := indexFor(q)
	upTo := int64(0)
	if table != "" && s.indexAttached {
		var err error
		if upTo, err = indexedUpTo(ctx, tx); err != nil {
			return nil, err
		}
	}
	if upTo == 0 {
		query, args := auditsql.Build(auditDialect, q)
		return scanAudit(ctx, tx, q.TenantID, query, args)
	}
	limit := auditsql.Limit(q)
	a := auditsql.NewArgs(auditDialect)
	var head string
	if table == "by_at" {
		head = `SELECT ` + auditColumns + ` FROM idx.by_at x JOIN audit a ON a.tenant_id = x.tenant_id AND a.seq = x.seq
			WHERE x.tenant_id = ` + a.Add(q.TenantID) + atRange(a, q) + ` AND a.id <= ` + a.Add(upTo) +
			` AND ` + auditsql.Where(a, q, "a") + auditsql.Order(q, "a") + ` LIMIT ` + a.Add(limit)
	} else {
		head = `SELECT ` + auditColumns + ` FROM idx.` + table + ` x JOIN audit a ON a.tenant_id = x.tenant_id AND a.seq = x.seq
			WHERE x.tenant_id = ` + a.Add(q.TenantID) + ` AND x.ref = ` + a.Add(ref) + seqRange(a, q) + ` AND a.id <= ` + a.Add(upTo) +
			` AND ` + auditsql.Where(a, q, "a") + auditsql.Order(q, "x") + ` LIMIT ` + a.Add(limit)
	}
	es, err := scanAudit(ctx, tx, q.TenantID, head, a.List())
	if err != nil {
		return nil, err
	}
	// The rows after the progress: few, found by id (NOT INDEXED keeps
	// the planner from walking the tenant's whole log by seq instead).
	a = auditsql.NewArgs(auditDialect)
	tail := `SELECT ` + auditColumns + ` FROM audit AS a NOT INDEXED WHERE a.id > ` + a.Add(upTo) +
		` AND ` + auditsql.Where(a, q, "a") + auditsql.Order(q, "a") + ` LIMIT ` + a.Add(limit)
	later, err := scanAudit(ctx, tx, q.TenantID, tail, a.List())
	if err != nil {
		return nil, err
	}
	return mergeAudit(es, later, q.Newest, limit), nil
}

// auditColumns are auditsql.Columns of the audit table named a.
const auditColumns = `a.seq, a.at, a.actor, a.action, a.user_id, a.group_id, a.sku_id, a.why, a.detail`

// indexFor returns the index file table that serves q (and the id it
// looks up), "" when none does: a user, group or SKU, else a time range.
func indexFor(q audit.Query) (table, ref string) {
	switch {
	case q.UserID != "":
		return "by_user", q.UserID
	case q.GroupID != "":
		return "by_group", q.GroupID
	case q.SKUID != "":
		return "by_sku", q.SKUID
	case !q.From.IsZero() || !q.To.IsZero():
		return "by_at", ""
	}
	return "", ""
}

// seqRange is q's Seq bounds on the index row x.
func seqRange(a *auditsql.Args, q audit.Query) string {
	var b string
	if q.AfterSeq != 0 {
		b += ` AND x.seq > ` + a.Add(q.AfterSeq)
	}
	if q.BeforeSeq != 0 {
		b += ` AND x.seq < ` + a.Add(q.BeforeSeq)
	}
	return b
}

// atRange is q's time bounds on the index row x.
func atRange(a *auditsql.Args, q audit.Query) string {
	var b string
	if !q.From.IsZero() {
		b += ` AND x.at >= ` + a.Add(ceilMicros(q.From))
	}
	if !q.To.IsZero() {
		b += ` AND x.at < ` + a.Add(ceilMicros(q.To))
	}
	return b
}

// indexedUpTo is the id up to which the attached index file holds the
// audit table's rows; 0 when it holds none or is not this database's
// (then the audit table answers alone).
func indexedUpTo(ctx context.Context, tx *sql.Tx) (int64, error) {
	var last int64
	err := tx.QueryRowContext(ctx, `SELECT p.last_id FROM idx.progress p
		WHERE p.owner = (SELECT id FROM main.audit_index_owner)
		AND p.last_id <= coalesce((SELECT seq FROM main.sqlite_sequence WHERE name = 'audit'), 0)`).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return last, err
}

// scanAudit runs a query that selects auditColumns.
func scanAudit(ctx context.Context, tx *sql.Tx, tenantID, query string, args []any) ([]audit.Entry, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var es []audit.Entry
	for rows.Next() {
		e := audit.Entry{TenantID: tenantID}
		var at int64
		var user, group, sku sql.NullString
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &user, &group, &sku, &e.Why, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMicros(at)
		e.UserID, e.GroupID, e.SKUID = user.String, group.String, sku.String
		audit.Canonical(&e)
		es = append(es, e)
	}
	return es, rows.Err()
}

// mergeAudit returns the first limit entries of a and b (each in q's
// order, no Seq in both) in q's order.
func mergeAudit(a, b []audit.Entry, newest bool, limit int) []audit.Entry {
	if len(b) == 0 {
		return a
	}
	out := append(a, b...)
	slices.SortFunc(out, func(x, y audit.Entry) int {
		if newest {
			x, y = y, x
		}
		return cmp.Compare(x.Seq, y.Seq)
	})
	return out[:min(len(out), limit)]
}
