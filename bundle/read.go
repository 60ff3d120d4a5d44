// Package bundle reads and writes tenant bundles: a folder (or .zip) of CSV
// files with header rows that hold a tenant's users, groups, memberships,
// licenses and subscriptions — how administrators bring an existing
// directory into allot and take it out again.
//
//	users.csv            id,userPrincipalName,displayName,department,country,usageLocation,userType,accountEnabled,…
//	groups.csv           id,displayName[,membershipRule,description,assignmentMode,…]
//	members.csv          groupId,userId            (userId may name a group)
//	group_licenses.csv   groupId,skuPartNumber,disabledPlans,assignedAt[,allotmentId]
//	direct_licenses.csv  userId,skuPartNumber,disabledPlans,assignedAt[,allotmentId]
//	subscriptions.csv    skuPartNumber,quantity[,status,id,creationDate,commitmentEndDate,…] (units.go)
//	allotments.csv       id,displayName,skuPartNumber,allottedUnits          (allot extension)
//	seats.csv            userId,skuPartNumber,allotmentId,claimedAt,held,heldSince (allot extension)
//
// Every file is optional. Columns are found by header name in any order;
// users.csv takes any further Graph user property as a column. disabledPlans
// lists plan names or ids separated by ";". assignedAt (RFC 3339) orders the
// waiting room as if the assignments had been made at those times; seats.csv,
// written by Write, restores claims exactly. Errors name the file and line.
//
// subscriptions.csv has one row per subscription or block of units. Its
// optional columns (older bundles have none; a missing status is active):
//
//	status             active | expired | suspended | disabled | deleted (Partner Center):
//	                   the subscribedSku's enabled, warning, suspended, lockedOut units (deleted: none)
//	id                 the partner subscription; without it the row only gives units
//	offerId, friendlyName, creationDate, commitmentEndDate, autoRenewEnabled,
//	suspensionReasons (";"-separated), graceEndDate, deletionDate
//	                   the subscription's fields (RFC 3339 dates); only on rows with an id
//
// A row with an id holds at most the partner API's 1,000,000 units
// (subscription.MaxQuantity); a row without one at most 1,000,000,000.
//
// A row with an id is that subscription exactly, lifecycle dates included.
// Rows without an id give a product's units of one status (rows of the
// same product and status add up); an import subscription
// "import-<skuId>" (active) or "import-<skuId>-<status>" makes up the
// difference to the tenant's other subscriptions of that status, and the
// import subscriptions of a listed product's other statuses go to 0.
// Graph JSON's subscribedSkus give such rows from prepaidUnits. Write gives
// units by state; WriteTenant also the partner subscriptions, so an export
// imported into an empty tenant has the same subscribedSkus
// (prepaidUnits, capabilityStatus) and seats.
package bundle

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"allot"
	"allot/catalog"
	"allot/internal/memtune"
	"allot/licensing"
	"allot/userprop"
)

// Bundle is a parsed bundle, not yet validated against a tenant.
type Bundle struct {
	Data licensing.ImportData
	// where remembers the file and line of each row for validation errors.
	userLine    places
	groupLine   places
	memberLine  places
	glLine      places
	dlLine      places
	allotLine   places
	subLine     map[string]string
	seatLine    places
	subPart     map[string]string // skuId → part number as written
	subs        []subRow          // subscriptions.csv rows (units.go)
	hasSubsFile bool
	graphDates  []graphDates // Graph JSON: the users' license dates
	// ids interns the ids of users and groups and the product names while
	// reading, so that members, licenses and seats share the strings of
	// users.csv and groups.csv instead of keeping their own lines alive;
	// it knows which are users.csv's ids.
	ids map[string]interned
	// memberUser: whether each of Data.Members (as members.csv was read)
	// names a user of users.csv, found when its id was interned (then
	// Validate does not look for it again); nil for Graph JSON.
	memberUser []bool
	// consume: the next Apply takes the rows (Consume); consumed: it has.
	consume, consumed bool
}

// interned is an id (or a product name) as the bundle spelled it first,
// and whether it is a user's id in users.csv.
type interned struct {
	s    string
	user bool
}

// intern returns the id as users.csv or groups.csv spelled it, if they have it.
func (b *Bundle) intern(id string) string {
	s, _ := b.internID(id)
	return s
}

// internID is intern, and whether id is a user's id in users.csv.
func (b *Bundle) internID(id string) (string, bool) {
	if v, ok := b.ids[id]; ok {
		return v.s, v.user
	}
	return id, false
}

// internName interns a value of few distinct ones (a product name).
func (b *Bundle) internName(v string) string {
	if b.ids == nil {
		return v
	}
	if s, ok := b.ids[v]; ok {
		return s.s
	}
	s := strings.Clone(v)
	b.ids[s] = interned{s: s}
	return s
}

// Open reads a bundle from a directory or a .zip file.
func Open(path string, cat *catalog.Catalog) (*Bundle, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return Read(os.DirFS(path), cat)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadZipAt(f, st.Size(), cat)
}

// ReadZip reads a bundle from the bytes of a .zip file (files may sit in
// one top-level folder). The limits of limits.go apply: at most
// MaxZipEntries entries, MaxUncompressed bytes in all, each entry at most
// MaxRatio times its compressed size, records of at most MaxRecord bytes;
// a damaged or oversized .zip is EINVALID.
func ReadZip(data []byte, cat *catalog.Catalog) (*Bundle, error) {
	return ReadZipAt(bytes.NewReader(data), int64(len(data)), cat)
}

// ReadZipAt is ReadZip over a .zip of size bytes read through r (a file: the
// .zip is never held in memory whole).
func ReadZipAt(r io.ReaderAt, size int64, cat *catalog.Catalog) (*Bundle, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, allot.Errorf(allot.EINVALID, "The bundle is not a valid .zip file: %v", err)
	}
	if len(zr.File) > MaxZipEntries {
		return nil, allot.Errorf(allot.EINVALID, "The bundle holds %d entries; a bundle has at most %d.", len(zr.File), MaxZipEntries)
	}
	var root fs.FS = zr
	if _, err := fs.Stat(zr, "users.csv"); err != nil {
		// One top-level folder?
		entries, _ := fs.ReadDir(zr, ".")
		if len(entries) == 1 && entries[0].IsDir() {
			if sub, err := fs.Sub(zr, entries[0].Name()); err == nil {
				root = sub
			}
		}
	}
	return read(root, cat, size)
}

// Read reads a bundle from a file system (opened from two goroutines at
// once).
func Read(fsys fs.FS, cat *catalog.Catalog) (*Bundle, error) { return read(fsys, cat, 0) }

// read reads a bundle; zipLen is the size of the .zip the files come from
// (0: not a .zip), which bounds what an entry's compressed size can be.
//
// members.csv, the largest file with users.csv, is read ahead on a
// goroutine of its own while the files before it are read (fsys is opened
// from both); its rows are interned once users.csv and groups.csv are in
// (readAhead). The result, errors and limits included, is that of reading
// the files one after the other in the order of the steps.
func read(fsys fs.FS, cat *catalog.Catalog, zipLen int64) (*Bundle, error) {
	b := &Bundle{subLine: map[string]string{}, subPart: map[string]string{}, ids: map[string]interned{}}
	defer func() { b.ids = nil }()
	b.Data.Units = map[string]int{}
	var ahead *memberRows
	if readAhead {
		ahead = readMembersAhead(fsys, zipLen)
		defer ahead.stop()
	}
	steps := []struct {
		name string
		fn   func(*table) error
	}{
		{"subscriptions.csv", b.readSubscriptions},
		{"allotments.csv", func(t *table) error { return b.readAllotments(t, cat) }},
		{"users.csv", b.readUsers},
		{"groups.csv", b.readGroups},
		{"members.csv", b.readMembers},
		{"group_licenses.csv", func(t *table) error { return b.readLicenses(t, cat, true) }},
		{"direct_licenses.csv", func(t *table) error { return b.readLicenses(t, cat, false) }},
		{"seats.csv", func(t *table) error { return b.readSeats(t, cat) }},
	}
	// A large bundle's rows grow the heap by about twice their bytes while
	// they are read: the heap's reserve is populated ahead of them
	// (memtune.HeapGrows).
	var size int64
	for _, s := range steps {
		if fi, err := fs.Stat(fsys, s.name); err == nil {
			size += fi.Size()
		}
	}
	defer memtune.HeapGrows(2 * size)()
	left := &budget{left: uncompressedBudget}
	for _, s := range steps {
		if s.name == "members.csv" && ahead != nil {
			if r := ahead.wait(); r.ok(left.left) {
				if !r.missing {
					left.left -= r.bytes
					b.internMembers(r)
				}
				continue
			}
			// Read again in order: the same file gives the error it gave
			// ahead, or the bundle's budget runs out in it.
		}
		if _, err := readStep(fsys, s.name, left, zipLen, func(t *table) error {
			if s.name == "subscriptions.csv" {
				b.hasSubsFile = true
			}
			return s.fn(t)
		}); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// readAhead: whether read reads members.csv ahead (tests compare both).
var readAhead = true

// readStep reads one file of the bundle through fn, within what is left
// of the bundle's budget; a missing file is skipped (found is false). Its
// errors name the file (and the line where fn's do).
func readStep(fsys fs.FS, name string, left *budget, zipLen int64, fn func(*table) error) (found bool, err error) {
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, allot.Errorf(allot.EINVALID, "%s cannot be read: %v", name, err)
	}
	defer f.Close()
	cf := &countedFile{r: f, name: name, b: left}
	// The size only sizes the first allocations: it is the file's own
	// size on disk, but from a .zip it is believed only up to what
	// the entry may yield (never more than the budget).
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
		if h, ok := st.Sys().(*zip.FileHeader); ok && zipLen > 0 {
			compressed := int64(min(h.CompressedSize64, uint64(zipLen)))
			cf.limit = compressed*MaxRatio + ratioSlack
			size = min(size, compressed*MaxRatio)
		}
	}
	size = max(min(size, left.left), 0)
	t, err := newTable(name, cf, size)
	if err == nil {
		err = fn(t)
	}
	if err != nil {
		if isSizeError(err) {
			return true, allot.Errorf(allot.EINVALID, "%s: %s.", name, sizeCause(err))
		}
		if allot.ErrorCode(err) != allot.EINVALID {
			err = allot.Errorf(allot.EINVALID, "%s cannot be read: %v", name, err)
		}
		return true, err
	}
	return true, nil
}

// memberRows is members.csv read ahead: its rows as the file spells them,
// not yet interned.
type memberRows struct {
	done    chan struct{}
	stopped atomic.Bool
	// Set when done is closed:
	missing bool        // there is no members.csv
	err     error       // the reading failed
	bytes   int64       // the bytes the file yielded
	rows    [][2]string // group, member
	lines   places      // the rows' lines
}

// readMembersAhead starts reading members.csv on a goroutine of its own,
// with the whole of the bundle's budget (wait says whether what it read
// fits in what the files before it left).
func readMembersAhead(fsys fs.FS, zipLen int64) *memberRows {
	r := &memberRows{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		found, err := readStep(fsys, "members.csv", &budget{left: uncompressedBudget}, zipLen, func(t *table) error {
			defer func() { r.bytes = t.src.read }()
			return readMemberRows(t, &r.rows, &r.lines, &r.stopped)
		})
		r.missing, r.err = !found, err
	}()
	return r
}

// wait returns the rows once read.
func (r *memberRows) wait() *memberRows { <-r.done; return r }

// stop ends the reading (the bundle failed before members.csv) and waits
// for it.
func (r *memberRows) stop() { r.stopped.Store(true); <-r.done }

// ok reports whether the rows are what reading members.csv in order, with
// left bytes of the budget, gives: the file was read whole without error
// and within left (a missing file is skipped in order too).
func (r *memberRows) ok(left int64) bool {
	return r.err == nil && !r.stopped.Load() && r.bytes <= left
}

// sizeCause is the message of the size error inside err.
func sizeCause(err error) string {
	var se *sizeError
	errors.As(err, &se)
	return se.msg
}

// places remembers where each row of one kind came from: a line of a CSV
// file, kept as a number (a bundle can have millions of rows), or a
// position in a Graph JSON file.
type places struct {
	file  string
	lines []int32
	texts []string
}

func (p *places) line(file string, n int) { p.file = file; p.lines = append(p.lines, int32(n)) }
func (p *places) grow(n int)              { p.lines = slices.Grow(p.lines, n) }
func (p *places) text(s string)           { p.texts = append(p.texts, s) }

// at describes the i-th row: "file.csv:12".
func (p *places) at(i int) string {
	if p.texts != nil {
		return p.texts[i]
	}
	return fmt.Sprintf("%s:%d", p.file, p.lines[i])
}

// table reads one CSV file by header names.
type table struct {
	name string
	src  *countedFile
	r    *csv.Reader
	col  map[string]int
	hdr  []string
	rec  []string
	line int
	est  int // estimated number of rows
}

// readBuffer is the buffer between a bundle file and its CSV reader.
const readBuffer = 1 << 16

func newTable(name string, src *countedFile, size int64) (*table, error) {
	br := bufio.NewReaderSize(src, readBuffer)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
		br.Discard(3)
	}
	// Estimate the rows from the first 64 KiB, so that the slices the rows
	// go into are allocated once (a million users are copied otherwise).
	est := 0
	if head, _ := br.Peek(1 << 16); len(head) > 0 {
		nl := bytes.Count(head, []byte{'\n'})
		if int64(len(head)) >= size {
			est = nl
		} else if nl > 0 {
			est = int(size * int64(nl) / int64(len(head)) * 21 / 20)
		}
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	hdr, err := cr.Read()
	if err == io.EOF {
		return &table{name: name, src: src, r: cr, col: map[string]int{}}, nil
	}
	if err != nil {
		if isSizeError(err) {
			return nil, err
		}
		return nil, allot.Errorf(allot.EINVALID, "%s:1: %v", name, err)
	}
	src.newRecord()
	hdr = append([]string(nil), hdr...) // the reader reuses its record
	t := &table{name: name, src: src, r: cr, col: map[string]int{}, hdr: hdr, line: 1, est: est}
	for i, h := range hdr {
		k := strings.ToLower(strings.TrimSpace(h))
		if _, dup := t.col[k]; dup {
			return nil, allot.Errorf(allot.EINVALID, "%s:1: column %q appears twice", name, h)
		}
		t.col[k] = i
	}
	return t, nil
}

// need fails unless the header has the columns.
func (t *table) need(cols ...string) error {
	for _, c := range cols {
		if _, ok := t.col[strings.ToLower(c)]; !ok {
			return allot.Errorf(allot.EINVALID, "%s:1: missing column %s", t.name, c)
		}
	}
	return nil
}

// next reads the next record; false at the end.
func (t *table) next() (bool, error) {
	for {
		rec, err := t.r.Read()
		if err == io.EOF {
			return false, nil
		}
		t.line++
		if err != nil {
			if isSizeError(err) {
				return false, allot.Errorf(allot.EINVALID, "%s:%d: %s.", t.name, t.line, sizeCause(err))
			}
			return false, allot.Errorf(allot.EINVALID, "%s:%d: %v", t.name, t.line, err)
		}
		t.src.newRecord()
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		t.rec = rec
		return true, nil
	}
}

func (t *table) get(col string) string {
	i, ok := t.col[strings.ToLower(col)]
	if !ok || i >= len(t.rec) {
		return ""
	}
	return strings.TrimSpace(t.rec[i])
}

// field is the trimmed value of column i of the current record.
func (t *table) field(i int) string {
	if i >= len(t.rec) {
		return ""
	}
	return strings.TrimSpace(t.rec[i])
}

func (t *table) at() string { return fmt.Sprintf("%s:%d", t.name, t.line) }

func (t *table) errf(format string, args ...any) error {
	return allot.Errorf(allot.EINVALID, "%s: %s", t.at(), fmt.Sprintf(format, args...))
}

func (b *Bundle) readAllotments(t *table, cat *catalog.Catalog) error {
	if err := t.need("id", "displayName", "skuPartNumber", "allottedUnits"); err != nil {
		return err
	}
	for {
		ok, err := t.next()
		if !ok || err != nil {
			return err
		}
		n, err := strconv.Atoi(t.get("allottedUnits"))
		if err != nil || n < 0 {
			return t.errf("allottedUnits %q is not a whole number of 0 or more", t.get("allottedUnits"))
		}
		a := licensing.Allotment{ID: t.get("id"), DisplayName: t.get("displayName"), SKUID: t.get("skuPartNumber"), AllottedUnits: n,
			AssignableTo: t.get("assignableTo"), Owners: splitList(t.get("owners"))}
		if a.AssignableTo == "" {
			a.AssignableTo = "user,group"
		}
		if err := parseTime(t.get("createdDateTime"), &a.CreatedAt); err != nil {
			return t.errf("createdDateTime %v", err)
		}
		b.Data.Allotments = append(b.Data.Allotments, a)
		b.allotLine.line(t.name, t.line)
	}
}

// userColumns are the users.csv columns with their own User field: the
// registry's Column properties (package userprop), keyed by lower-case
// name. Every other column is kept in User.Attributes.
var userColumns = func() map[string]func(*licensing.User, string) error {
	m := map[string]func(*licensing.User, string) error{}
	for i := range userprop.Users {
		if p := &userprop.Users[i]; p.Column {
			m[p.Key()] = columnSetter(p)
		}
	}
	return m
}()

// columnSetter reads a users.csv cell: a Bool is true or false (empty is
// true, a user is enabled unless the file says otherwise), a Strings
// collection is separated by ";", a Time is RFC 3339.
func columnSetter(p *userprop.Property) func(*licensing.User, string) error {
	switch p.Type {
	case userprop.Bool:
		return func(u *licensing.User, v string) error {
			if v == "" {
				p.SetBool(u, true)
				return nil
			}
			b, err := strconv.ParseBool(strings.ToLower(v))
			if err != nil {
				return fmt.Errorf("%s %q is not true or false", p.Name, v)
			}
			p.SetBool(u, b)
			return nil
		}
	case userprop.Strings:
		return func(u *licensing.User, v string) error { p.SetStrings(u, splitList(v)); return nil }
	case userprop.Time:
		return func(u *licensing.User, v string) error {
			var t time.Time
			if err := parseTime(v, &t); err != nil {
				return err
			}
			p.SetTime(u, t)
			return nil
		}
	}
	return func(u *licensing.User, v string) error { p.Set(u, v); return nil }
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseTime(v string, dst *time.Time) error {
	if v == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return fmt.Errorf("%q is not an RFC 3339 time such as 2025-01-31T09:00:00Z", v)
	}
	if _, ok := licensing.InstantIn(t); !ok {
		return fmt.Errorf("%q is outside the years 1678 to 2262", v)
	}
	*dst = t.UTC()
	return nil
}

// parseInstant is parseTime into an Instant.
func parseInstant(v string, dst *licensing.Instant) error {
	var t time.Time
	if err := parseTime(v, &t); err != nil {
		return err
	}
	*dst = licensing.InstantOf(t)
	return nil
}

func (b *Bundle) readUsers(t *table) error {
	if err := t.need("id", "userPrincipalName"); err != nil {
		return err
	}
	b.Data.Users = slices.Grow(b.Data.Users, t.est)
	b.userLine.grow(t.est)
	// The ids are interned on a goroutine of their own, in the order of
	// the rows, while the rows are read; b.ids is its alone until
	// readUsers returns.
	ids := make(chan []string, 64)
	idsDone := make(chan struct{})
	go func() {
		defer close(idsDone)
		if len(b.ids) == 0 {
			b.ids = make(map[string]interned, t.est+t.est/64)
		}
		for batch := range ids {
			for _, id := range batch {
				if _, dup := b.ids[id]; !dup {
					b.ids[id] = interned{s: id, user: true}
				}
			}
		}
	}()
	batch := make([]string, 0, idBatch)
	defer func() {
		ids <- batch
		close(ids)
		<-idsDone
	}()
	// Each column's key and setter, found once (not per row).
	// A profile text's column is gathered with the row's others and the
	// user's profile packed once (a SetText per column would pack it
	// anew each time).
	type column struct {
		key    string
		set    func(*licensing.User, string) error
		text   userprop.Text
		isText bool
	}
	cols := make([]column, len(t.hdr))
	for i, h := range t.hdr {
		k := strings.ToLower(strings.TrimSpace(h))
		cols[i] = column{key: k, set: userColumns[k]}
		if p, ok := userprop.Lookup(k); ok && p.Column {
			cols[i].text, cols[i].isText = p.ProfileText()
		}
	}
	var texts userprop.Texts
	for {
		ok, err := t.next()
		if !ok || err != nil {
			return err
		}
		// The user is built where it stays (a User escapes through the
		// setters: built apart, each would be a heap object of its own).
		b.Data.Users = append(b.Data.Users, licensing.User{AccountEnabled: true})
		u := &b.Data.Users[len(b.Data.Users)-1]
		texts = userprop.Texts{}
		for i, c := range cols {
			k := c.key
			v := ""
			if i < len(t.rec) {
				v = strings.TrimSpace(t.rec[i])
			}
			if c.isText {
				texts[c.text] = v
				continue
			}
			if set := c.set; set != nil {
				if err := set(u, v); err != nil {
					return t.errf("%v", err)
				}
				continue
			}
			if v != "" {
				if u.Attributes == nil {
					u.Attributes = map[string]string{}
				}
				u.Attributes[k] = v
			}
		}
		u.SetTexts(&texts)
		if batch = append(batch, u.ID); len(batch) == idBatch {
			ids <- batch
			batch = make([]string, 0, idBatch)
		}
		b.userLine.line(t.name, t.line)
	}
}

// idBatch is how many users' ids readUsers hands to be interned at once.
const idBatch = 1024

func (b *Bundle) readGroups(t *table) error {
	if err := t.need("id", "displayName"); err != nil {
		return err
	}
	for {
		ok, err := t.next()
		if !ok || err != nil {
			return err
		}
		g := licensing.Group{ID: t.get("id"), DisplayName: t.get("displayName"), Description: t.get("description"),
			MailNickname: t.get("mailNickname"), MembershipRule: t.get("membershipRule"),
			MembershipRuleProcessingState: t.get("membershipRuleProcessingState"), AssignmentMode: t.get("assignmentMode"), SecurityEnabled: true}
		if v := t.get("securityEnabled"); v != "" {
			b, err := strconv.ParseBool(strings.ToLower(v))
			if err != nil {
				return t.errf("securityEnabled %q is not true or false", v)
			}
			g.SecurityEnabled = b
		}
		if v := t.get("mailEnabled"); v != "" {
			g.MailEnabled, _ = strconv.ParseBool(strings.ToLower(v))
		}
		if g.MembershipRule != "" {
			g.GroupTypes = []string{"DynamicMembership"}
		}
		if err := parseTime(t.get("createdDateTime"), &g.CreatedAt); err != nil {
			return t.errf("createdDateTime %v", err)
		}
		if _, dup := b.ids[g.ID]; !dup {
			b.ids[g.ID] = interned{s: g.ID}
		}
		b.Data.Groups = append(b.Data.Groups, g)
		b.groupLine.line(t.name, t.line)
	}
}

func (b *Bundle) readMembers(t *table) error {
	r := &memberRows{}
	if err := readMemberRows(t, &r.rows, &r.lines, nil); err != nil {
		return err
	}
	b.internMembers(r)
	return nil
}

// errStopped ends a read ahead that is no longer wanted.
var errStopped = errors.New("stopped")

// readMemberRows reads members.csv's rows as the file spells them into
// rows and lines; a set stop ends it with errStopped.
func readMemberRows(t *table, rows *[][2]string, lines *places, stop *atomic.Bool) error {
	if err := t.need("groupId", "userId"); err != nil {
		return err
	}
	gi, ui := t.col["groupid"], t.col["userid"]
	*rows = slices.Grow(*rows, t.est)
	lines.grow(t.est)
	for n := 0; ; n++ {
		if stop != nil && n%4096 == 0 && stop.Load() {
			return errStopped
		}
		ok, err := t.next()
		if !ok || err != nil {
			return err
		}
		*rows = append(*rows, [2]string{t.field(gi), t.field(ui)})
		lines.line(t.name, t.line)
	}
}

// internMembers takes the rows of members.csv with their ids interned
// (those of users.csv and groups.csv, read by then), on every core for a
// large file: each row is looked up on its own.
func (b *Bundle) internMembers(r *memberRows) {
	rows := r.rows
	user := make([]bool, len(rows), cap(rows))
	intern := func(from, to int) {
		group, spelled := "", "" // the run of rows of one group so far (they come together)
		for i := from; i < to; i++ {
			m := &rows[i]
			if i == from || m[0] != spelled {
				spelled, group = m[0], b.intern(m[0])
			}
			m[0] = group
			m[1], user[i] = b.internID(m[1])
		}
	}
	n := 1
	if len(rows) >= 2*minMembersPerWorker {
		n = min(goruntime.GOMAXPROCS(0), len(rows)/minMembersPerWorker)
	}
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() { intern(w*len(rows)/n, (w+1)*len(rows)/n) })
	}
	wg.Wait()
	b.Data.Members, b.memberUser, b.memberLine = rows, user, r.lines
}

// minMembersPerWorker keeps small files' memberships on one goroutine
// (tests lower it).
var minMembersPerWorker = 1 << 16

func (b *Bundle) readLicenses(t *table, cat *catalog.Catalog, group bool) error {
	owner := "userId"
	if group {
		owner = "groupId"
	}
	if err := t.need(owner, "skuPartNumber"); err != nil {
		return err
	}
	for {
		ok, err := t.next()
		if !ok || err != nil {
			return err
		}
		s := licensing.OwnedSource{Owner: b.intern(t.get(owner))}
		s.SKUID = b.internName(t.get("skuPartNumber")) // resolved in Validate
		s.AllotmentID = t.get("allotmentId")
		s.DisabledPlans = splitList(t.get("disabledPlans"))
		if err := parseTime(t.get("assignedAt"), &s.AssignedAt); err != nil {
			return t.errf("assignedAt %v", err)
		}
		if group {
			b.Data.GroupLicenses = append(b.Data.GroupLicenses, s)
			b.glLine.line(t.name, t.line)
		} else {
			b.Data.DirectLicenses = append(b.Data.DirectLicenses, s)
			b.dlLine.line(t.name, t.line)
		}
	}
}

func (b *Bundle) readSeats(t *table, cat *catalog.Catalog) error {
	if err := t.need("userId", "skuPartNumber", "claimedAt", "held"); err != nil {
		return err
	}
	b.Data.Seats = slices.Grow(b.Data.Seats, t.est)
	b.seatLine.grow(t.est)
	for {
		ok, err := t.next()
		if !ok || err != nil {
			return err
		}
		l := licensing.License{UserID: b.intern(t.get("userId")), SKUID: b.internName(t.get("skuPartNumber")), AllotmentID: b.internName(t.get("allotmentId")), LicenseState: licensing.LicenseState{Claimed: true}}
		if err := parseInstant(t.get("claimedAt"), &l.Since); err != nil || l.Since.IsZero() {
			return t.errf("claimedAt %q is not an RFC 3339 time", t.get("claimedAt"))
		}
		held, err := strconv.ParseBool(strings.ToLower(t.get("held")))
		if err != nil {
			return t.errf("held %q is not true or false", t.get("held"))
		}
		l.Held = held
		if err := parseInstant(t.get("heldSince"), &l.HeldSince); err != nil {
			return t.errf("heldSince %v", err)
		}
		b.Data.Seats = append(b.Data.Seats, l)
		b.seatLine.line(t.name, t.line)
	}
}
