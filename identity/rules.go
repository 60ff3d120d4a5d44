// Package identity holds the rules Microsoft Entra applies to directory
// objects' properties, in one place that every write path calls — Graph
// users and groups, SCIM, bundle and Graph-JSON imports, the admin center,
// cloudLicensing allotments and the partner API: the userPrincipalName's
// syntax, characters, length and domain (one of the tenant's verified
// domains, see domains.go), the documented length of each string property,
// ISO 3166 usage locations, and Unicode normalisation (NFC) so that two
// spellings of one name are one name.
//
// The rules apply to writes only: a property that a write leaves as stored
// is not checked again, so data stored by an earlier version keeps loading
// and keeps being editable in its other properties.
package identity

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"allot"
	"allot/licensing"
	"allot/userprop"
)

// Lengths, in characters, from Microsoft's documentation: the user name
// policies of Microsoft Entra ("Microsoft Entra password policies and
// account restrictions": 113 characters in all, 64 before the "@", 48
// after it) and the Microsoft Graph user and group resource types.
const (
	MaxUPN          = 113
	MaxUPNAlias     = 64
	MaxUPNDomain    = 48
	MaxDisplayName  = 256 // user and group displayName
	MaxMailNickname = 64
	MaxGivenName    = 64
	MaxSurname      = 64
	MaxJobTitle     = 128
	MaxDepartment   = 64
	MaxCompanyName  = 64
	MaxCity         = 128
	MaxCountry      = 128
	MaxEmployeeID   = 16
	MaxMail         = 256
	MaxDescription  = 1024 // group description
	// MaxAttribute bounds every other string property (Graph documents
	// 1,024 for the onPremisesExtensionAttributes and streetAddress).
	MaxAttribute = 1024
	// MaxValues bounds multi-valued properties (proxyAddresses, otherMails).
	MaxValues = 250
	// MaxAllotmentName bounds an allotment's displayName, like a group's.
	MaxAllotmentName = 256
	// MaxCompanyNameOfCustomer bounds a customer's company name.
	MaxCustomerName = 256
	// MaxDomainName is the longest domain name (RFC 1035: 253 characters
	// in text form); a UPN's domain is further bounded by MaxUPNDomain.
	MaxDomainName = 253
)

// Norm returns s in Unicode Normalization Form C: the composed spelling
// that Entra, browsers and most identity providers send, so that "é"
// typed as one code point or as "e" plus a combining accent is one name.
func Norm(s string) string { return norm.NFC.String(s) }

// invalid is the Graph message for a property value allot refuses,
// followed by the reason.
func invalid(prop, resource, why string) error {
	return allot.Errorf(allot.EINVALID, "Invalid value specified for property '%s' of resource '%s'. %s", prop, resource, why)
}

// checkText checks a free-text property: at most max characters, valid
// UTF-8 and no control characters other than tab and line breaks.
func checkText(prop, resource, s string, max int) error {
	if !utf8.ValidString(s) {
		return invalid(prop, resource, "It is not valid UTF-8.")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(prop, resource, fmt.Sprintf("It has %d characters; the most allowed is %d.", n, max))
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return invalid(prop, resource, fmt.Sprintf("It contains the control character U+%04X.", r))
		}
	}
	return nil
}

// aliasChar reports whether r may appear before the "@" of a
// userPrincipalName: A–Z, a–z, 0–9 and ' . - _ ! # ^ ~ (Entra's user
// name policies).
func aliasChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("'.-_!#^~", r)
}

const msgUPNInvalid = "Property userPrincipalName is invalid."

func upnInvalid(why string) error {
	return allot.Errorf(allot.EINVALID, "%s %s", msgUPNInvalid, why)
}

// CheckUPNSyntax checks a userPrincipalName against Entra's user name
// policies: alias@domain with exactly one "@"; the alias of 1 to 64
// characters from A–Z, a–z, 0–9 and ' . - _ ! # ^ ~, not starting or
// ending with a period; the domain DNS labels of at most 48 characters;
// 113 characters in all. It does not check that the domain is the
// tenant's (CheckUPN does; a tenant's domains have at least two labels).
func CheckUPNSyntax(upn string) error {
	alias, domain, ok := strings.Cut(upn, "@")
	switch {
	case strings.TrimSpace(upn) == "":
		return upnInvalid("A userPrincipalName is required.")
	case !ok || alias == "" || domain == "":
		return upnInvalid(fmt.Sprintf("%q is not of the form alias@domain.", clip(upn)))
	case strings.Contains(domain, "@"):
		return upnInvalid("It may contain only one \"@\", between the alias and the domain.")
	}
	if n := utf8.RuneCountInString(upn); n > MaxUPN {
		return upnInvalid(fmt.Sprintf("It has %d characters; the most allowed is %d.", n, MaxUPN))
	}
	if n := utf8.RuneCountInString(alias); n > MaxUPNAlias {
		return upnInvalid(fmt.Sprintf("The part before \"@\" has %d characters; the most allowed is %d.", n, MaxUPNAlias))
	}
	for _, r := range alias {
		if !aliasChar(r) {
			return upnInvalid(fmt.Sprintf("The part before \"@\" contains %q: only A-Z, a-z, 0-9 and ' . - _ ! # ^ ~ are allowed.", r))
		}
	}
	if strings.HasPrefix(alias, ".") || strings.HasSuffix(alias, ".") {
		return upnInvalid("The part before \"@\" may not start with a period or end with one.")
	}
	if n := utf8.RuneCountInString(domain); n > MaxUPNDomain {
		return upnInvalid(fmt.Sprintf("The domain has %d characters; the most allowed is %d.", n, MaxUPNDomain))
	}
	if err := checkLabels(domain, 1); err != nil {
		return upnInvalid(fmt.Sprintf("The domain %q is not a valid domain name.", clip(domain)))
	}
	return nil
}

// CheckDomainName checks a DNS domain name as a tenant's domain: at least
// two labels of letters, digits and hyphens (1 to 63 characters, no hyphen
// at either end), at most 253 characters.
func CheckDomainName(name string) error { return checkLabels(name, 2) }

// checkLabels checks a DNS name of at least min labels.
func checkLabels(name string, min int) error {
	bad := func(why string) error {
		return allot.Errorf(allot.EINVALID, "The domain name %q is invalid: %s", clip(name), why)
	}
	if name == "" {
		return bad("it is empty.")
	}
	if len(name) > MaxDomainName {
		return bad(fmt.Sprintf("it has more than %d characters.", MaxDomainName))
	}
	if strings.Count(name, ".")+1 < min {
		return bad("it needs at least two labels, such as contoso.com.")
	}
	for l := range strings.SplitSeq(name, ".") {
		if l == "" || len(l) > 63 {
			return bad("each label between periods has 1 to 63 characters.")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return bad("a label may not start or end with a hyphen.")
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return bad("only letters, digits, hyphens and periods are allowed.")
			}
		}
	}
	return nil
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= 80 {
		return s
	}
	return string([]rune(s)[:80]) + "…"
}

// UPNDomain returns the domain of a userPrincipalName in lower case ("" if
// it has none).
func UPNDomain(upn string) string {
	i := strings.LastIndexByte(upn, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(upn[i+1:])
}

// CheckUPN checks a userPrincipalName's syntax (CheckUPNSyntax) and that
// its domain is one of domains (the tenant's verified domains, lower
// case). A nil domains skips the domain check: a tenant stored by an
// earlier version without any domain accepts every domain until it has one.
func CheckUPN(upn string, domains []string) error {
	if err := CheckUPNSyntax(upn); err != nil {
		return err
	}
	if domains == nil {
		return nil
	}
	d := UPNDomain(upn)
	for _, v := range domains {
		if v == d {
			return nil
		}
	}
	return allot.Errorf(allot.EINVALID, "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization (%s); add the domain first (POST /v1.0/domains).", strings.Join(domains, ", "))
}

// CheckUsageLocation checks a usageLocation: empty, or an assigned ISO
// 3166-1 alpha-2 code in upper case.
func CheckUsageLocation(loc string) error {
	if loc == "" || IsCountry(loc) {
		return nil
	}
	return allot.Errorf(allot.EINVALID, "Invalid value specified for property 'usageLocation' of resource 'User'. %q is not an ISO 3166-1 alpha-2 country code.", clip(loc))
}

// userText is each bounded string property of a user with a field of its
// own: the registry's (package userprop, Property.Max).
var userText = func() []*userprop.Property {
	var out []*userprop.Property
	for i := range userprop.Users {
		if p := &userprop.Users[i]; p.Max > 0 && !p.Attribute {
			out = append(out, p)
		}
	}
	return out
}()

// attributeNames are the Graph spellings of User.Attributes keys, for
// messages.
// (the registry's Attribute properties, and the attributes SCIM keeps).
var attributeNames = map[string]string{"businessphones": "businessPhones", "faxnumber": "faxNumber", "externalid": "externalId"}

// AttributeName is the Graph spelling of a User.Attributes key
// ("mailnickname" → "mailNickname"): the column name exports write.
func AttributeName(key string) string { return attributeName(key) }

func attributeName(key string) string {
	if p, ok := userprop.Lookup(key); ok && p.Attribute {
		return p.Name
	}
	if n, ok := attributeNames[key]; ok {
		return n
	}
	if n, ok := strings.CutPrefix(key, "extensionattribute"); ok {
		return "extensionAttribute" + n
	}
	return key
}

// attributeMax is the bound of a property kept in User.Attributes.
func attributeMax(key string) int {
	if p, ok := userprop.Lookup(key); ok && p.Attribute && p.Max > 0 {
		return p.Max
	}
	return MaxAttribute
}

// CheckUser normalises and checks a user that is about to be written. old
// is the stored user (nil for a new one): a property equal to the stored
// value is left as it is and not checked, so that a stored value from an
// earlier version does not block changes to the others. Every changed
// string is normalised to NFC in place; the userPrincipalName must pass
// CheckUPN with domains; strings must fit Entra's documented lengths;
// usageLocation must be an assigned ISO 3166-1 alpha-2 code. The
// userPrincipalName's uniqueness (case-insensitive, after NFC) is the
// engine's (licensing.UPNKey).
func CheckUser(u *licensing.User, old *licensing.User, domains []string) error {
	changed := func(get func(*licensing.User) *string) bool {
		return old == nil || *get(u) != *get(old)
	}
	upn := func(x *licensing.User) *string { return &x.UserPrincipalName }
	if changed(upn) {
		u.UserPrincipalName = Norm(strings.TrimSpace(u.UserPrincipalName))
		if old == nil || u.UserPrincipalName != old.UserPrincipalName {
			if err := CheckUPN(u.UserPrincipalName, domains); err != nil {
				return err
			}
		}
	}
	for _, f := range userText {
		v := f.Get(u)
		if old != nil && v == f.Get(old) {
			continue
		}
		if n := Norm(v); n != v {
			v = n
			f.Set(u, v)
		}
		if err := checkText(f.Name, "User", v, f.Max); err != nil {
			return err
		}
	}
	if changed(func(x *licensing.User) *string { return &x.UsageLocation }) {
		if err := CheckUsageLocation(u.UsageLocation); err != nil {
			return err
		}
	}
	cloned := false
	for k, v := range u.Attributes {
		if old != nil && old.Attributes[k] == v {
			continue
		}
		if err := checkText("(name of a property)", "User", k, MaxAttribute); err != nil {
			return err
		}
		n := Norm(v)
		if err := checkText(attributeName(k), "User", n, attributeMax(k)); err != nil {
			return err
		}
		if n != v {
			if !cloned { // the map may be shared with the engine's copy
				u.Attributes, cloned = maps.Clone(u.Attributes), true
			}
			u.Attributes[k] = n
		}
	}
	for _, list := range []struct {
		prop     string
		vs       []string
		set      func(*licensing.User, []string)
		previous []string
	}{{"proxyAddresses", u.ProxyAddresses(), (*licensing.User).SetProxyAddresses, oldList(old, true)},
		{"otherMails", u.OtherMails(), (*licensing.User).SetOtherMails, oldList(old, false)}} {
		vs := list.vs
		if old != nil && slices.Equal(vs, list.previous) {
			continue
		}
		if len(vs) > MaxValues {
			return invalid(list.prop, "User", fmt.Sprintf("It has %d values; the most allowed is %d.", len(vs), MaxValues))
		}
		out := make([]string, len(vs)) // vs may be shared with the engine's copy
		for i, v := range vs {
			out[i] = Norm(v)
			if err := checkText(list.prop, "User", out[i], MaxMail); err != nil {
				return err
			}
		}
		if len(vs) > 0 {
			list.set(u, out)
		}
	}
	return nil
}

func oldList(old *licensing.User, proxy bool) []string {
	switch {
	case old == nil:
		return nil
	case proxy:
		return old.ProxyAddresses()
	}
	return old.OtherMails()
}

// CheckGroup normalises and checks a group that is about to be written
// (old is the stored group, nil for a new one; unchanged properties are
// not checked): displayName at most 256 characters, mailNickname at most
// 64 ASCII characters without @ ( ) \ [ ] " ; : < > , or space (Graph's
// group resource type), description at most 1,024.
func CheckGroup(g *licensing.Group, old *licensing.Group) error {
	if old == nil || g.DisplayName != old.DisplayName {
		g.DisplayName = Norm(g.DisplayName)
		if err := checkText("displayName", "Group", g.DisplayName, MaxDisplayName); err != nil {
			return err
		}
	}
	if old == nil || g.Description != old.Description {
		g.Description = Norm(g.Description)
		if err := checkText("description", "Group", g.Description, MaxDescription); err != nil {
			return err
		}
	}
	if old == nil || g.MailNickname != old.MailNickname {
		if err := CheckMailNickname(g.MailNickname, "Group"); err != nil {
			return err
		}
	}
	return nil
}

// CheckMailNickname checks a mailNickname: at most 64 ASCII characters,
// none of @ ( ) \ [ ] " ; : < > , or space.
func CheckMailNickname(s, resource string) error {
	if n := utf8.RuneCountInString(s); n > MaxMailNickname {
		return invalid("mailNickname", resource, fmt.Sprintf("It has %d characters; the most allowed is %d.", n, MaxMailNickname))
	}
	for _, r := range s {
		if r > 127 || r < 32 || strings.ContainsRune(`@()\[]";:<>, `, r) {
			return invalid("mailNickname", resource, fmt.Sprintf("It contains %q: only ASCII characters other than @ ( ) \\ [ ] \" ; : < > , and space are allowed.", r))
		}
	}
	return nil
}

// CheckAllotment normalises and checks an allotment that is about to be
// written (old is the stored one, nil for a new one): its displayName at
// most 256 characters.
func CheckAllotment(a *licensing.Allotment, old *licensing.Allotment) error {
	if old == nil || a.DisplayName != old.DisplayName {
		a.DisplayName = Norm(a.DisplayName)
		if err := checkText("displayName", "Allotment", a.DisplayName, MaxAllotmentName); err != nil {
			return err
		}
	}
	return nil
}
