// Package auditsql builds the SQL of an audit query (store.Store's
// QueryAudit) for the SQL backends: the same conditions, order and limit,
// in each backend's placeholders and instant encoding.
package auditsql

import (
	"fmt"
	"strings"
	"time"

	"allot/audit"
)

// DefaultLimit is the page size of a query whose Limit is 0 or negative.
const DefaultLimit = 1000

// Columns are the columns a query selects, in the order Build's SQL
// returns them.
const Columns = `seq, at, actor, action, user_id, group_id, sku_id, why, detail`

// Dialect is what differs between the backends.
type Dialect struct {
	// Numbered: placeholders are $1, $2, … (PostgreSQL); otherwise "?"
	// (SQLite).
	Numbered bool
	// AnyOf: a set of names is one array argument (col = ANY($n));
	// otherwise one argument per name (col IN (?, ?)).
	AnyOf bool
	// Instant encodes a time bound as the backend stores instants, rounded
	// up to the stored precision.
	Instant func(time.Time) any
}

// Build returns the SQL and arguments that select q's entries of the audit
// table in Seq order (descending when q.Newest), at most q.Limit of them
// (DefaultLimit when 0 or negative). q.TenantID must be set: the caller
// refuses a query without one.
func Build(d Dialect, q audit.Query) (string, []any) {
	var b strings.Builder
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		if d.Numbered {
			return fmt.Sprintf("$%d", len(args))
		}
		return "?"
	}
	b.WriteString(`SELECT ` + Columns + ` FROM audit WHERE tenant_id = ` + arg(q.TenantID))
	where := func(cond string, v any) { b.WriteString(" AND " + cond + " " + arg(v)) }
	if q.UserID != "" {
		where("user_id =", q.UserID)
	}
	if q.GroupID != "" {
		where("group_id =", q.GroupID)
	}
	if q.SKUID != "" {
		where("sku_id =", q.SKUID)
	}
	for _, f := range [...][2]string{{"action", q.Activity}, {"actor", q.Actor}} {
		col, name := f[0], f[1]
		if name == "" {
			continue
		}
		names := audit.Aliases(name)
		if d.AnyOf {
			b.WriteString(" AND " + col + " = ANY(" + arg(names) + ")")
			continue
		}
		ps := make([]string, len(names))
		for i, n := range names {
			ps[i] = arg(n)
		}
		b.WriteString(" AND " + col + " IN (" + strings.Join(ps, ",") + ")")
	}
	if !q.From.IsZero() {
		where("at >=", d.Instant(q.From))
	}
	if !q.To.IsZero() {
		where("at <", d.Instant(q.To))
	}
	if q.AfterSeq != 0 {
		where("seq >", q.AfterSeq)
	}
	if q.BeforeSeq != 0 {
		where("seq <", q.BeforeSeq)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	order := ""
	if q.Newest {
		order = " DESC"
	}
	b.WriteString(" ORDER BY seq" + order + " LIMIT " + arg(limit))
	return b.String(), args
}
