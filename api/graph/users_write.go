package graph

import (
	"allot/m365"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"time"

	"allot/api/respond"
	"allot/auth"
	"allot/deleteditems"
	"allot/identity"
	"allot/licensing"
	"allot/tenant"
)

// decodeObject reads a JSON object body keyed by lower-case property name
// (Graph matches property names case-insensitively). "@odata.*"
// annotations other than binds are dropped.
func decodeObject(r *http.Request) (map[string]json.RawMessage, map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := respond.Decode(r, &raw, 0, false); err != nil {
		return nil, nil, err
	}
	if raw == nil {
		return nil, nil, badRequest("The request body must be a JSON object.")
	}
	out := make(map[string]json.RawMessage, len(raw))
	names := make(map[string]string, len(raw))
	for k, v := range raw {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "@odata.") {
			continue
		}
		out[lk] = v
		names[lk] = k
	}
	return out, names, nil
}

func invalidValue(prop, resource string) error {
	return badRequest("Invalid value specified for property '%s' of resource '%s'.", prop, resource)
}

func readOnly(prop string) error {
	return badRequest("Property '%s' is read-only and cannot be set.", prop)
}

func noSuchProperty(prop string) error {
	return badRequest("Property '%s' does not exist as a declared property or extension property.", prop)
}

func required(prop string) error {
	return badRequest("Property %s value is required but is empty or missing.", prop)
}

// str decodes a string or null ("" for null).
func decodeStr(v json.RawMessage) (string, bool) {
	if string(v) == "null" {
		return "", true
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

func decodeStrs(v json.RawMessage) ([]string, bool) {
	if string(v) == "null" {
		return nil, true
	}
	var ss []string
	if err := json.Unmarshal(v, &ss); err != nil {
		return nil, false
	}
	return ss, true
}

// userStringFields are the plain string properties a client may set.
var userStringFields = map[string]func(u *licensing.User) *string{
	"displayname":       func(u *licensing.User) *string { return &u.DisplayName },
	"userprincipalname": func(u *licensing.User) *string { return &u.UserPrincipalName },
	"givenname":         func(u *licensing.User) *string { return &u.GivenName },
	"surname":           func(u *licensing.User) *string { return &u.Surname },
	"jobtitle":          func(u *licensing.User) *string { return &u.JobTitle },
	"department":        func(u *licensing.User) *string { return &u.Department },
	"companyname":       func(u *licensing.User) *string { return &u.CompanyName },
	"country":           func(u *licensing.User) *string { return &u.Country },
	"city":              func(u *licensing.User) *string { return &u.City },
	"employeeid":        func(u *licensing.User) *string { return &u.EmployeeID },
	"employeehiredate":  func(u *licensing.User) *string { return &u.EmployeeHireDate },
	"mail":              func(u *licensing.User) *string { return &u.Mail },
	"usagelocation":     func(u *licensing.User) *string { return &u.UsageLocation },
	"usertype":          func(u *licensing.User) *string { return &u.UserType },
	"kind":              func(u *licensing.User) *string { return &u.Kind },
}

// userAttributeFields are Graph properties kept in User.Attributes.
var userAttributeFields = map[string]bool{"mailnickname": true, "mobilephone": true, "officelocation": true,
	"preferredlanguage": true, "state": true, "postalcode": true, "streetaddress": true, "employeetype": true}

var userReadOnly = map[string]bool{"id": true, "createddatetime": true, "assignedlicenses": true, "assignedplans": true,
	"licenseassignmentstates": true, "licensedetails": true}

// applyUser applies a create or update body to u. u.Attributes is cloned
// before any change (it may be shared with the engine's copy).
func applyUser(u *licensing.User, body map[string]json.RawMessage, names map[string]string) error {
	u.Attributes = maps.Clone(u.Attributes)
	setAttr := func(k, v string) {
		if v == "" {
			delete(u.Attributes, k)
			return
		}
		if u.Attributes == nil {
			u.Attributes = map[string]string{}
		}
		u.Attributes[k] = v
	}
	for k, v := range body {
		name := names[k]
		switch {
		case userStringFields[k] != nil:
			s, ok := decodeStr(v)
			if !ok {
				return invalidValue(name, "User")
			}
			if k == "usagelocation" {
				s = strings.ToUpper(s)
			}
			if k == "employeehiredate" && s != "" {
				t, err := parseTime(s)
				if err != nil {
					return invalidValue(name, "User")
				}
				s = t.UTC().Format(time.RFC3339)
			}
			*userStringFields[k](u) = s
		case userAttributeFields[k]:
			s, ok := decodeStr(v)
			if !ok {
				return invalidValue(name, "User")
			}
			setAttr(k, s)
		case k == "accountenabled":
			var b bool
			if err := json.Unmarshal(v, &b); err != nil || string(v) == "null" {
				return invalidValue(name, "User")
			}
			u.AccountEnabled = b
		case k == "proxyaddresses" || k == "othermails":
			ss, ok := decodeStrs(v)
			if !ok {
				return invalidValue(name, "User")
			}
			if k == "proxyaddresses" {
				u.ProxyAddresses = ss
			} else {
				u.OtherMails = ss
			}
		case k == "onpremisesextensionattributes":
			var ext map[string]*string
			if err := json.Unmarshal(v, &ext); err != nil {
				return invalidValue(name, "User")
			}
			for ek, ev := range ext {
				lk := strings.ToLower(ek)
				if strings.HasPrefix(lk, "@odata.") {
					continue
				}
				if !contains(lowerExtensionAttrNames, lk) {
					return noSuchProperty(ek)
				}
				s := ""
				if ev != nil {
					s = *ev
				}
				setAttr(lk, s)
			}
		case k == "passwordprofile" || k == "businessphones":
			// Accepted for compatibility: allot has no sign-in and keeps no
			// passwords or phone numbers.
		case userReadOnly[k]:
			return readOnly(name)
		default:
			return noSuchProperty(name)
		}
	}
	return nil
}

func (h *handler) createUser(w http.ResponseWriter, r *http.Request, c *call) {
	body, names, err := decodeObject(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	// Graph requires these; passwordProfile too, but allot keeps no
	// passwords, so it is accepted and not required.
	for _, p := range []string{"accountEnabled", "displayName", "mailNickname", "userPrincipalName"} {
		v, ok := body[strings.ToLower(p)]
		if !ok || string(v) == "null" || string(v) == `""` {
			fail(w, r, required(p))
			return
		}
	}
	now := h.s.RT.Now()
	u := licensing.User{ID: auth.NewID(), CreatedAt: now}
	if err := applyUser(&u, body, names); err != nil {
		fail(w, r, err)
		return
	}
	err = c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor(), Now: now}, func(tx *tenant.Tx) error {
		return identity.PutUser(tx, u)
	})
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Location", baseURL(r)+"/v1.0/users/"+u.ID)
	c.q = nil
	writeUser(w, r, c, u.ID, http.StatusCreated)
}

func (h *handler) updateUser(w http.ResponseWriter, r *http.Request, c *call) {
	body, names, err := decodeObject(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	if !c.allowed(auth.WriteUsers) {
		// A License Administrator may change the usage location only.
		for k := range body {
			if k != "usagelocation" {
				respond.Denied(w, r)
				return
			}
		}
	}
	ref := r.PathValue("id")
	err = c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor()}, func(tx *tenant.Tx) error {
		u, ok := findUser(tx.State, ref)
		if !ok {
			return notFound(ref)
		}
		if err := m365.CheckPatch(tx.State, "user", u.ID, names); err != nil {
			return err
		}
		if err := applyUser(&u, body, names); err != nil {
			return err
		}
		return identity.PutUser(tx, u)
	})
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request, c *call) {
	ref := r.PathValue("id")
	err := c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor()}, func(tx *tenant.Tx) error {
		u, ok := findUser(tx.State, ref)
		if !ok {
			return notFound(ref)
		}
		return deleteditems.DeleteUser(tx, u.ID)
	})
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
