// Package deleteditems is the tenant's recycle bin, as Microsoft Graph's
// directory deletedItems: a deleted user, or a deleted Microsoft 365 group
// (groupTypes "Unified"), is kept 30 days and can be restored with its
// group memberships and licenses, or deleted permanently. Security groups
// are deleted permanently at once, as in Entra (Graph "Restore deleted
// item": "This isn't applicable to security groups, which are deleted
// permanently").
//
// A deleted object leaves the licensing engine at once — its seats are
// released, and no reader (Graph lists, $filter, $count, SCIM, the admin
// center, the position) sees it — and what restoring it needs
// (licensing.DeletedUser, licensing.DeletedGroup) is kept as a tenant
// object of kind "deletedUser" or "deletedGroup" with the time of the
// deletion. The maintenance round (tenant.Runtime.MaintainAt) purges items
// older than Retention.
//
// Every function here runs inside a tenant command (tenant.Tx) and is
// deterministic: the time is the command's (tx.Op.Now).
package deleteditems

import (
	"fmt"
	"strings"
	"time"

	"allot"
	"allot/audit"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
)

// The store kinds of deleted items, by object id.
const (
	KindUser  store.Kind = "deletedUser"
	KindGroup store.Kind = "deletedGroup"
)

// Retention is how long a deleted item can be restored ("Deleted items
// remain available to restore for up to 30 days. After 30 days, the items
// are permanently deleted." — Graph, directory resource type).
const Retention = 30 * 24 * time.Hour

// User is a deleted user.
type User struct {
	licensing.DeletedUser
	DeletedAt time.Time `json:"deletedDateTime"`
}

// Group is a deleted group.
type Group struct {
	licensing.DeletedGroup
	DeletedAt time.Time `json:"deletedDateTime"`
}

// IsUnified reports whether a group is a Microsoft 365 group, the only
// kind of group Entra keeps in deleted items.
func IsUnified(g *licensing.Group) bool {
	for _, t := range g.GroupTypes {
		if strings.EqualFold(t, "Unified") {
			return true
		}
	}
	return false
}

func notFound(id string) error {
	return allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

// DeleteUser deletes a user (ENOTFOUND if there is none): the engine
// releases its seats and forgets it, and the deleted items keep it.
func DeleteUser(tx *tenant.Tx, id string) error {
	d, ok := tx.Engine.DeletedUserOf(id)
	if !ok {
		return notFound(id)
	}
	if err := tx.Engine.DeleteUser(tx.Op, id); err != nil {
		return err
	}
	return tx.Put(KindUser, id, User{DeletedUser: d, DeletedAt: tx.Op.Now.UTC()})
}

// DeleteGroup deletes a group (ENOTFOUND if there is none; the engine's
// refusals apply). A Microsoft 365 group is kept in the deleted items; a
// security group is deleted permanently.
func DeleteGroup(tx *tenant.Tx, id string) error {
	d, ok := tx.Engine.DeletedGroupOf(id)
	if !ok {
		return notFound(id)
	}
	if err := tx.Engine.DeleteGroup(tx.Op, id); err != nil {
		return err
	}
	if !IsUnified(&d.Group) {
		return nil
	}
	return tx.Put(KindGroup, id, Group{DeletedGroup: d, DeletedAt: tx.Op.Now.UTC()})
}

// Item is one deleted item: exactly one of User and Group is set.
type Item struct {
	User  *User
	Group *Group
}

// Get returns a deleted item by id.
func Get(s *tenant.State, id string) (Item, bool, error) {
	var u User
	if ok, err := s.Decode(KindUser, id, &u); ok || err != nil {
		return Item{User: &u}, ok, err
	}
	var g Group
	if ok, err := s.Decode(KindGroup, id, &g); ok || err != nil {
		return Item{Group: &g}, ok, err
	}
	return Item{}, false, nil
}

// Users returns the deleted users, by id.
func Users(s *tenant.State) ([]User, error) {
	ids := s.IDs(KindUser)
	out := make([]User, 0, len(ids))
	for _, id := range ids {
		var u User
		if _, err := s.Decode(KindUser, id, &u); err != nil {
			return nil, fmt.Errorf("deleted user %s: %w", id, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// Groups returns the deleted groups, by id.
func Groups(s *tenant.State) ([]Group, error) {
	ids := s.IDs(KindGroup)
	out := make([]Group, 0, len(ids))
	for _, id := range ids {
		var g Group
		if _, err := s.Decode(KindGroup, id, &g); err != nil {
			return nil, fmt.Errorf("deleted group %s: %w", id, err)
		}
		out = append(out, g)
	}
	return out, nil
}

// Restore brings a deleted item back (licensing.Engine.RestoreUser and
// RestoreGroup say what comes back, and when a restore is refused) and
// returns it as it was kept. newUPN, when set, replaces a user's
// userPrincipalName (Graph's newUserPrincipalName), for a user whose name
// has been taken meanwhile; it is refused for a group. ENOTFOUND if there
// is no such item.
func Restore(tx *tenant.Tx, id, newUPN string) (Item, error) {
	it, ok, err := Get(tx.State, id)
	if err != nil {
		return it, err
	}
	if !ok {
		return it, notFound(id)
	}
	if it.User != nil {
		d := it.User.DeletedUser
		if newUPN != "" {
			d.User.UserPrincipalName = newUPN
		}
		if err := tx.Engine.RestoreUser(tx.Op, d); err != nil {
			return it, err
		}
		it.User.DeletedUser = d
		tx.Delete(KindUser, id)
		return it, nil
	}
	if newUPN != "" {
		return it, allot.Errorf(allot.EINVALID, "newUserPrincipalName can only be set when restoring a user.")
	}
	if err := tx.Engine.RestoreGroup(tx.Op, it.Group.DeletedGroup); err != nil {
		return it, err
	}
	tx.Delete(KindGroup, id)
	return it, nil
}

// Purge deletes a deleted item permanently (ENOTFOUND if there is none).
func Purge(tx *tenant.Tx, id string) error {
	it, ok, err := Get(tx.State, id)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(id)
	}
	purge(tx, it, "")
	return nil
}

func purge(tx *tenant.Tx, it Item, why string) {
	if it.User != nil {
		tx.Delete(KindUser, it.User.User.ID)
		tx.Audit(audit.Entry{Action: "Hard Delete user", UserID: it.User.User.ID, Why: why})
		return
	}
	tx.Delete(KindGroup, it.Group.Group.ID)
	tx.Audit(audit.Entry{Action: "Hard Delete group", GroupID: it.Group.Group.ID, Why: why})
}

// Expire purges every item deleted Retention or longer before tx.Op.Now.
func Expire(tx *tenant.Tx) error {
	cutoff := tx.Op.Now.Add(-Retention)
	us, err := Users(tx.State)
	if err != nil {
		return err
	}
	gs, err := Groups(tx.State)
	if err != nil {
		return err
	}
	why := "kept " + fmt.Sprint(Retention.Hours()/24) + " days in deleted items"
	for i := range us {
		if !us[i].DeletedAt.After(cutoff) {
			purge(tx, Item{User: &us[i]}, why)
		}
	}
	for i := range gs {
		if !gs[i].DeletedAt.After(cutoff) {
			purge(tx, Item{Group: &gs[i]}, why)
		}
	}
	return nil
}

// PurgeAt is when a deleted item is deleted permanently.
func PurgeAt(deleted time.Time) time.Time { return deleted.Add(Retention) }

// Maintenance purges deleted items past their retention (Expire); a runtime
// lists it in tenant.Options.Maintenance.
var Maintenance = tenant.MaintenanceTask{
	Name:  "deleted items",
	Actor: "system",
	Why:   "deleted items older than 30 days are deleted permanently",
	Run:   Expire,
}
