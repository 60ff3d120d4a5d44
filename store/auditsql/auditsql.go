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
	a := &Args{d: d}
	where := Where(a, q, "")
	return `SELECT ` + Columns + ` FROM audit WHERE ` + where + Order(q, "") + ` LIMIT ` + a.Add(Limit(q)), a.List()
}

// Args collects the arguments of one statement, numbering its
// placeholders as the dialect does.
type Args struct {
	d    Dialect
	list []any
}

// NewArgs starts the arguments of a statement in dialect d.
func NewArgs(d Dialect) *Args { return &Args{d: d} }

// Add appends v and returns its placeholder.
func (a *Args) Add(v any) string {
	a.list = append(a.list, v)
	if a.d.Numbered {
		return fmt.Sprintf("$%d", len(a.list))
	}
	return "?"
}

// List is the arguments in placeholder order.
func (a *Args) List() []any { return a.list }

// Where returns q's conditions, joined by AND, on the columns of the audit
// table named alias ("" for none): the tenant first, then every filter
// that is set.
func Where(a *Args, q audit.Query, alias string) string {
	col := func(c string) string {
		if alias == "" {
			return c
		}
		return alias + "." + c
	}
	var b strings.Builder
	b.WriteString(col("tenant_id") + " = " + a.Add(q.TenantID))
	where := func(cond string, v any) { b.WriteString(" AND " + col(cond) + " " + a.Add(v)) }
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
		c, name := col(f[0]), f[1]
		if name == "" {
			continue
		}
		names := audit.Aliases(name)
		if a.d.AnyOf {
			b.WriteString(" AND " + c + " = ANY(" + a.Add(names) + ")")
			continue
		}
		ps := make([]string, len(names))
		for i, n := range names {
			ps[i] = a.Add(n)
		}
		b.WriteString(" AND " + c + " IN (" + strings.Join(ps, ",") + ")")
	}
	if !q.From.IsZero() {
		where("at >=", a.d.Instant(q.From))
	}
	if !q.To.IsZero() {
		where("at <", a.d.Instant(q.To))
	}
	if q.AfterSeq != 0 {
		where("seq >", q.AfterSeq)
	}
	if q.BeforeSeq != 0 {
		where("seq <", q.BeforeSeq)
	}
	return b.String()
}

// Order is q's ORDER BY clause on alias's seq (with a leading space).
func Order(q audit.Query, alias string) string {
	c := "seq"
	if alias != "" {
		c = alias + ".seq"
	}
	if q.Newest {
		return " ORDER BY " + c + " DESC"
	}
	return " ORDER BY " + c
}

// Limit is q's page size: q.Limit, or DefaultLimit when 0 or negative.
func Limit(q audit.Query) int {
	if q.Limit <= 0 {
		return DefaultLimit
	}
	return q.Limit
}
