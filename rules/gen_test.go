package rules

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// A generator of random rules and users over a small vocabulary, so that
// rules often match, values collide in case-insensitive and Unicode-folding
// ways, and every operator and shape occurs. Rules are generated as text and
// go through Parse.

var (
	genStringProps = []string{"department", "country", "city", "jobTitle", "extensionAttribute1", "userType", "mail"}
	genCollections = []string{"proxyAddresses", "otherMails"}
	genWords       = []string{
		"Sales", "sales", "SALES", "Sa", "les", "HR", "Marketing", "Mark", "ing", "US", "us",
		"München", "MÜNCHEN", "ü", "Straße", "STRASSE", "K", "\u212A", "k", "ſ", "S", "s",
		"σ", "Σ", "ς", "x@contoso.com", "SMTP:x@contoso.com", "smtp:", "@contoso.com", "a.b",
		"\xff", "é", "E\u0301", "Guest", "Member", "null", "",
	}
	genRegexes = []string{"^s", "ES$", "^(sales|hr)$", "ü", ".*", "^$", "a\\.b", "^smtp:", "[0-9]"}
	genPlanIDs = []string{planExchange2, strings.ToUpper(planExchange2), planIntune, "00000000-0000-0000-0000-000000000000"}
	genStatus  = []string{"Enabled", "enabled", "Suspended", ""}
	genService = []string{"SCO", "exchange", "Exchange", ""}
	genDates   = []string{"2020-01-01T00:00:00Z", "2025-05-20T09:00:00Z", "2025-05-20T11:00:00+02:00", "2025-06-01", "garbage", ""}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func quote(s string) string {
	var b strings.Builder
	writeQuoted(&b, s)
	return b.String()
}

type ruleGen struct{ r *rand.Rand }

func (g ruleGen) rule() string { return g.expr(3, "") }

// expr returns a random condition; item is "" at the top level, or "_" /
// "assignedPlan" inside -any/-all.
func (g ruleGen) expr(depth int, item string) string {
	r := g.r
	if depth == 0 || r.IntN(3) == 0 {
		return g.comparison(item)
	}
	switch k := r.IntN(10); {
	case k < 4:
		return "(" + g.expr(depth-1, item) + ") -and (" + g.expr(depth-1, item) + ")"
	case k < 7:
		return "(" + g.expr(depth-1, item) + ") -or (" + g.expr(depth-1, item) + ")"
	case k < 8:
		return "-not (" + g.expr(depth-1, item) + ")"
	}
	if item != "" {
		return g.comparison(item)
	}
	q := pick(r, []string{"-any", "-all"})
	if r.IntN(3) == 0 {
		return "user.assignedPlans " + q + " (" + g.expr(depth-1, "assignedPlan") + ")"
	}
	return "user." + pick(r, genCollections) + " " + q + " (" + g.expr(depth-1, "_") + ")"
}

func (g ruleGen) comparison(item string) string {
	r := g.r
	var prop string
	switch {
	case item == "_":
		prop = "_"
	case item == "assignedPlan":
		prop = "assignedPlan." + pick(r, []string{"servicePlanId", "capabilityStatus", "service"})
	default:
		switch k := r.IntN(20); {
		case k == 0:
			return "user.accountEnabled " + pick(r, []string{"-eq", "-ne"}) + " " + pick(r, []string{"true", "false", "null"})
		case k == 1:
			op := pick(r, []string{"-le", "-ge", "-eq", "-ne"})
			if r.IntN(2) == 0 {
				return "user.employeeHireDate " + op + " system.now -minus P" + fmt.Sprint(r.IntN(40)) + "D"
			}
			d := pick(r, genDates[:4])
			return "user.employeeHireDate " + op + " " + quote(d)
		case k < 5:
			prop = "user." + pick(r, genCollections)
		default:
			prop = "user." + pick(r, genStringProps)
		}
	}
	value := func() string {
		if item == "assignedPlan" {
			return quote(pick(r, append(append(genPlanIDs, genStatus...), genService...)))
		}
		return quote(pick(r, genWords))
	}
	op := pick(r, []string{"eq", "ne", "startsWith", "notStartsWith", "endsWith", "notEndsWith",
		"contains", "notContains", "match", "notMatch", "in", "notIn"})
	// Vary the spelling of the operator: hyphen or not, any case.
	spelt := "-" + op
	switch r.IntN(4) {
	case 0:
		spelt = strings.ToUpper(op)
	case 1:
		spelt = "-" + strings.ToUpper(op)
	case 2:
		spelt = op
	}
	switch op {
	case "eq", "ne":
		if r.IntN(6) == 0 {
			return prop + " " + spelt + " null"
		}
	case "match", "notMatch":
		return prop + " " + spelt + " " + quote(pick(r, genRegexes))
	case "in", "notIn":
		n := 1 + r.IntN(10)
		items := make([]string, n)
		for i := range items {
			items[i] = value()
		}
		return prop + " " + spelt + " [" + strings.Join(items, ", ") + "]"
	}
	return prop + " " + spelt + " " + value()
}

// user returns a random user over the same vocabulary.
func (g ruleGen) user() *Attributes {
	r := g.r
	a := &Attributes{Single: map[string]string{}, Multi: map[string][]string{}}
	for _, p := range genStringProps {
		if r.IntN(5) > 0 {
			a.Single[strings.ToLower(p)] = pick(r, genWords)
		}
	}
	a.Single["accountenabled"] = pick(r, []string{"true", "false", "True", ""})
	a.Single["employeehiredate"] = pick(r, genDates)
	for _, p := range genCollections {
		for range r.IntN(4) {
			a.Multi[strings.ToLower(p)] = append(a.Multi[strings.ToLower(p)], pick(r, []string{"", "smtp:", "SMTP:"})+pick(r, genWords))
		}
	}
	for range r.IntN(4) {
		a.Plans = append(a.Plans, AssignedPlan{ServicePlanID: pick(r, genPlanIDs), CapabilityStatus: pick(r, genStatus), Service: pick(r, genService)})
	}
	return a
}

// mutate returns a copy of a with property prop (lower-case) changed at
// random, and whether anything changed.
func (g ruleGen) mutate(a *Attributes, prop string) *Attributes {
	r := g.r
	c := &Attributes{Single: map[string]string{}, Multi: map[string][]string{}, Plans: a.Plans}
	for k, v := range a.Single {
		c.Single[k] = v
	}
	for k, v := range a.Multi {
		c.Multi[k] = v
	}
	switch prop {
	case "proxyaddresses", "othermails":
		var items []string
		for range r.IntN(4) {
			items = append(items, pick(r, []string{"", "smtp:"})+pick(r, genWords))
		}
		c.Multi[prop] = items
	case "assignedplans":
		c.Plans = nil
		for range r.IntN(4) {
			c.Plans = append(c.Plans, AssignedPlan{ServicePlanID: pick(r, genPlanIDs), CapabilityStatus: pick(r, genStatus), Service: pick(r, genService)})
		}
	case "accountenabled":
		c.Single[prop] = pick(r, []string{"true", "false", ""})
	case "employeehiredate":
		c.Single[prop] = pick(r, genDates)
	default:
		c.Single[prop] = pick(r, genWords)
	}
	return c
}
