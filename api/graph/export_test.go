package graph

import "encoding/base64"

// RouteDocs exposes the route table's descriptions to the external tests.
func RouteDocs() []struct {
	Method, Path string
	Body, Resp   any
} {
	out := make([]struct {
		Method, Path string
		Body, Resp   any
	}, len(routes))
	for i, r := range routes {
		out[i].Method, out[i].Path, out[i].Body, out[i].Resp = r.Method, r.Path, r.Body, r.Resp
	}
	return out
}

// SchemaNames exposes graphSchemaNames.
func SchemaNames() []string { return graphSchemaNames() }

// ResourceProps are the names of the properties of Graph's user and group
// as rendered.
func ResourceProps() (user, group []string) {
	for _, p := range userResource.props {
		user = append(user, p.name)
	}
	for _, p := range groupResource.props {
		group = append(group, p.name)
	}
	return user, group
}

// SetDeltaMembersPage sets the members@delta entries per page until the
// test ends.
func SetDeltaMembersPage(t interface{ Cleanup(func()) }, n int) {
	old := deltaMembersPage
	deltaMembersPage = n
	t.Cleanup(func() { deltaMembersPage = old })
}

// SetDeltaFastPath turns the directory index's fast path of delta rounds
// on or off until the test ends (off: every changes round is rebuilt from
// the change log, as after a restart).
func SetDeltaFastPath(t interface{ Cleanup(func()) }, on bool) {
	old := deltaFastPath
	deltaFastPath = on
	t.Cleanup(func() { deltaFastPath = old })
}

// DeltaTokenFields is what a delta token holds, for tests that make their
// own (EncodeDeltaToken).
type DeltaTokenFields struct {
	Kind, Phase                byte
	Log, Epoch, Idx, CursorSeq uint64
	CursorID, MemberAfter      string
	Select                     []string
}

// EncodeDeltaToken encodes a token of the tenant with the given fields
// (valid or not).
func EncodeDeltaToken(tenantID string, f DeltaTokenFields) string {
	t := deltaToken{kind: f.Kind, phase: f.Phase, log: f.Log, epoch: f.Epoch, idx: f.Idx,
		curSeq: f.CursorSeq, curID: f.CursorID, memAfter: f.MemberAfter, sel: f.Select}
	return t.encode(tenantID)
}

// DeltaTokenV1 is a token as the first version wrote it (bound to the
// process that issued it).
func DeltaTokenV1(kind byte, sel string) string {
	b := []byte{1, kind, 'l'}
	b = append(b, make([]byte, 32)...)
	b = append(b, 0, byte(len(sel)))
	b = append(b, sel...)
	b = append(b, 1)
	b = append(b, make([]byte, 16)...)
	return base64.RawURLEncoding.EncodeToString(b)
}
