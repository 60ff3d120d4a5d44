package licensing

// UserView is a read-only view of one user's records in the engine: the
// user, its license records, its direct licenses and the groups it is a
// direct member of. It shares the engine's memory: use it only inside the
// ForEachUserView callback and never modify what it returns.
type UserView struct{ u *user }

// User is the user (the engine's own record).
func (v UserView) User() *User { return v.u.User }

// Licenses are the user's license records (UserLicenses).
func (v UserView) Licenses() UserLicenses { return UserLicenses{v.u.licenses} }

// DirectLicenses are the user's direct licenses, sorted by SKU id (as
// Engine.DirectLicenses).
func (v UserView) DirectLicenses() []LicenseSource { return v.u.direct }

// GroupCount is the number of groups the user is a direct member of.
func (v UserView) GroupCount() int { return len(v.u.groups) }

// GroupID is the id of the i-th of them (0 <= i < GroupCount()), in no
// particular order.
func (v UserView) GroupID(i int) string { return v.u.groups[i].ID }

// ForEachUserView calls fn with a view of every user in the engine's
// internal order, without copying anything, until fn returns false: a walk
// over all of a user's records that makes no lookup by id. Safe for
// concurrent readers of an engine that is not being changed.
func (e *Engine) ForEachUserView(fn func(v UserView) bool) {
	for _, u := range e.all {
		if !fn(UserView{u}) {
			return
		}
	}
}
