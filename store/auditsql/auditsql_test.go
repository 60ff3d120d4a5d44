package auditsql_test

import (
	"reflect"
	"testing"
	"time"

	"allot/audit"
	"allot/store/auditsql"
)

func TestBuildInEachDialect(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	q := audit.Query{TenantID: "t", UserID: "u", Actor: "someone", From: at, AfterSeq: 7, Newest: true}
	instant := func(t time.Time) any { return t.Unix() }
	sql, args := auditsql.Build(auditsql.Dialect{Instant: instant}, q)
	names := audit.Aliases("someone")
	want := `SELECT ` + auditsql.Columns + ` FROM audit WHERE tenant_id = ? AND user_id = ? AND actor IN (?` + repeat(",?", len(names)-1) +
		`) AND at >= ? AND seq > ? ORDER BY seq DESC LIMIT ?`
	wantArgs := []any{"t", "u"}
	for _, n := range names {
		wantArgs = append(wantArgs, n)
	}
	wantArgs = append(wantArgs, at.Unix(), int64(7), auditsql.DefaultLimit)
	if sql != want || !reflect.DeepEqual(args, wantArgs) {
		t.Fatalf("SQLite:\n%s %v\nwant\n%s %v", sql, args, want, wantArgs)
	}
	sql, args = auditsql.Build(auditsql.Dialect{Numbered: true, AnyOf: true, Instant: instant}, audit.Query{TenantID: "t", Actor: "someone", Limit: 5})
	want = `SELECT ` + auditsql.Columns + ` FROM audit WHERE tenant_id = $1 AND actor = ANY($2) ORDER BY seq LIMIT $3`
	if sql != want || !reflect.DeepEqual(args, []any{"t", names, 5}) {
		t.Fatalf("PostgreSQL:\n%s %v\nwant\n%s", sql, args, want)
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}
