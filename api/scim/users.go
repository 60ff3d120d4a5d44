package scim

import (
	"slices"
	"strings"
	"time"

	"allot/identity"
	"allot/licensing"
	"allot/scimmeta"
	"allot/tenant"
	"allot/userprop"
)

// The mapping between the SCIM User (core, enterprise and allot
// extensions) and allot's directory user. Attributes that Graph has a
// property for land there; SCIM-only attributes are kept in
// User.Attributes under "scim:" keys so that what an identity provider
// sends comes back unchanged:
//
//	SCIM                                       directory user
//	userName                                   userPrincipalName (see setUserName)
//	name.givenName, name.familyName            givenName, surname
//	displayName, title, active                 displayName, jobTitle, accountEnabled
//	userType Member|Guest (other values kept)  userType
//	emails: work, else primary, else first     mail; the others otherMails
//	phoneNumbers work, mobile, fax             Attributes businessphones, mobilephone, faxnumber
//	addresses[work] streetAddress, locality,   Attributes streetaddress, city,
//	  region, postalCode, country              Attributes state, postalcode, country
//	preferredLanguage, externalId              Attributes preferredlanguage, externalid
//	enterprise employeeNumber, organization,   employeeId, companyName, department,
//	  department, manager.value                Attributes manager
//	allot usageLocation                        usageLocation (see userFromDoc)
//	name.formatted, nickName, locale, ...      Attributes "scim:..."
//
// Multi-valued attributes keep one value per type (the first).

// Keys of User.Attributes that SCIM writes. Graph property names are
// lower case, as User.Attributes documents.
const (
	keyExternalID = scimmeta.ExternalIDAttribute
	keyManager    = "manager"
	keyScim       = "scim:"
	keyPhone      = "scim:phone."   // + type, for types without a Graph property
	keyAddress    = "scim:address." // + type + "." + lower(sub-attribute)
)

// userField is a string attribute (or sub-attribute) of a SCIM user and
// where the directory user keeps it.
type userField struct {
	ext, attr, sub string
	get            func(u *licensing.User) string
	set            func(u *licensing.User, v string)
}

func stored(ext, attr, sub, key string) userField {
	return userField{ext, attr, sub, func(u *licensing.User) string { return u.Attributes[key] }, func(u *licensing.User, v string) { setAttr(u, key, v) }}
}

func setAttr(u *licensing.User, key, v string) {
	if v == "" {
		delete(u.Attributes, key)
		return
	}
	if u.Attributes == nil {
		u.Attributes = map[string]string{}
	}
	u.Attributes[key] = v
}

// userFields are the string attributes of a SCIM user: the registry's
// plain mappings (package userprop, Property.SCIM) and the SCIM-only
// attributes kept under "scim:" keys.
var userFields = append([]userField{
	stored("", "externalId", "", keyExternalID),
	{"", "userName", "", userName, setUserName},
	stored("", "name", "formatted", "scim:name.formatted"),
	stored("", "name", "middleName", "scim:name.middlename"),
	stored("", "name", "honorificPrefix", "scim:name.honorificprefix"),
	stored("", "name", "honorificSuffix", "scim:name.honorificsuffix"),
	stored("", "nickName", "", "scim:nickname"),
	stored("", "profileUrl", "", "scim:profileurl"),
	stored("", "locale", "", "scim:locale"),
	stored("", "timezone", "", "scim:timezone"),
	stored(schemaEnterprise, "costCenter", "", "scim:costcenter"),
	stored(schemaEnterprise, "division", "", "scim:division"),
	stored(schemaEnterprise, "manager", "value", keyManager),
}, registryFields()...)

// registryFields are the user properties the registry maps to a SCIM
// attribute.
func registryFields() []userField {
	var out []userField
	for i := range userprop.Users {
		p := &userprop.Users[i]
		if p.SCIM.Attr == "" || p.SCIM.Type != "" {
			continue
		}
		out = append(out, userField{p.SCIM.Ext, p.SCIM.Attr, p.SCIM.Sub, p.Get, p.Set})
	}
	return out
}

// keyUserName keeps a userName sent without a domain, as sent.
const keyUserName = "scim:username"

// userName is the user's SCIM userName: as the identity provider sent it
// when it had no domain, else the userPrincipalName.
func userName(u *licensing.User) string {
	if n := u.Attributes[keyUserName]; n != "" {
		return n
	}
	return u.UserPrincipalName
}

// setUserName sets the userPrincipalName from a SCIM userName. Identity
// providers (Okta, Microsoft's SCIM validator) may send names without a
// domain: such a name is kept as sent (keyUserName) and the command gives
// the userPrincipalName the tenant's default domain (qualify), so that
// "jdoe" becomes jdoe@<default domain> and reads back as "jdoe".
func setUserName(u *licensing.User, v string) {
	u.UserPrincipalName = v
	if !strings.Contains(v, "@") {
		setAttr(u, keyUserName, v)
	}
}

// qualify completes a user built by userFromDoc inside the command: a
// userName without a domain gets the tenant's default domain, unless the
// user already has that name (so that a later change of the default
// domain renames nobody).
func qualify(s *tenant.State, u licensing.User) licensing.User {
	if strings.Contains(u.UserPrincipalName, "@") {
		return u
	}
	if cur, ok := s.Engine.User(u.ID); ok && cur.Attributes[keyUserName] == u.UserPrincipalName &&
		strings.EqualFold(strings.SplitN(cur.UserPrincipalName, "@", 2)[0], u.UserPrincipalName) {
		u.UserPrincipalName = cur.UserPrincipalName
		return u
	}
	u.UserPrincipalName = identity.Qualify(s, u.UserPrincipalName)
	return u
}

// phoneKeys: phone types kept in Graph properties.
var phoneKeys = map[string]string{"work": "businessphones", "mobile": "mobilephone", "fax": "faxnumber"}

// workAddress: sub-attributes of the work address kept in user properties
// (the registry's, Property.SCIM with Type "work"); the others go to
// keyAddress+"work."+sub.
var workAddress = func() map[string]userField {
	m := map[string]userField{}
	for i := range userprop.Users {
		if p := &userprop.Users[i]; p.SCIM.Attr == "addresses" && p.SCIM.Type == "work" {
			m[p.SCIM.Sub] = userField{"", "addresses", p.SCIM.Sub, p.Get, p.Set}
		}
	}
	return m
}()

// managedKey reports whether SCIM owns a User.Attributes key (a PUT
// clears it when absent).
func managedKey(k string) bool {
	switch k {
	case keyExternalID, keyManager, "businessphones", "mobilephone", "faxnumber":
		return true
	}
	if p, ok := userprop.Lookup(k); ok && p.Attribute && p.SCIM.Attr != "" {
		return true // preferredLanguage, the work address's
	}
	return strings.HasPrefix(k, keyScim)
}

// userView renders a user lazily: each top-level key on demand, so that
// filters render only what they read.
type userView struct {
	s    *tenant.State
	u    *licensing.User
	base string // the /scim/v2 URL, for $ref and meta.location
	meta *scimmeta.Store
}

// userKeys are the top-level keys of a rendered user, in order.
var userKeys = []string{"id", "externalId", "userName", "name", "displayName", "nickName", "profileUrl", "title", "userType",
	"preferredLanguage", "locale", "timezone", "active", "emails", "phoneNumbers", "addresses", "groups", schemaEnterprise, schemaAllot}

func (v *userView) get(key string) any {
	u := v.u
	switch key {
	case "id":
		return u.ID
	case "userType":
		if t := u.Attributes["scim:usertype"]; t != "" {
			return t
		}
		return u.UserType
	case "active":
		return u.AccountEnabled
	case "emails":
		return userEmails(u)
	case "phoneNumbers":
		return userPhones(u)
	case "addresses":
		return userAddresses(u)
	case "groups":
		return v.groups()
	case schemaAllot:
		if u.UsageLocation == "" {
			return nil
		}
		return map[string]any{"usageLocation": u.UsageLocation}
	case "meta":
		return v.metaValue("")
	}
	ext := ""
	if key == schemaEnterprise {
		ext = key
	}
	out := map[string]any{}
	for _, f := range userFields {
		if f.ext != ext || (ext == "" && f.attr != key) {
			continue
		}
		val := f.get(u)
		if val == "" {
			continue
		}
		switch {
		case ext == "" && f.sub == "":
			return val
		case ext == "":
			out[f.sub] = val
		case f.attr == "manager":
			m := map[string]any{"value": val, "$ref": v.base + "/Users/" + val}
			if mu, ok := v.s.Engine.User(val); ok && mu.DisplayName != "" {
				m["displayName"] = mu.DisplayName
			}
			out["manager"] = m
		default:
			out[f.attr] = val
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (v *userView) groups() any {
	ids := v.s.Engine.GroupsOf(v.u.ID)
	if len(ids) == 0 {
		return nil
	}
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		g, _ := v.s.Engine.Group(id)
		out = append(out, map[string]any{"value": id, "$ref": v.base + "/Groups/" + id, "display": g.DisplayName, "type": "direct"})
	}
	return out
}

// metaValue is the user's meta; version is filled in when known.
func (v *userView) metaValue(version string) map[string]any {
	m := map[string]any{"resourceType": "User", "created": v.u.CreatedAt.UTC().Format(time.RFC3339Nano),
		"lastModified": v.meta.LastModified(scimmeta.UserKind, v.u.ID, v.u.CreatedAt).UTC().Format(time.RFC3339Nano),
		"location":     v.base + "/Users/" + v.u.ID}
	if version != "" {
		m["version"] = version
	}
	return m
}

// doc renders the whole user without meta.
func (v *userView) doc() doc {
	d := doc{}
	for _, k := range userKeys {
		if x := v.get(k); present(x) {
			d[k] = x
		}
	}
	d["schemas"] = schemasOf(d, schemaUser, schemaEnterprise, schemaAllot)
	return d
}

// schemasOf lists the core schema and the extensions present in d.
func schemasOf(d doc, core string, exts ...string) []any {
	out := []any{core}
	for _, e := range exts {
		if _, ok := d[e]; ok {
			out = append(out, e)
		}
	}
	return out
}

func userEmails(u *licensing.User) any {
	var out []any
	if u.Mail() != "" {
		out = append(out, map[string]any{"value": u.Mail(), "type": "work", "primary": true})
	}
	for _, m := range u.OtherMails() {
		out = append(out, map[string]any{"value": m, "type": "other"})
	}
	if out == nil {
		return nil
	}
	return out
}

func userPhones(u *licensing.User) any {
	var out []any
	for _, t := range []string{"work", "mobile", "fax"} {
		if n := u.Attributes[phoneKeys[t]]; n != "" {
			out = append(out, map[string]any{"value": n, "type": t})
		}
	}
	for _, k := range sortedKeys(u.Attributes, keyPhone) {
		out = append(out, map[string]any{"value": u.Attributes[k], "type": strings.TrimPrefix(k, keyPhone)})
	}
	if out == nil {
		return nil
	}
	return out
}

func userAddresses(u *licensing.User) any {
	byType := map[string]map[string]any{}
	var types []string
	add := func(typ, sub, val string) {
		if val == "" {
			return
		}
		m := byType[typ]
		if m == nil {
			m = map[string]any{"type": typ}
			byType[typ] = m
			types = append(types, typ)
		}
		m[sub] = val
	}
	for _, sub := range []string{"streetAddress", "locality", "region", "postalCode", "country"} {
		add("work", sub, workAddress[sub].get(u))
	}
	for _, k := range sortedKeys(u.Attributes, keyAddress) {
		typ, sub, _ := strings.Cut(strings.TrimPrefix(k, keyAddress), ".")
		if a := find(userSchema.Attributes, "addresses").sub(sub); a != nil {
			add(typ, a.Name, u.Attributes[k])
		}
	}
	if types == nil {
		return nil
	}
	out := make([]any, 0, len(types))
	for _, t := range types {
		out = append(out, byType[t])
	}
	return out
}

func sortedKeys(m map[string]string, prefix string) []string {
	var ks []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}
