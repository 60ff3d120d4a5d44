package scim

import (
	"maps"
	"slices"
	"strings"

	"allot/licensing"
	"allot/userprop"
)

// userFromDoc builds the directory user a SCIM representation describes,
// starting from base (the existing user, or one with only an id): every
// attribute SCIM maps is replaced by the doc's value or cleared, everything
// else of base is kept (licenses, kind, proxyAddresses, Graph-only
// attributes). Decisions: an absent "active" keeps base's value (true for
// a new user); userType Member or Guest (any case) sets the directory
// userType, other values are kept as given without changing it; the
// usage location changes only when the allot extension gives one, or when
// the user has none and the work address's country is a two-letter code.
func userFromDoc(d doc, base licensing.User) (licensing.User, error) {
	u := base
	u.Attributes = maps.Clone(base.Attributes)
	for k := range u.Attributes {
		if managedKey(k) {
			delete(u.Attributes, k)
		}
	}
	for _, f := range userFields {
		f.set(&u, docString(d, f.ext, f.attr, f.sub))
	}
	if strings.TrimSpace(u.UserPrincipalName) == "" {
		return licensing.User{}, badRequest(typeInvalidValue, "userName is required.")
	}
	if b, ok := d["active"].(bool); ok {
		u.AccountEnabled = b
	}
	switch t, _ := d["userType"].(string); {
	case strings.EqualFold(t, "Member"):
		u.UserType = "Member"
	case strings.EqualFold(t, "Guest"):
		u.UserType = "Guest"
	case t != "":
		setAttr(&u, "scim:usertype", t)
	}
	emailsToUser(&u, d["emails"])
	phonesToUser(&u, d["phoneNumbers"])
	addressesToUser(&u, d["addresses"])
	if loc := docString(d, schemaAllot, "usageLocation", ""); loc != "" {
		u.UsageLocation = strings.ToUpper(strings.TrimSpace(loc))
	} else if u.UsageLocation == "" && len(u.Country()) == 2 && licensing.ValidUsageLocation(strings.ToUpper(u.Country())) {
		u.UsageLocation = strings.ToUpper(u.Country())
	}
	if len(u.Attributes) == 0 {
		u.Attributes = nil
	}
	return u, nil
}

// docString returns a string attribute of a doc ("" when absent).
func docString(d doc, ext, attr, sub string) string {
	c := map[string]any(d)
	if ext != "" {
		c, _ = d[ext].(map[string]any)
	}
	v := c[attr]
	if sub != "" {
		m, _ := v.(map[string]any)
		v = m[sub]
	}
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

// typed returns the elements of a multi-valued attribute by lower-case
// type, first of each type wins; untyped elements count as def.
func typed(v any, def string) (map[string]map[string]any, []string) {
	arr, _ := v.([]any)
	out := map[string]map[string]any{}
	var order []string
	for _, x := range arr {
		m, ok := x.(map[string]any)
		if !ok {
			continue
		}
		t, _ := m["type"].(string)
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			t = def
		}
		if _, dup := out[t]; !dup && validName(t) {
			out[t] = m
			order = append(order, t)
		}
	}
	return out, order
}

// emailsToUser: the work address (else the primary one, else the first)
// is the mail; the others are otherMails.
func emailsToUser(u *licensing.User, v any) {
	u.SetText(userprop.Mail, "")
	u.SetOtherMails(nil)
	arr, _ := v.([]any)
	pick := -1
	for i, x := range arr {
		m, _ := x.(map[string]any)
		if t, _ := m["type"].(string); strings.EqualFold(t, "work") {
			pick = i
			break
		}
	}
	for i, x := range arr {
		if m, _ := x.(map[string]any); pick < 0 && m["primary"] == true {
			pick = i
		}
	}
	if pick < 0 && len(arr) > 0 {
		pick = 0
	}
	for i, x := range arr {
		m, _ := x.(map[string]any)
		val, _ := m["value"].(string)
		val = strings.TrimSpace(val)
		switch {
		case val == "":
		case i == pick:
			u.SetText(userprop.Mail, val)
		case !slices.Contains(u.OtherMails(), val):
			u.SetOtherMails(append(slices.Clip(u.OtherMails()), val)) // the list may be shared
		}
	}
}

func phonesToUser(u *licensing.User, v any) {
	byType, order := typed(v, "work")
	for _, t := range order {
		val, _ := byType[t]["value"].(string)
		key := phoneKeys[t]
		if key == "" {
			key = keyPhone + t
		}
		setAttr(u, key, strings.TrimSpace(val))
	}
}

func addressesToUser(u *licensing.User, v any) {
	for _, f := range workAddress {
		f.set(u, "")
	}
	byType, order := typed(v, "work")
	for _, t := range order {
		for k, x := range byType[t] {
			val, _ := x.(string)
			val = strings.TrimSpace(val)
			if k == "type" || k == "primary" || val == "" {
				continue
			}
			if f, ok := workAddress[k]; ok && t == "work" {
				f.set(u, val)
				continue
			}
			setAttr(u, keyAddress+t+"."+strings.ToLower(k), val)
		}
	}
}
