package web

import (
	"maps"
	"net/http"
	"strings"

	"allot"
	"allot/auth"
	"allot/identity"
	"allot/licensing"
	"allot/tenant"
)

// The user forms: create a user (User Administrators, as POST /v1.0/users)
// and edit one (as PATCH /v1.0/users/{id}: User Administrators change
// everything, License Administrators only the usage location). Both write
// through identity.PutUser.

// userFormFields are the form's inputs, named as the Graph properties.
var userFormFields = []string{"displayName", "userPrincipalName", "mailNickname", "givenName", "surname", "jobTitle", "department",
	"companyName", "city", "country", "usageLocation", "accountEnabled"}

type userFormData struct {
	F    *formState
	User *licensing.User // nil: a new user
	// OnlyLocation: the viewer may change the usage location only.
	OnlyLocation bool
	Domains      []string
}

// userFormOf fills a form from a stored user.
func userFormOf(u licensing.User) *formState {
	f := &formState{Values: map[string]string{
		"displayName": u.DisplayName, "userPrincipalName": u.UserPrincipalName, "mailNickname": u.Attributes["mailnickname"],
		"givenName": u.GivenName, "surname": u.Surname, "jobTitle": u.JobTitle, "department": u.Department, "companyName": u.CompanyName,
		"city": u.City, "country": u.Country, "usageLocation": u.UsageLocation}}
	if u.AccountEnabled {
		f.Values["accountEnabled"] = "on"
	}
	return f
}

// applyUserForm sets u's properties from the form, as Graph's create and
// update bodies set them (usageLocation in upper case; an empty
// mailNickname removes it).
func applyUserForm(u *licensing.User, f *formState) {
	u.DisplayName = f.V("displayName")
	u.UserPrincipalName = f.V("userPrincipalName")
	u.GivenName, u.Surname, u.JobTitle = f.V("givenName"), f.V("surname"), f.V("jobTitle")
	u.Department, u.CompanyName, u.City, u.Country = f.V("department"), f.V("companyName"), f.V("city"), f.V("country")
	u.UsageLocation = strings.ToUpper(strings.TrimSpace(f.V("usageLocation")))
	u.AccountEnabled = f.V("accountEnabled") == "on"
	u.Attributes = maps.Clone(u.Attributes)
	if nick := f.V("mailNickname"); nick != "" {
		if u.Attributes == nil {
			u.Attributes = map[string]string{}
		}
		u.Attributes["mailnickname"] = nick
	} else {
		delete(u.Attributes, "mailnickname")
	}
}

func (h *handler) renderUserForm(w http.ResponseWriter, r *http.Request, v *viewer, status int, d userFormData) {
	v.T.Read(func(s *tenant.State) { d.Domains = identity.DomainNames(s) })
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
		if err := f.requireFilled("displayName", "userPrincipalName", "mailNickname"); err != nil {
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
