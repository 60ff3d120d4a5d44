package rules

import (
	"regexp"
	"strconv"
	"strings"

	"allot/userprop"
)

// propType is what a user property holds, which decides the operators and
// values a rule may use with it.
type propType uint8

const (
	typeString      propType = iota // one string; null when unset or empty
	typeBool                        // "true" or "false"
	typeDate                        // an RFC 3339 instant
	typeStrings                     // a string collection (proxyAddresses, otherMails)
	typePlans                       // user.assignedPlans
	typeUnsupported                 // known to Entra but not evaluated by allot
)

// propInfo describes one user property.
type propInfo struct {
	name   string // as Microsoft spells it, without "user.": "jobTitle"
	key    string // lower-case name passed to Subject: "jobtitle"
	typ    propType
	custom bool // user.extension_<appId>_<name>: compares as a string, a number or a date
}

// userProperties are the user properties Microsoft Entra accepts in dynamic
// membership rules, keyed by their lower-case name: those of the
// user-property registry that name a rule attribute (userprop.Property.Rule,
// of the registry's type), and the others Entra documents, which a subject
// keeps as plain attributes.
var userProperties = func() map[string]propInfo {
	m := map[string]propInfo{}
	add := func(typ propType, names ...string) {
		for _, n := range names {
			m[strings.ToLower(n)] = propInfo{name: n, key: strings.ToLower(n), typ: typ}
		}
	}
	for i := range userprop.Users {
		if p := &userprop.Users[i]; p.Rule != "" {
			add(registryType[p.Type], p.Rule)
		}
	}
	add(typeBool, "dirSyncEnabled")
	add(typeString,
		"facsimileTelephoneNumber", "mobile", "onPremisesDistinguishedName",
		"onPremisesSamAccountName", "onPremisesSecurityIdentifier", "passwordPolicies",
		"physicalDeliveryOfficeName", "sipProxyAddress", "telephoneNumber")
	for i := 1; i <= 15; i++ {
		add(typeString, "extensionAttribute"+strconv.Itoa(i))
	}
	add(typePlans, "assignedPlans")
	add(typeUnsupported, "memberOf")
	return m
}()

// registryType is the rule type of a registry property's type (a Time
// compares as a date).
var registryType = [...]propType{
	userprop.String:  typeString,
	userprop.Date:    typeDate,
	userprop.Bool:    typeBool,
	userprop.Time:    typeDate,
	userprop.Strings: typeStrings,
}

// customExtension matches a directory extension property name such as
// extension_c272a57b722d4eb29bfe327874ae79cb_OfficeNumber: the application id
// without hyphens, then the attribute name.
var customExtension = regexp.MustCompile(`(?i)^extension_[0-9a-z]+_[0-9a-z_]+$`)

// lookupUserProperty resolves a property name written after "user.".
func lookupUserProperty(name string) (propInfo, bool) {
	key := strings.ToLower(name)
	if p, ok := userProperties[key]; ok {
		return p, true
	}
	if customExtension.MatchString(name) {
		return propInfo{name: name, key: key, typ: typeString, custom: true}, true
	}
	return propInfo{}, false
}

// planField is a property of one item of user.assignedPlans.
type planField uint8

const (
	planServicePlanID planField = iota
	planCapabilityStatus
	planService
)

var planFields = map[string]planField{
	"serviceplanid":    planServicePlanID,
	"capabilitystatus": planCapabilityStatus,
	"service":          planService,
}

var planFieldNames = [...]string{"servicePlanId", "capabilityStatus", "service"}

func (f planField) get(p *AssignedPlan) string {
	switch f {
	case planServicePlanID:
		return p.ServicePlanID
	case planCapabilityStatus:
		return p.CapabilityStatus
	default:
		return p.Service
	}
}

// suggestProperty returns the known property closest to name, or "" if none
// is close enough to be a likely typo (a third of its letters, at most three).
func suggestProperty(name string) string {
	key := strings.ToLower(name)
	best, bestDist := "", max(1, min(3, len(key)/3))+1
	for k, p := range userProperties {
		d := editDistance(key, k, bestDist+1)
		if d < bestDist || d == bestDist && best != "" && p.name < best {
			best, bestDist = p.name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or max when it is at
// least max.
func editDistance(a, b string, max int) int {
	if d := len(a) - len(b); d >= max || -d >= max {
		return max
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= max {
			return max
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], max)
}
