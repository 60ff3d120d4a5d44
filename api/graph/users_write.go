package graph

import (
	"allot/m365"
	"encoding/json"
	"errors"
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
	"allot/userprop"
)

// decodeObject reads a JSON object body keyed by lower-case property name
// (Graph matches property names case-insensitively). "@odata.*"
// annotations other than binds are dropped.
func decodeObject(r *http.Request) (map[string]json.RawMessage, map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := respond.Decode(r, &raw, 0, false); err != nil {
		return nil, nil, err
	}
	return normalizeObject(raw)
}

// normalizeObject keys a decoded body by lower-case property name and drops
// "@odata.*" annotations (decodeObject).
func normalizeObject(raw map[string]json.RawMessage) (map[string]json.RawMessage, map[string]string, error) {
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

// userReadOnly are the computed properties a client may not set (the
// registry's plain ones say so themselves: userprop.Property.ReadOnly).
var userReadOnly = map[string]bool{"assignedlicenses": true, "assignedplans": true,
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
		p, plain := userprop.Lookup(k)
		switch {
		case plain && !p.ReadOnly:
			if err := setProperty(u, p, v); err != nil {
				return invalidValue(name, "User")
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
		case userReadOnly[k] || plain:
			return readOnly(name)
		default:
			return noSuchProperty(name)
		}
	}
	return nil
}

// setProperty sets a registry property from its JSON value: a string (or
// null) for String properties, an RFC 3339 instant for Date ones (stored in
// UTC, seconds), true or false for Bool ones, an array of strings (or null)
// for Strings ones. A value of another shape is an error and changes
// nothing.
func setProperty(u *licensing.User, p *userprop.Property, v json.RawMessage) error {
	switch p.Type {
	case userprop.Bool:
		var b bool
		if err := json.Unmarshal(v, &b); err != nil || string(v) == "null" {
			return errBadValue
		}
		p.SetBool(u, b)
	case userprop.Strings:
		ss, ok := decodeStrs(v)
		if !ok {
			return errBadValue
		}
		p.SetStrings(u, ss)
	case userprop.String, userprop.Date:
		s, ok := decodeStr(v)
		if !ok {
			return errBadValue
		}
		if p.Type == userprop.Date && s != "" {
			t, err := parseTime(s)
			if err != nil {
				return errBadValue
			}
			s = t.UTC().Format(time.RFC3339)
		}
		p.Set(u, s)
	default:
		return errBadValue
	}
	return nil
}

var errBadValue = errors.New("not a value of the property's type")

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
