package tenant

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"allot/audit"
	"allot/internal/memtune"
	"allot/licensing"
	"allot/store"
)

// Stored forms of the engine's records. Users, groups, license sources
// and license records are stored in the binary record format of package
// licensing (licensing.AppendUserBinary, …); a membership is one byte,
// what the member is. Databases written before hold JSON bodies (the
// engine's types, and {"type":"user"|"group"} for a membership), which
// DecodeRecord reads too. The ids join their parts with "/".
func key2(a, b string) string { return a + "/" + b }

// The stored bodies of members: always one of two. Never modified (every
// membership's mutation shares them).
var (
	userMemberBody  = []byte{'u'}
	groupMemberBody = []byte{'g'}
)

// Member types (DecodeRecord of a member).
const (
	MemberUser  = "user"
	MemberGroup = "group"
)

// DecodeRecord decodes the stored body of an engine record of kind, in
// the binary format or in JSON (bodies written before it): a
// licensing.User, a licensing.Group, a licensing.LicenseSource
// (groupLicense, directLicense), a licensing.License, or MemberUser or
// MemberGroup (member). Another kind, or a body that does not decode, is
// an error. What it returns shares no memory with body.
func DecodeRecord(kind store.Kind, body []byte) (any, error) {
	switch kind {
	case store.KindUser:
		return decodeBody(body, licensing.DecodeUser)
	case store.KindGroup:
		return decodeBody(body, licensing.DecodeGroup)
	case store.KindGroupLicense, store.KindDirectLicense:
		return decodeBody(body, licensing.DecodeLicenseSource)
	case store.KindLicense:
		return decodeBody(body, licensing.DecodeLicense)
	case store.KindMember:
		switch {
		case bytes.Equal(body, userMemberBody):
			return MemberUser, nil
		case bytes.Equal(body, groupMemberBody):
			return MemberGroup, nil
		}
		var m struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		if m.Type != MemberUser && m.Type != MemberGroup {
			return nil, fmt.Errorf("member type %q is not user or group", m.Type)
		}
		return m.Type, nil
	}
	return nil, fmt.Errorf("%s is not a kind of engine record", kind)
}

// decodeBody decodes a stored body of an engine record: binary with
// decode, or JSON.
// decodeUserRecord decodes a stored user body, binary or JSON, into a
// record an engine can keep (licensing.LoadUserRecord).
func decodeUserRecord(body []byte) (*licensing.UserRecord, error) {
	if licensing.IsBinary(body) {
		return licensing.DecodeUserRecord(body)
	}
	var u licensing.User
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, err
	}
	return licensing.NewUserRecord(u), nil
}

// decodeLicenseRecord decodes a stored license record body, binary or
// JSON, into a record an engine can keep (licensing.LoadLicenseRecord).
func decodeLicenseRecord(body []byte) (*licensing.LicenseRecord, error) {
	if licensing.IsBinary(body) {
		return licensing.DecodeLicenseRecord(body)
	}
	var l licensing.License
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, err
	}
	return licensing.NewLicenseRecord(l), nil
}

func decodeBody[T any](body []byte, decode func([]byte) (T, error)) (T, error) {
	if licensing.IsBinary(body) {
		return decode(body)
	}
	var v T
	err := json.Unmarshal(body, &v)
	return v, err
}

// bodies hands out the binary bodies of a change appended to shared
// blocks, so that a change of many records makes few allocations. A body's
// capacity ends with it, and no body is modified once handed out.
type bodies struct {
	buf  []byte
	next int // the size of the next block
	size int // the bytes handed out
}

// bodyRoom is the room a block must have left for the next body.
const bodyRoom = 256

func (b *bodies) add(encode func(dst []byte) []byte) []byte {
	const minBlock, maxBlock = 1 << 10, 64 << 10
	if cap(b.buf)-len(b.buf) < bodyRoom {
		b.next = min(max(2*b.next, minBlock), maxBlock)
		b.buf = make([]byte, 0, b.next)
	}
	start := len(b.buf)
	b.buf = encode(b.buf)
	b.size += len(b.buf) - start
	return b.buf[start:len(b.buf):len(b.buf)]
}

func (b *bodies) user(u *licensing.User) []byte {
	return b.add(func(dst []byte) []byte { return licensing.AppendUserBinary(dst, u) })
}

func (b *bodies) group(g *licensing.Group) []byte {
	return b.add(func(dst []byte) []byte { return licensing.AppendGroupBinary(dst, g) })
}

func (b *bodies) source(s *licensing.LicenseSource) []byte {
	return b.add(func(dst []byte) []byte { return licensing.AppendLicenseSourceBinary(dst, s) })
}

func (b *bodies) license(l *licensing.License) []byte {
	return b.add(func(dst []byte) []byte { return licensing.AppendLicenseBinary(dst, l) })
}

// settingsID is the id of the licensing settings object (KindSetting).
const settingsID = "licensing"

// serialize turns an engine delta plus a batch's other mutations and audit
// entries into one store change, reading the current values from the
// engine. Audit entries get the tenant's next sequence numbers. Without
// records, the engine's users, groups, members, license sources and
// license records are left out (commitBulk streams them).
func (t *Tenant) serialize(d licensing.Delta, muts []store.Mutation, extra []audit.Entry, records bool) (store.Change, error) {
	c := store.Change{TenantID: t.ID, Fence: t.fence}
	if records {
		c.Mutations = slices.Grow(c.Mutations, engineObjects(&d)+len(muts))
	}
	var err error
	if c.Mutations, err = appendEngine(c.Mutations, t.writer.Engine, &d, records); err != nil {
		return c, err
	}
	c.Mutations = append(c.Mutations, muts...)
	if records && len(c.Mutations) > 0 && t.writer.logSeq >= 0 {
		c.Mutations = append(c.Mutations, t.rt.stampMutation(t.writer.logSeq+1))
	}
	for _, list := range [][]audit.Entry{d.Audit, extra} {
		for _, a := range list {
			t.seq++
			a.TenantID, a.Seq = t.ID, t.seq
			c.Audit = append(c.Audit, a)
		}
	}
	return c, nil
}

// appendEngine appends to ms the mutations that bring a store (or a copy
// of the state: State.apply) to e's values of what d names: the current
// value of each object, or its deletion when e has none. Without records,
// the engine's users, groups, members, license sources and license
// records are left out. Units of a SKU e has no pool of are left out too
// (units are never deleted).
func appendEngine(ms []store.Mutation, e *licensing.Engine, d *licensing.Delta, records bool) ([]store.Mutation, error) {
	put := func(kind store.Kind, id string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", kind, id, err)
		}
		ms = append(ms, store.Mutation{Kind: kind, ID: id, Body: b})
		return nil
	}
	var bs bodies
	putBody := func(kind store.Kind, id string, body []byte) {
		ms = append(ms, store.Mutation{Kind: kind, ID: id, Body: body})
	}
	del := func(kind store.Kind, id string) {
		ms = append(ms, store.Mutation{Kind: kind, ID: id, Delete: true})
	}
	if records {
		for _, id := range sortedKeys(d.Users) {
			if u, ok := e.User(id); ok {
				putBody(store.KindUser, id, bs.user(&u))
			} else {
				del(store.KindUser, id)
			}
		}
		for _, id := range sortedKeys(d.Groups) {
			if g, ok := e.Group(id); ok {
				putBody(store.KindGroup, id, bs.group(&g))
			} else {
				del(store.KindGroup, id)
			}
		}
		for _, k := range sortedKeys2(d.Members) {
			if !d.Members[k] {
				del(store.KindMember, key2(k[0], k[1]))
				continue
			}
			putBody(store.KindMember, key2(k[0], k[1]), memberBodyOf(e, k[1]))
		}
		for _, k := range sortedKeys2(d.GroupLicenses) {
			if l, ok := findSource(e.GroupLicenses(k[0]), k[1]); ok {
				putBody(store.KindGroupLicense, key2(k[0], k[1]), bs.source(&l))
			} else {
				del(store.KindGroupLicense, key2(k[0], k[1]))
			}
		}
		for _, k := range sortedKeys2(d.DirectLicenses) {
			if l, ok := findSource(e.DirectLicenses(k[0]), k[1]); ok {
				putBody(store.KindDirectLicense, key2(k[0], k[1]), bs.source(&l))
			} else {
				del(store.KindDirectLicense, key2(k[0], k[1]))
			}
		}
		seen := make(map[licensing.Key2]bool, len(d.Licenses))
		for _, k := range d.Licenses {
			if seen[k] {
				continue
			}
			seen[k] = true
			if l, ok := e.LicenseByKey(k[0], k[1]); ok {
				putBody(store.KindLicense, key2(k[0], k[1]), bs.license(&l))
			} else {
				del(store.KindLicense, key2(k[0], k[1]))
			}
		}
	}
	for _, id := range sortedKeys(d.Pools) {
		if p, ok := e.Pool(id); ok {
			if err := put(store.KindUnits, id, p.Units); err != nil {
				return ms, err
			}
		}
	}
	for _, id := range sortedKeys(d.Allotments) {
		if a, ok := e.AllotmentByID(id); ok {
			if err := put(store.KindAllotment, id, a.Allotment); err != nil {
				return ms, err
			}
		} else {
			del(store.KindAllotment, id)
		}
	}
	if d.Settings {
		if err := put(store.KindSetting, settingsID, e.Settings()); err != nil {
			return ms, err
		}
	}
	return ms, nil
}

func memberBodyOf(e *licensing.Engine, memberID string) []byte {
	if e.IsGroup(memberID) {
		return groupMemberBody
	}
	return userMemberBody
}

// bulkMin is the number of engine records a batch must change for the bulk
// path: streamed to the store when the tenant had no users and groups
// before the batch (commitBulk), and, for a DoBulk command, published by
// swapping copies.
const bulkMin = 20_000

// engineObjects counts the engine records a delta touches.
func engineObjects(d *licensing.Delta) int {
	return len(d.Users) + len(d.Groups) + len(d.Members) + len(d.GroupLicenses) + len(d.DirectLicenses) + len(d.Licenses)
}

// streamBatch is the number of objects per batch handed to CommitBulk.
const streamBatch = 4096

// commitBulk commits a batch that started on a tenant without users and
// groups: the store has none of the engine's records of the tenant, so every
// record that exists after the batch is new and the ones that do not can be
// skipped. They are encoded in key order (kind, then id) by other
// goroutines, one per processor, while the store writes the previous
// batches, so that memory holds a few batches of encoded records, not all of
// them, and a batch the store is done with is reused.
func (t *Tenant) commitBulk(d licensing.Delta, muts []store.Mutation, extra []audit.Entry) error {
	c, err := t.serialize(d, muts, extra, false)
	if err != nil {
		return err
	}
	ch := make(chan *recBatch, 4)
	stop := make(chan struct{})
	var (
		wg   sync.WaitGroup
		perr error // written before ch is closed
	)
	e := t.writer.Engine
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ch)
		perr = encodeRecords(e, runtime.GOMAXPROCS(0), func(b *recBatch) bool {
			select {
			case ch <- b:
				return true
			case <-stop:
				return false
			}
		})
	}()
	var last *recBatch // the store is done with it when it asks for the next
	err = t.rt.store.CommitBulk(context.Background(), c, func() ([]store.Object, error) {
		if last != nil {
			last.free()
			last = nil
		}
		b, ok := <-ch
		if !ok {
			return nil, perr
		}
		last = b
		return b.objs, nil
	})
	close(stop)
	wg.Wait()
	return err
}

// stampBulk commits the derivation stamp after a bulk commit, whose log
// number is known only once it is committed (derivation.go). Without it
// the tenant's next load recomputes and stamps, so a failure is only
// logged.
func (t *Tenant) stampBulk() {
	if t.writer.logSeq < 0 {
		return
	}
	cs := []store.Change{{TenantID: t.ID, Fence: t.fence, Mutations: []store.Mutation{t.rt.stampMutation(t.writer.logSeq + 1)}}}
	if err := t.rt.store.Commit(context.Background(), cs); err != nil {
		t.rt.log.Warn("the derivation stamp of a bulk commit could not be stored; the next load recomputes", "tenant", t.ID, "err", err)
		return
	}
	t.committed(&cs[0], false)
}

// commitFresh commits a large batch that started on a tenant without users
// and groups (commitBulk) and, for a swap, builds the read models of the
// copy that will be published (indexed). They are built while the store
// writes: both only read the writer's engine, and the store's work leaves
// a core free. Under the process's memory policy for bulk commits
// (memtune.BoundHeap: a collection first, then a bounded heap) they are
// built after it instead, after a collection (memtune.BetweenBulkPhases):
// at a million users the read models' ~700 MB then reuse the commit's
// garbage, and the import's peak RSS fell from 2,385–2,391 to 2,265 MiB
// (docs/BENCHMARKS.md, session 16). A failed commit replaces the writer's
// copy (fail), indexes and all.
func (t *Tenant) commitFresh(d licensing.Delta, muts []store.Mutation, extra []audit.Entry, swap bool) (indexed bool, err error) {
	users := t.writer.Engine.UserCount()
	after := memtune.BoundsBulk(users)
	var built sync.WaitGroup
	if swap && !after {
		built.Go(t.writer.buildIndexes)
		indexed = true
	}
	bound := memtune.BoundHeap(users)
	err = t.commitBulk(d, muts, extra)
	bound()
	built.Wait()
	if swap && after && err == nil {
		memtune.BetweenBulkPhases(users)
		t.writer.buildIndexes()
		indexed = true
	}
	return indexed, err
}

// cmpJoined compares a1+"/"+b1 with a2+"/"+b2 without building them.
func cmpJoined(a1, b1, a2, b2 string) int {
	at := func(a, b string, i int) (byte, bool) {
		switch {
		case i < len(a):
			return a[i], true
		case i == len(a):
			return '/', true
		case i-len(a)-1 < len(b):
			return b[i-len(a)-1], true
		}
		return 0, false
	}
	if a1 == a2 {
		return strings.Compare(b1, b2)
	}
	for i := 0; ; i++ {
		x, okx := at(a1, b1, i)
		y, oky := at(a2, b2, i)
		switch {
		case !okx && !oky:
			return 0
		case !okx:
			return -1
		case !oky:
			return 1
		case x != y:
			if x < y {
				return -1
			}
			return 1
		}
	}
}

// poolKey is a source's pool key: skuId, or skuId/allotmentId.
func poolKey(l licensing.LicenseSource) string {
	if l.AllotmentID == "" {
		return l.SKUID
	}
	return l.SKUID + "/" + l.AllotmentID
}

// findSource finds a source by pool key: skuId, or skuId/allotmentId.
func findSource(ls []licensing.LicenseSource, key string) (licensing.LicenseSource, bool) {
	sku, allotment, _ := strings.Cut(key, "/")
	for _, l := range ls {
		if l.SKUID == sku && l.AllotmentID == allotment {
			return l, true
		}
	}
	return licensing.LicenseSource{}, false
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func cmpKey2(a, b licensing.Key2) int {
	if c := cmp.Compare(a[0], b[0]); c != 0 {
		return c
	}
	return cmp.Compare(a[1], b[1])
}

func sortedKeys2(m map[licensing.Key2]bool) []licensing.Key2 {
	ks := make([]licensing.Key2, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, cmpKey2)
	return ks
}
