package graph

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
