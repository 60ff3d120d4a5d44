package bundle

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	goruntime "runtime"
	"strings"
	"testing"
	"unsafe"

	"allot/catalog"
	"allot/licensing"
	"allot/synth"
)

// readBoth reads the bundle at dir with members.csv read ahead and in
// order, and returns both results.
func readBoth(t *testing.T, dir string) (ahead, inOrder *Bundle, aheadErr, inOrderErr error) {
	t.Helper()
	defer func(v bool) { readAhead = v }(readAhead)
	readAhead = true
	ahead, aheadErr = Open(dir, catalog.Default())
	readAhead = false
	inOrder, inOrderErr = Open(dir, catalog.Default())
	return
}

// syntheticBundle writes a synthetic tenant's bundle to a folder, with
// memberships added (unless valid) that name a group, an unknown id and an
// unknown group.
func syntheticBundle(t *testing.T, valid bool) string {
	t.Helper()
	dir, e := writeSynthBundle(t, synth.Config{Users: 3000, Groups: 30, GroupLicenses: 15, Seed: 7})
	groups := e.GroupIDs()
	if valid {
		return dir
	}
	f, err := os.OpenFile(filepath.Join(dir, "members.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(groups[0] + "," + groups[1] + "\n" + groups[0] + ",nobody\nno-group," + groups[2] + "\n")
	f.Close()
	return dir
}

// Reading members.csv ahead (and interning its rows on several
// goroutines) gives the bundle that reading the files in order gives,
// with the members' ids shared with users.csv's.
func TestReadAheadGivesTheBundleOfReadingInOrder(t *testing.T) {
	defer func(n int) { minMembersPerWorker = n }(minMembersPerWorker)
	minMembersPerWorker = 100 // the memberships are interned on several goroutines
	dir := syntheticBundle(t, false)
	ahead, inOrder, err1, err2 := readBoth(t, dir)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if len(ahead.Data.Members) < 4*minMembersPerWorker {
		t.Fatalf("only %d memberships", len(ahead.Data.Members))
	}
	if !reflect.DeepEqual(ahead, inOrder) {
		t.Fatal("reading ahead gave another bundle")
	}
	ids := map[string]*byte{}
	for _, u := range ahead.Data.Users {
		ids[u.ID] = unsafe.StringData(u.ID)
	}
	users := 0
	for i, m := range ahead.Data.Members {
		p, ok := ids[m[1]]
		if ok != ahead.memberUser[i] {
			t.Fatalf("membership %d: memberUser %v for %s", i, ahead.memberUser[i], m[1])
		}
		if ok {
			users++
			if unsafe.StringData(m[1]) != p {
				t.Fatalf("membership %d: member %s is not users.csv's string", i, m[1])
			}
		}
	}
	if users == 0 || users == len(ahead.Data.Members) {
		t.Fatalf("%d of %d memberships name users", users, len(ahead.Data.Members))
	}
}

// Errors in several files: the first file in the steps' order gives its
// error, whichever is read first.
func TestReadAheadKeepsTheFirstErrorInFileOrder(t *testing.T) {
	users := "id,userPrincipalName\nu1,a@c.example\nu2,b@c.example\n"
	badUsers := "id,userPrincipalName,accountEnabled\nu1,a@c.example,true\nu2,b@c.example,maybe\n"
	groups := "id,displayName\ng1,G\n"
	members := "groupId,userId\ng1,u1\ng1,u2\n" + strings.Repeat("g1,u1\n", 5000)
	badMembers := "groupId,userId\ng1,u1\ng1,\"u2\n"
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"users before members", map[string]string{"users.csv": badUsers, "groups.csv": groups, "members.csv": badMembers}, "users.csv:3: accountEnabled"},
		{"groups before members", map[string]string{"users.csv": users, "groups.csv": "id\ng1\n", "members.csv": badMembers}, "groups.csv:1: missing column displayName"},
		{"members before licenses", map[string]string{"users.csv": users, "groups.csv": groups, "members.csv": badMembers,
			"direct_licenses.csv": "userId\nu1\n"}, "members.csv:3: "},
		{"members header", map[string]string{"users.csv": users, "members.csv": "groupId\ng1\n", "seats.csv": "x\n"}, "members.csv:1: missing column userId"},
		{"licenses after members", map[string]string{"users.csv": users, "groups.csv": groups, "members.csv": members,
			"direct_licenses.csv": "userId\nu1\n"}, "direct_licenses.csv:1: missing column skuPartNumber"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err1, err2 := readBoth(t, writeFiles(t, c.files))
			if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
				t.Fatalf("ahead: %v; in order: %v", err1, err2)
			}
			if !strings.Contains(err1.Error(), c.want) {
				t.Fatalf("want %q, got %v", c.want, err1)
			}
		})
	}
}

// The bundle's size budget is shared by its files when members.csv is read
// ahead: the file (and line) where the files read in order run out of it
// is refused, and a bundle of exactly the budget is read.
func TestReadAheadKeepsTheBudgetAcrossFiles(t *testing.T) {
	defer func(n int64) { uncompressedBudget = n }(uncompressedBudget)
	users := "id,userPrincipalName\n" + strings.Repeat("u1,a@c.example\n", 8000)
	groups := "id,displayName\ng1,G\n"
	members := "groupId,userId\n" + strings.Repeat("g1,u1\n", 30000)
	dir := writeFiles(t, map[string]string{"users.csv": users, "groups.csv": groups, "members.csv": members})
	total := int64(len(users) + len(groups) + len(members))
	cases := []struct {
		budget int64
		want   string // "": read
	}{
		{total, ""},
		{total - 1, "members.csv:"},
		{int64(len(users)+len(groups)) + int64(len(members))/2, "members.csv:"},
		{int64(len(users) + len(groups)), "members.csv:"},
		{int64(len(users)) + 3, "groups.csv"},
		{int64(len(users)) / 2, "users.csv:"}, // members.csv alone fits
	}
	for _, c := range cases {
		uncompressedBudget = c.budget
		_, _, err1, err2 := readBoth(t, dir)
		if c.want == "" {
			if err1 != nil || err2 != nil {
				t.Fatalf("budget %d: %v; %v", c.budget, err1, err2)
			}
			continue
		}
		if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
			t.Fatalf("budget %d: ahead: %v; in order: %v", c.budget, err1, err2)
		}
		if !strings.Contains(err1.Error(), c.want) || !strings.Contains(err1.Error(), "uncompressed") {
			t.Fatalf("budget %d: want %q, got %v", c.budget, c.want, err1)
		}
	}
}

// validateBoth validates the bundle at dir with its users and memberships
// checked on several goroutines and on one, against an empty tenant.
func validateBoth(t *testing.T, dir string) (apart, alone licensing.ImportData, apartErr, aloneErr error) {
	t.Helper()
	defer func(u, m, p int) { minUsersApart, minMembersPerCheck = u, m; goruntime.GOMAXPROCS(p) }(minUsersApart, minMembersPerCheck, goruntime.GOMAXPROCS(4))
	validate := func() (licensing.ImportData, error) {
		b, err := Open(dir, catalog.Default())
		if err != nil {
			t.Fatal(err)
		}
		return b.Validate(licensing.New(catalog.Default(), licensing.Settings{DefaultUsageLocation: "US"}))
	}
	minUsersApart, minMembersPerCheck = 1, 4
	apart, apartErr = validate()
	minUsersApart, minMembersPerCheck = 1<<30, 1<<30
	alone, aloneErr = validate()
	return
}

// Users and memberships checked on several goroutines give what checking
// them on one gives.
func TestValidateApartGivesWhatValidatingAloneGives(t *testing.T) {
	apart, alone, err1, err2 := validateBoth(t, syntheticBundle(t, true))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if len(apart.Users) == 0 || len(apart.Members) == 0 || !reflect.DeepEqual(apart, alone) {
		t.Fatal("validating apart gave other data")
	}
}

// The first refusal in the order of the rows (and, in a row, of the
// checks) is returned when the users or the memberships are checked on
// several goroutines.
func TestValidateApartKeepsTheFirstRefusal(t *testing.T) {
	var users strings.Builder
	users.WriteString("id,userPrincipalName,usageLocation\n")
	for i := range 40 {
		fmt.Fprintf(&users, "u%d,user%d@c.example,US\n", i, i)
	}
	var groups strings.Builder
	groups.WriteString("id,displayName\n")
	for g := range 4 {
		fmt.Fprintf(&groups, "g%d,G%d\n", g, g)
	}
	// Four runs of ten members; row r is on line r+2.
	rows := make([]string, 40)
	for r := range rows {
		rows[r] = fmt.Sprintf("g%d,u%d", r/10, r%10)
	}
	members := func(change map[int]string) string {
		out := "groupId,userId\n"
		for r, row := range rows {
			if c, ok := change[r]; ok {
				row = c
			}
			out += row + "\n"
		}
		return out
	}
	withUser := func(change map[int]string) string {
		lines := strings.Split(users.String(), "\n")
		for i, l := range change {
			lines[i+1] = l
		}
		return strings.Join(lines, "\n")
	}
	cases := []struct {
		name         string
		users, membs string
		want         string
	}{
		{"upn before location", withUser(map[int]string{3: "u3,user1@c.example,US", 30: "u30,user30@c.example,USA"}), members(nil),
			"users.csv:5: userPrincipalName user1@c.example is also used by user u1"},
		{"location before upn", withUser(map[int]string{30: "u30,user1@c.example,US", 3: "u3,user3@c.example,USA"}), members(nil),
			"users.csv:5: Invalid value specified for property 'usageLocation'"},
		{"id before upn in a row", withUser(map[int]string{5: "u1,user1@c.example,US"}), members(nil),
			"users.csv:7: user u1 is listed twice"},
		{"upn before id", withUser(map[int]string{5: "u5,USER1@c.example,US", 20: "u1,user20@c.example,US"}), members(nil),
			"users.csv:7: userPrincipalName USER1@c.example is also used by user u1"},
		{"dup in the second run before an unknown member", users.String(), members(map[int]string{12: "g1,u1", 35: "g3,ghost"}),
			"members.csv:14: membership u1 in g1 is listed twice"},
		{"unknown member before a dup", users.String(), members(map[int]string{35: "g3,u3", 12: "g1,ghost"}),
			"members.csv:14: member ghost is neither a user nor a group"},
		{"unknown group in the last run", users.String(), members(map[int]string{39: "g9,u1"}),
			"members.csv:41: group g9 does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"users.csv": c.users, "groups.csv": groups.String(), "members.csv": c.membs})
			_, _, err1, err2 := validateBoth(t, dir)
			if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
				t.Fatalf("apart: %v; alone: %v", err1, err2)
			}
			if !strings.Contains(err1.Error(), c.want) {
				t.Fatalf("want %q, got %v", c.want, err1)
			}
		})
	}
}

// A run larger than the small runs' set is checked with a set of its own,
// and the small runs after it do not see its members.
func TestValidateLargeAndSmallRuns(t *testing.T) {
	n := smallRun + 500
	var users, members strings.Builder
	users.WriteString("id,userPrincipalName\n")
	for i := range n {
		fmt.Fprintf(&users, "u%d,user%d@c.example\n", i, i)
	}
	groups := "id,displayName\ng0,G0\ng1,G1\ng2,G2\n"
	big := func(dupAt int) string {
		members.Reset()
		members.WriteString("groupId,userId\ng1,u1\ng1,u2\n")
		for i := range n {
			u := i
			if i == dupAt {
				u = 5
			}
			fmt.Fprintf(&members, "g0,u%d\n", u)
		}
		members.WriteString("g2,u1\ng2,u2\ng2,u3\n")
		return members.String()
	}
	for _, c := range []struct {
		members, want string
	}{
		{big(-1), ""},
		{big(n - 10), fmt.Sprintf("members.csv:%d: membership u5 in g0 is listed twice", n-10+4)},
		{big(-1) + "g2,u2\n", fmt.Sprintf("members.csv:%d: membership u2 in g2 is listed twice", n+7)},
	} {
		dir := writeFiles(t, map[string]string{"users.csv": users.String(), "groups.csv": groups, "members.csv": c.members})
		apart, alone, err1, err2 := validateBoth(t, dir)
		if c.want == "" {
			if err1 != nil || err2 != nil || !reflect.DeepEqual(apart, alone) || len(apart.Members) != n+5 {
				t.Fatalf("%v; %v; %d members", err1, err2, len(apart.Members))
			}
			continue
		}
		if err1 == nil || err2 == nil || err1.Error() != err2.Error() || !strings.Contains(err1.Error(), c.want) {
			t.Fatalf("want %q; apart: %v; alone: %v", c.want, err1, err2)
		}
	}
}
