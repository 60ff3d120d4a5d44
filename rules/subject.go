package rules

// Attributes is a Subject held in maps, for tests, rule previews and callers
// that keep users as attribute maps. Keys are lower-case property names
// without "user." ("department", "proxyaddresses"). A nil *Attributes is a
// user with no attributes.
type Attributes struct {
	Single map[string]string   // single-valued properties; "" is null
	Multi  map[string][]string // string collections
	Plans  []AssignedPlan      // user.assignedPlans
}

// Value implements Subject.
func (a *Attributes) Value(prop string) (string, bool) {
	if a == nil {
		return "", false
	}
	v, ok := a.Single[prop]
	return v, ok && v != ""
}

// Values implements Subject.
func (a *Attributes) Values(prop string) []string {
	if a == nil {
		return nil
	}
	return a.Multi[prop]
}

// AssignedPlans implements Subject.
func (a *Attributes) AssignedPlans() []AssignedPlan {
	if a == nil {
		return nil
	}
	return a.Plans
}
