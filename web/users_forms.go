package web

import (
	"cmp"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"allot"
	"allot/auth"
	"allot/identity"
	"allot/licensing"
	"allot/tenant"
	"allot/userprop"
)

// The user forms: create a user (User Administrators, as POST /v1.0/users)
// and edit one (as PATCH /v1.0/users/{id}: User Administrators change
// everything, License Administrators only the usage location). Both write
// through identity.PutUser.

// userInputs are the form's inputs: the user-property registry's
// properties with a form input (userprop.Property.Form), in form order,
// named as the Graph properties.
var userInputs = func() []*userprop.Property {
	var ps []*userprop.Property
	for i := range userprop.Users {
		if userprop.Users[i].Form != nil {
			ps = append(ps, &userprop.Users[i])
		}
	}
	slices.SortStableFunc(ps, func(a, b *userprop.Property) int { return cmp.Compare(a.Form.Order, b.Form.Order) })
	return ps
}()

// userFormFields are the names of the form's inputs.
var userFormFields = func() []string {
	names := make([]string, len(userInputs))
	for i, p := range userInputs {
		names[i] = p.Name
	}
	return names
}()

// userRequired are the inputs the form refuses empty.
var userRequired = func() []string {
	var names []string
	for _, p := range userInputs {
		if p.Form.Required {
			names = append(names, p.Name)
		}
	}
	return names
}()

type userFormData struct {
	F    *formState
	User *licensing.User // nil: a new user
	// OnlyLocation: the viewer may change the usage location only.
	OnlyLocation bool
	Domains      []string
	// Fields are the text inputs and Checks the checkboxes, in form order
	// (inputs).
	Fields, Checks []fieldView
}

// inputs builds the form's inputs from the registry: each disabled for a
// viewer who may change the usage location only (but that one), and the
// userPrincipalName's offering the tenant's domains.
func (d *userFormData) inputs() {
	for _, p := range userInputs {
		var opts []string
		if p.Form.Required {
			opts = append(opts, "required")
		}
		if m := p.FormMax(); m > 0 {
			opts = append(opts, "max="+strconv.Itoa(m))
		}
		if d.OnlyLocation && p.Name != "usageLocation" {
			opts = append(opts, "disabled")
		}
		help := p.Form.Help
		if p.Name == "userPrincipalName" {
			opts = append(opts, "list=domains")
			help = "alias@domain, with one of the tenant's domains: " + strings.Join(d.Domains, ", ")
		}
		if help != "" {
			opts = append(opts, "help="+help)
		}
		fv := field(d.F, p.Name, p.Form.Label, opts...)
		if p.Type == userprop.Bool {
			d.Checks = append(d.Checks, fv)
		} else {
			d.Fields = append(d.Fields, fv)
		}
	}
}

// userFormOf fills a form from a stored user (a checkbox is "on" when set).
func userFormOf(u licensing.User) *formState {
	f := &formState{Values: map[string]string{}}
	for _, p := range userInputs {
		switch {
		case p.Type != userprop.Bool:
			f.Values[p.Name] = p.Get(&u)
		case p.GetBool(&u):
			f.Values[p.Name] = "on"
		}
	}
	return f
}

// applyUserForm sets u's properties from the form, as Graph's create and
// update bodies set them (a code such as the usageLocation without blanks
// and in upper case; an empty attribute such as mailNickname removed).
func applyUserForm(u *licensing.User, f *formState) {
	u.Attributes = maps.Clone(u.Attributes)
	for _, p := range userInputs {
		v := f.V(p.Name)
		switch {
		case p.Type == userprop.Bool:
			p.SetBool(u, v == "on")
		case p.Upper:
			p.Set(u, strings.TrimSpace(v))
		default:
			p.Set(u, v)
		}
	}
}

func (h *handler) renderUserForm(w http.ResponseWriter, r *http.Request, v *viewer, status int, d userFormData) {
	v.T.Read(func(s *tenant.State) { d.Domains = identity.DomainNames(s) })
	d.inputs()
	name := ""
	if d.User != nil {
		name = d.User.DisplayName
	}
	h.render(w, r, v, status, "userform", pageData{Title: formTitle("user", name, d.User != nil), Nav: "users", Data: d})
}

// newUserPage shows the empty form, the account enabled.
func (h *handler) newUserPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	h.renderUserForm(w, r, v, http.StatusOK, userFormData{F: &formState{Values: map[string]string{"accountEnabled": "on"}}})
}

// createUser creates a user from the form; the properties Graph requires
// (accountEnabled is the checkbox) must be filled in.
func (h *handler) createUser(w http.ResponseWriter, r *http.Request, v *viewer) {
	f := formOf(r, userFormFields...)
	now := h.now()
	u := licensing.User{ID: auth.NewID(), CreatedAt: now}
	applyUserForm(&u, f)
	err := func() error {
		if err := f.requireFilled(userRequired...); err != nil {
			return err
		}
		return v.T.Do(r.Context(), v.op(now, "admin center"), func(tx *tenant.Tx) error { return identity.PutUser(tx, u) })
	}()
	if err != nil {
		h.renderUserForm(w, r, v, f.refuse(err, userFormFields...), userFormData{F: f})
		return
	}
	h.done(w, r, "/admin/users/"+u.ID, nil, "User "+u.UserPrincipalName+" created.")
}

// editUserPage shows a user's form; a License Administrator gets the usage
// location only.
func (h *handler) editUserPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	var u licensing.User
	found := false
	v.T.Read(func(s *tenant.State) { u, found = findUser(s.Engine, r.PathValue("id")) })
	if !found {
		h.notFound(w, r, v)
		return
	}
	h.renderUserForm(w, r, v, http.StatusOK, userFormData{F: userFormOf(u), User: &u, OnlyLocation: !v.can(auth.WriteUsers)})
}

// updateUser saves the form. Without WriteUsers, a change of anything but
// the usage location is refused (403), as Graph's PATCH refuses it.
func (h *handler) updateUser(w http.ResponseWriter, r *http.Request, v *viewer) {
	f := formOf(r, userFormFields...)
	ref := r.PathValue("id")
	var shown licensing.User
	err := v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
		u, ok := findUser(tx.Engine, ref)
		if !ok {
			return notFoundErr("User %s does not exist.", ref)
		}
		shown = u
		next := u
		if v.can(auth.WriteUsers) {
			applyUserForm(&next, f)
		} else {
			stored := userFormOf(u)
			for _, k := range userFormFields {
				if _, sent := r.PostForm[k]; sent && k != "usageLocation" && f.V(k) != stored.V(k) {
					return allot.NewError(allot.EFORBIDDEN, "Your role may change a user's usage location only; changing "+k+" needs a User Administrator.")
				}
			}
			next.UsageLocation = strings.ToUpper(strings.TrimSpace(f.V("usageLocation")))
		}
		return identity.PutUser(tx, next)
	})
	if allot.ErrorCode(err) == allot.ENOTFOUND && shown.ID == "" {
		h.notFound(w, r, v)
		return
	}
	if err != nil {
		if !v.can(auth.WriteUsers) {
			// Only the usage location was sent on; show the rest as stored.
			loc := f.V("usageLocation")
			f = userFormOf(shown)
			f.Values["usageLocation"] = loc
		}
		h.renderUserForm(w, r, v, f.refuse(err, userFormFields...), userFormData{F: f, User: &shown, OnlyLocation: !v.can(auth.WriteUsers)})
		return
	}
	h.done(w, r, "/admin/users/"+shown.ID, nil, "User saved.")
}
