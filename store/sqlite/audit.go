package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

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
	err := s.readers.QueryRowContext(ctx, auditTopSQL, tenantID).Scan(&seq)
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

// queryAudit answers q in tx: the entries of audit_rows (queryAuditRows)
// and those pending in the tenant's log (auditlog.go), merged. Both are
// read in the one transaction, so each entry is read once.
func (s *Store) queryAudit(ctx context.Context, tx *sql.Tx, q audit.Query) ([]audit.Entry, error) {
	limit := auditsql.Limit(q)
	m := newAuditMatcher(q)
	es, err := s.queryAuditRows(ctx, tx, q, m, limit)
	if err != nil {
		return nil, err
	}
	query, args := pendingAuditSQL, []any{q.TenantID}
	if q.AfterSeq != 0 {
		query += ` AND c.audit_last > ?2`
		args = append(args, q.AfterSeq)
	}
	query += ` ORDER BY c.seq`
	if q.Newest {
		query += ` DESC`
	}
	pending, err := m.collect(ctx, tx, query, args, limit)
	if err != nil {
		return nil, err
	}
	return mergeAudit(es, pending, q.Newest, limit), nil
}

// queryAuditRows answers q from audit_rows in tx (auditindex.go): with a
// filter an index file table serves, the rows up to the index file's
// progress through it and the later ones from audit_rows; otherwise from
// audit_rows alone, in the tenant's seq order. Rows are read in q's order
// until limit entries match: a tenant's rows have disjoint seq ranges, so
// the entries come in seq order too.
func (s *Store) queryAuditRows(ctx context.Context, tx *sql.Tx, q audit.Query, m *auditMatcher, limit int) ([]audit.Entry, error) {
	table, ref := indexFor(q)
	upTo := int64(0)
	if table != "" && s.indexAttached {
		var err error
		if upTo, err = indexedUpTo(ctx, tx); err != nil {
			return nil, err
		}
	}
	// The rows that can hold entries of q's seq bounds: last_seq > AfterSeq
	// and last_seq <= the first last_seq at or above BeforeSeq.
	bounds, args := ``, []any{}
	if q.AfterSeq != 0 {
		bounds += ` AND r.last_seq > ?`
		args = append(args, q.AfterSeq)
	}
	if q.BeforeSeq != 0 {
		var top sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT min(last_seq) FROM audit_rows WHERE tenant_id = ? AND last_seq >= ?`, q.TenantID, q.BeforeSeq).Scan(&top)
		if err != nil {
			return nil, err
		}
		if top.Valid {
			bounds += ` AND r.last_seq <= ?`
			args = append(args, top.Int64)
		}
	}
	order := ` ORDER BY r.last_seq`
	if q.Newest {
		order += ` DESC`
	}
	if upTo == 0 {
		query := `SELECT r.id, r.data FROM audit_rows r WHERE r.tenant_id = ?` + bounds + order
		return m.collect(ctx, tx, query, append([]any{q.TenantID}, args...), limit)
	}
	var head string
	var headArgs []any
	if table == "by_at" {
		from, to := int64(math.MinInt64), int64(math.MaxInt64)
		if !q.From.IsZero() {
			from = floorDiv(ceilMicros(q.From), 1e6)
		}
		if !q.To.IsZero() {
			to = floorDiv(ceilMicros(q.To)-1, 1e6)
		}
		// The rows of the seconds in range first (CROSS JOIN keeps the
		// planner from walking the tenant's rows in seq order instead),
		// sorted by seq without their data, which is read in that order.
		head = `SELECT d.id, d.data FROM (SELECT r.id AS id, r.last_seq AS last_seq
				FROM (SELECT DISTINCT x.row AS row FROM idx.by_at x WHERE x.tenant_id = ? AND x.sec >= ? AND x.sec <= ?) m
				CROSS JOIN audit_rows r ON r.id = m.row
				WHERE r.tenant_id = ? AND r.id <= ?` + bounds + order + `) o
			CROSS JOIN audit_rows d ON d.id = o.id` + strings.ReplaceAll(order, "r.", "o.")
		headArgs = append([]any{q.TenantID, from, to, q.TenantID, upTo}, args...)
	} else {
		xorder := ` ORDER BY x.last_seq, x.row`
		if q.Newest {
			xorder = ` ORDER BY x.last_seq DESC, x.row DESC`
		}
		head = `SELECT r.id, r.data FROM idx.` + table + ` x JOIN audit_rows r ON r.id = x.row
			WHERE x.tenant_id = ? AND x.ref = ? AND r.tenant_id = ? AND r.id <= ?` + strings.ReplaceAll(bounds, "r.last_seq", "x.last_seq") + xorder
		headArgs = append([]any{q.TenantID, ref, q.TenantID, upTo}, args...)
	}
	es, err := m.collect(ctx, tx, head, headArgs, limit)
	if err != nil {
		return nil, err
	}
	// The rows after the progress: few, found by id.
	tail := `SELECT r.id, r.data FROM audit_rows r NOT INDEXED WHERE r.id > ? AND r.tenant_id = ?` + bounds + order
	later, err := m.collect(ctx, tx, tail, append([]any{upTo, q.TenantID}, args...), math.MaxInt)
	if err != nil {
		return nil, err
	}
	return mergeAudit(es, later, q.Newest, limit), nil
}

// auditMatcher checks q's conditions on decoded entries.
type auditMatcher struct {
	q                audit.Query
	activity, actors []string
	from, to         int64 // microseconds; to exclusive
}

func newAuditMatcher(q audit.Query) *auditMatcher {
	m := &auditMatcher{q: q, from: math.MinInt64, to: math.MaxInt64}
	if q.Activity != "" {
		m.activity = audit.Aliases(q.Activity)
	}
	if q.Actor != "" {
		m.actors = audit.Aliases(q.Actor)
	}
	if !q.From.IsZero() {
		m.from = ceilMicros(q.From)
	}
	if !q.To.IsZero() {
		m.to = ceilMicros(q.To)
	}
	return m
}

// match reports whether the stored entry e (before audit.Canonical) is one
// of q's.
func (m *auditMatcher) match(e *audit.Entry) bool {
	q := m.q
	at := micros(e.At)
	return (q.UserID == "" || e.UserID == q.UserID) &&
		(q.GroupID == "" || e.GroupID == q.GroupID) &&
		(q.SKUID == "" || e.SKUID == q.SKUID) &&
		(m.activity == nil || slices.Contains(m.activity, e.Action)) &&
		(m.actors == nil || slices.Contains(m.actors, e.Actor)) &&
		at >= m.from && at < m.to &&
		(q.AfterSeq == 0 || e.Seq > q.AfterSeq) &&
		(q.BeforeSeq == 0 || e.Seq < q.BeforeSeq)
}

// collect runs a query that selects (id, data) of audit rows (or (seq,
// audit) of log records) in q's order and returns the matching entries, in
// q's order, until it has limit.
func (m *auditMatcher) collect(ctx context.Context, tx *sql.Tx, query string, args []any, limit int) ([]audit.Entry, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var es []audit.Entry
	for len(es) < limit && rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		row, err := decodeAuditRow(m.q.TenantID, data)
		if err != nil {
			return nil, fmt.Errorf("audit row (or log record) %d: %w", id, err)
		}
		if m.q.Newest {
			slices.Reverse(row)
		}
		for i := range row {
			if e := &row[i]; m.match(e) {
				audit.Canonical(e)
				es = append(es, *e)
				if len(es) == limit {
					break
				}
			}
		}
	}
	return es, rows.Err()
}

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

// indexedUpTo is the id up to which the attached index file holds
// audit_rows; 0 when it holds none or is not this database's (then
// audit_rows answers alone).
func indexedUpTo(ctx context.Context, tx *sql.Tx) (int64, error) {
	var last int64
	err := tx.QueryRowContext(ctx, `SELECT p.last_id FROM idx.progress p
		WHERE p.owner = (SELECT id FROM main.audit_index_owner)
		AND p.last_id <= coalesce((SELECT max(id) FROM main.audit_rows), 0)`).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return last, err
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
