package bundle

import (
	"archive/zip"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"allot/identity"
	"allot/licensing"
	"allot/subscription"
	"allot/userprop"
)

// Write exports a tenant's state as a bundle into dir (created if needed),
// or into a .zip file when path ends in .zip. It reads the engine only:
// call it inside Tenant.Read.
// Its subscriptions.csv gives each product's units by state, without the
// partner subscriptions (WriteTenant has them).
func Write(path string, e *licensing.Engine) error { return write(path, e, nil) }

func write(path string, e *licensing.Engine, subs []subscription.Subscription) error {
	files := export(e, subs)
	if strings.HasSuffix(strings.ToLower(path), ".zip") {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		zw := zip.NewWriter(f)
		// Entries carry the export's time (zip.Writer.Create would date
		// them 1980).
		now := time.Now()
		for _, name := range sortedKeys(files) {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now})
			if err == nil {
				err = writeCSV(w, files[name])
			}
			if err != nil {
				f.Close()
				return err
			}
		}
		if err := zw.Close(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return err
	}
	for name, rows := range files {
		f, err := os.Create(filepath.Join(path, name))
		if err != nil {
			return err
		}
		err = writeCSV(f, rows)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func writeCSV(w io.Writer, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// cell is a users.csv cell, as columnSetter reads it back.
func cell(p *userprop.Property, u *licensing.User) string {
	switch p.Type {
	case userprop.Bool:
		return strconv.FormatBool(p.GetBool(u))
	case userprop.Strings:
		return strings.Join(p.GetStrings(u), ";")
	case userprop.Time:
		return ts(p.GetTime(u))
	}
	return p.Get(u)
}

// export renders every file of the bundle.
func export(e *licensing.Engine, subs []subscription.Subscription) map[string][][]string {
	cat := e.Catalog()
	part := func(skuID string) string {
		if s, ok := cat.SKU(skuID); ok {
			return s.PartNumber
		}
		return skuID
	}
	planNames := func(ids []string) string {
		names := make([]string, len(ids))
		for i, id := range ids {
			names[i] = id
			if p, ok := cat.Plan(id); ok {
				names[i] = p.Name
			}
		}
		return strings.Join(names, ";")
	}
	files := map[string][][]string{}

	// users.csv: fixed columns, then every attribute that any user has.
	var users []licensing.User
	attrs := map[string]bool{}
	e.ForEachUser(func(u *licensing.User) bool {
		users = append(users, *u)
		for k := range u.Attributes {
			attrs[k] = true
		}
		return true
	})
	sort.Slice(users, func(i, j int) bool { return users[i].ID < users[j].ID })
	attrCols := sortedKeys(attrs)
	var hdr []string
	var cols []*userprop.Property
	for i := range userprop.Users {
		if p := &userprop.Users[i]; p.Column {
			hdr, cols = append(hdr, p.Name), append(cols, p)
		}
	}
	// Attribute columns in Graph's spelling (mailNickname), as import and
	// the documentation name them; import reads headers case-insensitively.
	for _, k := range attrCols {
		hdr = append(hdr, identity.AttributeName(k))
	}
	rows := [][]string{hdr}
	for _, u := range users {
		row := make([]string, 0, len(hdr))
		for _, p := range cols {
			row = append(row, cell(p, &u))
		}
		for _, k := range attrCols {
			row = append(row, u.Attributes[k])
		}
		rows = append(rows, row)
	}
	files["users.csv"] = rows

	groups := [][]string{{"id", "displayName", "membershipRule", "membershipRuleProcessingState", "description", "mailNickname", "securityEnabled", "mailEnabled", "assignmentMode", "createdDateTime"}}
	members := [][]string{{"groupId", "userId"}}
	gl := [][]string{{"groupId", "skuPartNumber", "disabledPlans", "assignedAt", "allotmentId"}}
	for _, id := range e.GroupIDs() {
		g, _ := e.Group(id)
		groups = append(groups, []string{g.ID, g.DisplayName, g.MembershipRule, g.MembershipRuleProcessingState, g.Description, g.MailNickname,
			strconv.FormatBool(g.SecurityEnabled), strconv.FormatBool(g.MailEnabled), g.AssignmentMode, ts(g.CreatedAt)})
		us, gs := e.Members(id)
		for _, m := range append(us, gs...) {
			members = append(members, []string{id, m})
		}
		for _, l := range e.GroupLicenses(id) {
			gl = append(gl, []string{id, part(l.SKUID), planNames(l.DisabledPlans), ts(l.AssignedAt), l.AllotmentID})
		}
	}
	files["groups.csv"], files["members.csv"], files["group_licenses.csv"] = groups, members, gl

	dl := [][]string{{"userId", "skuPartNumber", "disabledPlans", "assignedAt", "allotmentId"}}
	seats := [][]string{{"userId", "skuPartNumber", "allotmentId", "claimedAt", "held", "heldSince"}}
	for _, u := range users {
		for _, l := range e.DirectLicenses(u.ID) {
			dl = append(dl, []string{u.ID, part(l.SKUID), planNames(l.DisabledPlans), ts(l.AssignedAt), l.AllotmentID})
		}
		for _, l := range e.Licenses(u.ID) {
			if l.Claimed {
				seats = append(seats, []string{u.ID, part(l.SKUID), l.AllotmentID, ts(l.Since.Time()), strconv.FormatBool(l.Held), ts(l.HeldSince.Time())})
			}
		}
	}
	files["direct_licenses.csv"], files["seats.csv"] = dl, seats

	files["subscriptions.csv"] = exportSubscriptions(e, subs)
	allots := [][]string{{"id", "displayName", "skuPartNumber", "allottedUnits", "assignableTo", "owners", "createdDateTime"}}
	for _, a := range e.Allotments() {
		allots = append(allots, []string{a.ID, a.DisplayName, part(a.SKUID), strconv.Itoa(a.AllottedUnits), a.AssignableTo, strings.Join(a.Owners, ";"), ts(a.CreatedAt)})
	}
	files["allotments.csv"] = allots
	return files
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
