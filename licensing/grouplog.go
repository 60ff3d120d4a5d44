package licensing

import (
	"fmt"
	"strings"
	"time"

	"allot/audit"
)

// applyGroup re-derives the licenses of a group's members as Entra logs it:
// "Start applying group based license to users" (with the changes picked
// up), each user's "Change user license", then "Finish applying group
// based license to users" with Microsoft's result line, all by the
// group-based licensing system actor.
func (e *Engine) applyGroup(g *group, why, picked string, now time.Time) {
	sys := Op{Actor: audit.ActorGroupLicensing, Why: why}
	e.auditDetail(sys, audit.ActivityStartApplying, "", g.ID, "", picked)
	users := e.licensedUsers(g)
	for _, u := range users {
		e.touch(u, audit.ActorGroupLicensing, why)
	}
	e.settle(now)
	ok, failed := 0, 0
	for _, u := range users {
		if e.users[u.ID] != u {
			continue
		}
		if e.failedFrom(u, g.ID) {
			failed++
		} else {
			ok++
		}
	}
	e.auditDetail(sys, audit.ActivityFinishApplying, "", g.ID, "",
		fmt.Sprintf("Users successfully assigned licenses: %d, Users for whom license assignment failed: %d.", ok, failed))
}

// failedFrom reports whether any of the user's sources from a group is in
// error.
func (e *Engine) failedFrom(u *user, groupID string) bool {
	for _, l := range u.licenses {
		for _, s := range l.Sources {
			if s.AssignedByGroup == groupID && s.State == StateError {
				return true
			}
		}
	}
	return false
}

func (e *Engine) partNumber(skuID string) string {
	if s, ok := e.cat.SKU(skuID); ok {
		return s.PartNumber
	}
	return skuID
}

func disabledNote(plans []string) string {
	if len(plans) == 0 {
		return ""
	}
	return " (disabled plans " + strings.Join(plans, ", ") + ")"
}
