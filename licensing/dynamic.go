package licensing

import (
	"sort"
	"strings"
	"time"

	"allot"
	"allot/audit"
	"allot/rules"
	"allot/userprop"
)

// Dynamic groups: the engine keeps the members of every dynamic group whose
// rule processing is On equal to the users its rule matches. A change of a
// user's properties re-evaluates only the rules that read a changed
// property (rules.Index.Affected); a rule change re-evaluates that rule for
// every user and applies the difference as one change, so users who still
// match never lose a license in between. A Paused rule keeps its members.
// Membership changes feed the licensing like manual ones, and the audit
// log names the rule.

// ActorDynamicMembership is the audit actor of membership changes made by
// rules.
const ActorDynamicMembership = "dynamic membership"

// msgDynamicMembers is returned when members of a dynamic group are changed
// by hand.
const msgDynamicMembers = "Members of a group with dynamic membership cannot be added or removed; they follow its membershipRule."

// subject lets rules read a user.
type subject struct {
	e *Engine
	u *user
}

// Value implements rules.Subject: a property of the user-property registry
// by its rule name (userprop.ByRule), else the attribute of that name.
func (s subject) Value(prop string) (string, bool) {
	if p, ok := userprop.ByRule(prop); ok {
		return p.RuleValue(s.u.User)
	}
	v := s.u.Attributes[prop]
	return v, v != ""
}

// Values implements rules.Subject.
func (s subject) Values(prop string) []string {
	if p, ok := userprop.ByRule(prop); ok {
		return p.GetStrings(s.u.User)
	}
	return nil
}

// AssignedPlans implements rules.Subject: the plans enabled by the user's
// held licenses.
func (s subject) AssignedPlans() []rules.AssignedPlan {
	var out []rules.AssignedPlan
	for _, l := range s.u.licenses {
		if !l.Held {
			continue
		}
		status := s.e.CapabilityStatus(l.pool.sku.ID)
		for _, id := range enabledPlans(l.pool.sku, l.Sources) {
			name := id
			if p, ok := s.e.cat.Plan(id); ok {
				name = s.e.cat.PlanService(p.ID) // the workload, as Graph reports it
			}
			out = append(out, rules.AssignedPlan{ServicePlanID: id, CapabilityStatus: status, Service: name})
		}
	}
	return out
}

// compileRule validates a group's dynamic membership settings and returns
// the compiled rule when it should be evaluated (dynamic and On).
func compileRule(g *Group) (*rules.Rule, error) {
	if !g.IsDynamic() {
		if strings.TrimSpace(g.MembershipRule) != "" {
			return nil, allot.Errorf(allot.EINVALID, "membershipRule can only be set on a group whose groupTypes include DynamicMembership.")
		}
		g.MembershipRuleProcessingState = ""
		return nil, nil
	}
	switch g.MembershipRuleProcessingState {
	case "":
		g.MembershipRuleProcessingState = "On"
	case "On", "Paused":
	default:
		return nil, allot.Errorf(allot.EINVALID, "Invalid membershipRuleProcessingState %q: use On or Paused.", g.MembershipRuleProcessingState)
	}
	if strings.TrimSpace(g.MembershipRule) == "" {
		return nil, allot.Errorf(allot.EINVALID, "A group with DynamicMembership needs a membershipRule.")
	}
	r, err := rules.Parse(g.MembershipRule)
	if err != nil {
		return nil, allot.Errorf(allot.EINVALID, "Invalid membershipRule: %v", err)
	}
	if g.MembershipRuleProcessingState == "Paused" {
		return nil, nil
	}
	return r, nil
}

// applyRule makes a dynamic group's user members equal to the users its
// rule matches, as one change. Member groups are removed: dynamic groups
// hold users only.
func (e *Engine) applyRule(op Op, g *group, r *rules.Rule, now time.Time) {
	why := "dynamic membership rule of group " + g.DisplayName + ": " + g.MembershipRule
	licensed := hasInheritableLicenses(e, g)
	var add, remove []*user
	for _, u := range e.all {
		match := r.Match(subject{e, u}, now)
		if match && !u.inGroup(g) {
			add = append(add, u)
		} else if !match && u.inGroup(g) {
			remove = append(remove, u)
		}
	}
	for c := range g.memberGroups {
		delete(g.memberGroups, c)
		delete(c.parents, g)
		mark(&e.delta.Members, Key2{g.ID, c.ID}, false)
		if e.settings.NestedGroups {
			for _, u := range e.licensedUsers(c) {
				e.touch(u, audit.ActorGroupLicensing, why)
			}
		}
	}
	for _, u := range add {
		e.joinDynamic(g, u, why, licensed)
	}
	for _, u := range remove {
		e.leaveDynamic(g, u, why, licensed)
	}
}

func (e *Engine) joinDynamic(g *group, u *user, why string, licensed bool) {
	g.members[u] = struct{}{}
	u.groups = append(u.groups, g)
	mark(&e.delta.Members, Key2{g.ID, u.ID}, true)
	e.delta.Audit = append(e.delta.Audit, audit.Entry{At: e.clock, Actor: ActorDynamicMembership, Action: "Add member to group",
		UserID: u.ID, GroupID: g.ID, Why: why})
	if licensed {
		e.touch(u, audit.ActorGroupLicensing, why)
	}
}

func (e *Engine) leaveDynamic(g *group, u *user, why string, licensed bool) {
	delete(g.members, u)
	u.groups = removeGroup(u.groups, g)
	mark(&e.delta.Members, Key2{g.ID, u.ID}, false)
	e.delta.Audit = append(e.delta.Audit, audit.Entry{At: e.clock, Actor: ActorDynamicMembership, Action: "Remove member from group",
		UserID: u.ID, GroupID: g.ID, Why: why})
	if licensed {
		e.touch(u, audit.ActorGroupLicensing, why)
	}
}

// reevaluateUser updates the user's dynamic memberships after its
// properties changed (old is nil for a new user): only the rules that read
// a changed property are evaluated.
func (e *Engine) reevaluateUser(u *user, old *User, now time.Time) {
	if e.dyn == nil || e.dyn.Len() == 0 {
		return
	}
	var ids []string
	if old == nil {
		ids = e.dyn.MatchAll(subject{e, u}, now, nil)
		for _, id := range ids {
			g := e.groups[id]
			if g != nil && !u.inGroup(g) {
				e.joinDynamic(g, u, "dynamic membership rule of group "+g.DisplayName+": "+g.MembershipRule, hasInheritableLicenses(e, g))
			}
		}
		return
	}
	affected := e.dyn.Affected(changedProperties(old, u.User))
	if len(affected) == 0 {
		return
	}
	matched := e.dyn.Evaluate(subject{e, u}, now, affected, nil)
	in := make(map[string]bool, len(matched))
	for _, id := range matched {
		in[id] = true
	}
	for _, id := range affected {
		g := e.groups[id]
		if g == nil {
			continue
		}
		why := "dynamic membership rule of group " + g.DisplayName + ": " + g.MembershipRule
		switch {
		case in[id] && !u.inGroup(g):
			e.joinDynamic(g, u, why, hasInheritableLicenses(e, g))
		case !in[id] && u.inGroup(g):
			e.leaveDynamic(g, u, why, hasInheritableLicenses(e, g))
		}
	}
}

// changedProperties lists the lower-case rule property names whose values
// differ between two versions of a user.
func changedProperties(a, b *User) []string {
	var out []string
	for i := range userprop.Users {
		// Attribute properties are compared with the other attributes below.
		if p := &userprop.Users[i]; p.Rule != "" && !p.Attribute && !p.Equal(a, b) {
			out = append(out, p.RuleKey())
		}
	}
	keys := map[string]bool{}
	for k := range a.Attributes {
		keys[k] = true
	}
	for k := range b.Attributes {
		keys[k] = true
	}
	for k := range keys {
		if a.Attributes[k] != b.Attributes[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// ReevaluateTimeRules re-evaluates the rules that read system.now (hire
// dates relative to today) for every user: run it periodically.
func (e *Engine) ReevaluateTimeRules(op Op) error {
	if e.dyn == nil {
		return nil
	}
	now := e.tick(op.Now)
	for _, id := range e.dyn.Affected([]string{rules.NowProperty}) {
		if g := e.groups[id]; g != nil {
			e.applyRule(op, g, e.dyn.Get(id), now)
		}
	}
	e.settle(now)
	return nil
}

// MatchRule evaluates a rule against every user (a preview before saving
// it) and returns the number of matches and the ids of the first limit
// matching users in id order. The rule's parse error is returned as is.
func (e *Engine) MatchRule(rule string, now time.Time, limit int) (int, []string, error) {
	r, err := rules.Parse(rule)
	if err != nil {
		return 0, nil, err
	}
	n := 0
	var ids []string
	for _, u := range e.all {
		if r.Match(subject{e, u}, now) {
			n++
			ids = append(ids, u.ID)
		}
	}
	sort.Strings(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return n, ids, nil
}

// CheckRule validates a rule and previews its matches now: how many users
// it matches and the first 20 of them (by id).
func (e *Engine) CheckRule(rule string, now time.Time) rules.Check {
	n, ids, err := e.MatchRule(rule, now, 20)
	if err != nil {
		return rules.Invalid(err)
	}
	out := rules.Check{Valid: true, MatchCount: &n, Sample: []rules.SampleUser{}}
	for _, id := range ids {
		if u, ok := e.User(id); ok {
			out.Sample = append(out.Sample, rules.SampleUser{ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName})
		}
	}
	return out
}

// ValidateGroup returns the error PutGroup would refuse the group with, so
// that a command doing more than PutGroup can refuse before its first
// change.
func (e *Engine) ValidateGroup(in Group) error {
	_, err := e.checkGroup(&in)
	return err
}

// checkGroup is PutGroup's validation: it fills in defaults and compiles
// the rule; it changes nothing in the engine.
func (e *Engine) checkGroup(in *Group) (*rules.Rule, error) {
	if err := CheckGroup(in); err != nil {
		return nil, err
	}
	if in.AssignmentMode == "" {
		in.AssignmentMode = ModePerProduct
	}
	rule, err := compileRule(in)
	if err != nil {
		return nil, err
	}
	if g, exists := e.groups[in.ID]; exists && len(g.licenses) > 0 && !in.SecurityEnabled {
		return nil, allot.Errorf(allot.EINVALID, "A group with licenses must stay security enabled; remove its licenses first.")
	}
	return rule, nil
}
