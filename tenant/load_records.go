package tenant

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"allot/catalog"
	"allot/internal/blocks"
	"allot/internal/memtune"
	"allot/licensing"
	"allot/store"
)

// buildState builds a tenant's state from the store without writing
// anything: the records that break an invariant are left out and returned
// as problems, and the engine is recomputed (its delta is the start-up
// repair). Only a store that cannot be read is an error. The steps:
// decode every stored record (storedRecords.read), build the catalog with
// the tenant's custom products, load the records into a new engine in
// dependency order (storedRecords.loadInto), hand the other objects to
// their extensions or keep them, and recompute — or, when the derivation
// stamp says the stored license records are what a recompute here would
// derive, adopt them (derivation.go).
func (r *Runtime) buildState(ctx context.Context, tenantID string, now time.Time) (*State, int64, []Problem, error) {
	recs := newStoredRecords()
	defer recs.endPause() // on every return; the load's own end is below
	logSeq, err := r.loadObjects(ctx, tenantID, func(o store.Object) error {
		recs.read(o)
		return nil
	}, recs.loadOptions())
	recs.decoded()
	if err != nil {
		return nil, 0, nil, err
	}
	cat := r.cat
	if len(recs.products) > 0 {
		var err error
		if cat, err = r.cat.WithCustom(recs.products); err != nil {
			return nil, 0, nil, fmt.Errorf("custom products: %w", err)
		}
	}
	e := licensing.New(cat, recs.settings)
	recs.loadInto(e)
	// A large load's pause of the collector lasts until the engine is
	// filled: its collection then frees the decoding's last garbage and the
	// decoded records the engine took over together (~0.9 GB at a million
	// users), and the read models built next reuse that memory. Ended at
	// the decoding's end instead, the pause collected once more and the
	// read models took ~0.6 GB of memory touched for the first time, which
	// a VM charges for (docs/BENCHMARKS.md, session 16).
	if loadFilled != nil {
		loadFilled()
	}
	recs.endPause()
	seq, err := r.store.MaxAuditSeq(ctx, tenantID)
	if err != nil {
		return nil, 0, nil, err
	}
	st := newState(e, r.reg)
	st.logSeq = logSeq
	recs.keepOthers(st)
	if len(recs.problems) == 0 && r.adoptable(recs.stamp, logSeq) {
		e.Adopt(licensing.Op{Now: now})
		st.adopted = true
	} else {
		e.Recompute(licensing.Op{Now: now, Why: "start-up"})
	}
	return st, seq, recs.problems, nil
}

// storedRecords are a tenant's stored records, decoded, on their way into
// an engine, with the problems found so far (records left out).
type storedRecords struct {
	dec       decoders
	users     bulk[*licensing.UserRecord]
	groups    chunked[rec[licensing.Group]]
	members   []memberRun
	run       []string // the ids of the last run's members, until endRun
	memberIDs []string // the block the runs' lists of ids are carved from (endRun)
	ids       []byte   // the block the memberships', groups' and license sources' ids are copied into (blocks.Text)
	gls, dls  chunked[rec[licensing.LicenseSource]]
	lics      bulk[*licensing.LicenseRecord]
	units     map[string]licensing.Units
	allots    []licensing.Allotment
	products  []catalog.SKU
	settings  licensing.Settings
	stamp     []byte // the derivation stamp's body (derivation.go); nil: none
	other     []store.Object
	problems  []Problem
	nread     int                // objects read
	gc        *memtune.LoadPause // the collector's pause while a large load decodes (nil: none)
}

// memberRun is the stored memberships of one group, in stored order (a
// group's memberships are consecutive in key order).
type memberRun struct {
	group   string
	members []string
}

func newStoredRecords() *storedRecords {
	return &storedRecords{
		users: bulk[*licensing.UserRecord]{kind: store.KindUser,
			keyed: func(u *licensing.UserRecord, id string) bool { return u.ID() == id },
			keyOf: (*licensing.UserRecord).ID,
			newDecode: func() func([]byte) (*licensing.UserRecord, error) {
				var d licensing.UserDecoder // a chunk's records carved from a few blocks
				return func(body []byte) (*licensing.UserRecord, error) {
					if licensing.IsBinary(body) {
						return d.Decode(body)
					}
					return decodeUserRecord(body)
				}
			}},
		lics: bulk[*licensing.LicenseRecord]{kind: store.KindLicense, keyed: licenseKeyed, keyOf: licenseKey,
			newDecode: func() func([]byte) (*licensing.LicenseRecord, error) {
				var d licensing.LicenseDecoder // a chunk's records share their products' and groups' strings, and a few blocks
				return func(body []byte) (*licensing.LicenseRecord, error) {
					if licensing.IsBinary(body) {
						return d.Decode(body)
					}
					return decodeLicenseRecord(body)
				}
			}},
	}
}

// licenseKey is the id a license record is stored under, from its own
// fields: userId/skuId, or userId/skuId/allotmentId (Tenant.serialize).
func licenseKey(l *licensing.LicenseRecord) string {
	user, sku, allotment := l.Key()
	if allotment == "" {
		return key2(user, sku)
	}
	return key2(user, sku+"/"+allotment)
}

// licenseKeyed is licenseKey(l) == id, without making the key.
func licenseKeyed(l *licensing.LicenseRecord, id string) bool {
	user, sku, allotment := l.Key()
	rest, ok := strings.CutPrefix(id, user)
	if !ok || !strings.HasPrefix(rest, "/") {
		return false
	}
	rest, ok = strings.CutPrefix(rest[1:], sku)
	if !ok {
		return false
	}
	if allotment == "" {
		return rest == ""
	}
	return strings.HasPrefix(rest, "/") && rest[1:] == allotment
}

// loadFilled, when set (by a test), is called once a load's engine is
// filled, before its pause of the collector ends.
var loadFilled func()

// endRun gives the last group's run its members, the ids gathered since
// it began (read), carved from a block of memberBlock (runs grown by
// append were ~125 MB of garbage at two million memberships).
func (rs *storedRecords) endRun() {
	if n := len(rs.members); n > 0 && len(rs.run) > 0 {
		ms := blocks.Carve(&rs.memberIDs, len(rs.run), memberBlock)
		copy(ms, rs.run)
		rs.members[n-1].members = ms
		clear(rs.run)
		rs.run = rs.run[:0]
	}
}

// memberBlock is how many member ids a block of storedRecords.memberIDs
// holds.
const memberBlock = 1 << 16

// decoded waits for the background decoding of the bulk records and takes
// the problems it found. A large load's pause of the collector goes on
// (endPause).
func (rs *storedRecords) decoded() {
	rs.endRun()
	rs.users.send(&rs.dec)
	rs.lics.send(&rs.dec)
	rs.dec.wait()
	rs.problems = append(rs.problems, rs.users.problems()...)
	rs.problems = append(rs.problems, rs.lics.problems()...)
}

// endPause ends the collector's pause of a large load, if any (its
// collection runs on the caller's goroutine); again: nothing.
func (rs *storedRecords) endPause() {
	rs.gc.End()
	rs.gc = nil
}

// bad leaves a record out, as a problem.
func (rs *storedRecords) bad(kind store.Kind, id string, why string) {
	rs.problems = append(rs.problems, deleteProblem(kind, id, why))
}

// loadOptions are the load's options for the store: a snapshot's users
// and license records are decoded by the store's decoding goroutines, as
// they decompress each part (store.LoadOptions.NewPrepare), and read keeps
// no view of what the store gives (Transient: every id and body kept is
// copied, and the records decoded from bodies are copies too), so the
// parts' memory is reused — at a million users ~0.7 GB of decompressed
// parts that were garbage.
func (rs *storedRecords) loadOptions() store.LoadOptions {
	return store.LoadOptions{Transient: true, NewPrepare: func() func(*store.Object) {
		user, lic := rs.users.newDecode(), rs.lics.newDecode()
		return func(o *store.Object) {
			switch o.Kind {
			case store.KindUser:
				o.Prepared = prepared(user(o.Body))
			case store.KindLicense:
				o.Prepared = prepared(lic(o.Body))
			}
		}
	}}
}

// prepared is a decoded record, or the error decoding it, as an object's
// Prepared (bulk.addPrepared reads it).
func prepared[T any](v T, err error) any {
	if err != nil {
		return err
	}
	return v
}

// read decodes one stored object into its place; one that cannot be
// decoded is a problem. It keeps no view of o's ID or Body (loadOptions).
func (rs *storedRecords) read(o store.Object) {
	// A load found large (about memtune.PauseMinUsers objects read) decodes
	// the rest with the collector paused (memtune.LoadWork), checked
	// once a chunk.
	rs.nread++
	if rs.nread%chunkLen == 0 {
		if rs.nread == chunkLen*(memtune.PauseMinUsers/chunkLen) {
			rs.gc = memtune.LoadWork()
		}
		rs.gc.Check()
	}
	var err error
	switch o.Kind {
	case store.KindUser:
		if o.Prepared != nil {
			rs.users.addPrepared(&rs.dec, o.ID, o.Prepared)
			break
		}
		rs.users.add(&rs.dec, o.ID, o.Body)
	case store.KindGroup:
		var g licensing.Group
		if g, err = decodeBody(o.Body, licensing.DecodeGroup); err == nil {
			rs.groups.add(rec[licensing.Group]{blocks.Text(&rs.ids, o.ID), g})
		}
	case store.KindMember:
		g, m, ok := strings.Cut(o.ID, "/")
		if !ok {
			rs.bad(o.Kind, o.ID, "a membership id must be groupId/memberId")
			return
		}
		// The ids are copied: views would keep every membership part's
		// buffer until the engine is filled (~170 MB at a million users).
		// A group's memberships are consecutive (key order): they gather
		// in one list, copied into the run once the next group's begin.
		if n := len(rs.members); n == 0 || rs.members[n-1].group != g {
			rs.endRun()
			rs.members = append(rs.members, memberRun{group: blocks.Text(&rs.ids, g)})
		}
		rs.run = append(rs.run, blocks.Text(&rs.ids, m))
	case store.KindGroupLicense, store.KindDirectLicense:
		var l licensing.LicenseSource
		if l, err = decodeBody(o.Body, licensing.DecodeLicenseSource); err == nil {
			if o.Kind == store.KindGroupLicense {
				rs.gls.add(rec[licensing.LicenseSource]{blocks.Text(&rs.ids, o.ID), l})
			} else {
				rs.dls.add(rec[licensing.LicenseSource]{blocks.Text(&rs.ids, o.ID), l})
			}
		}
	case store.KindLicense:
		if o.Prepared != nil {
			rs.lics.addPrepared(&rs.dec, o.ID, o.Prepared)
			break
		}
		rs.lics.add(&rs.dec, o.ID, o.Body)
	default:
		err = rs.readOther(o)
	}
	if err != nil {
		rs.bad(o.Kind, o.ID, "the stored record cannot be decoded: "+err.Error())
	}
}

// readOther decodes the objects that are not the engine's bulk records:
// custom products, allotments, units, the licensing settings, and
// everything else (kept for the extensions and the state's objects).
func (rs *storedRecords) readOther(o store.Object) error {
	switch o.Kind {
	case store.KindProduct:
		var p catalog.SKU
		if err := json.Unmarshal(o.Body, &p); err != nil {
			return err
		}
		rs.products = append(rs.products, p)
		rs.other = append(rs.other, kept(o))
	case store.KindAllotment:
		var a licensing.Allotment
		if err := json.Unmarshal(o.Body, &a); err != nil {
			return err
		}
		rs.allots = append(rs.allots, a)
	case store.KindUnits:
		var u licensing.Units
		if err := json.Unmarshal(o.Body, &u); err != nil {
			return err
		}
		if rs.units == nil {
			rs.units = map[string]licensing.Units{}
		}
		rs.units[strings.Clone(o.ID)] = u
	case store.KindSetting:
		if o.ID == settingsID {
			return json.Unmarshal(o.Body, &rs.settings)
		}
		if o.ID == derivationID {
			rs.stamp = bytes.Clone(o.Body) // read during the load only
			return nil
		}
		rs.other = append(rs.other, kept(o))
	default:
		rs.other = append(rs.other, kept(o))
	}
	return nil
}

// kept is o with its own copies of id and body, for an object kept after
// the load: those the store gives are views of a snapshot part's buffer
// (statelog.DecodePart), which a kept view would keep whole.
func kept(o store.Object) store.Object {
	o.ID, o.Body = strings.Clone(o.ID), bytes.Clone(o.Body)
	return o
}

// loadInto loads the records into e in dependency order (units and
// allotments, users, groups; then memberships and group licenses beside
// direct licenses and license records), freeing them as it goes; a record the engine refuses is a problem. An
// allotment the units cannot hold is lowered, as a problem.
func (rs *storedRecords) loadInto(e *licensing.Engine) {
	e.Reserve(rs.users.n, rs.groups.n)
	e.DeferUPNs() // indexed beside the two sides below
	for _, id := range sortedKeys(rs.units) {
		if err := e.LoadUnits(id, rs.units[id]); err != nil {
			rs.bad(store.KindUnits, id, err.Error())
		}
	}
	stored := map[string]int{}
	for _, a := range rs.allots {
		stored[a.ID] = a.AllottedUnits
		if err := e.LoadAllotment(a); err != nil {
			rs.bad(store.KindAllotment, a.ID, err.Error())
		}
	}
	rs.users.drain(func(u *rec[*licensing.UserRecord]) {
		if err := e.LoadUserRecord(u.v); err != nil {
			rs.bad(store.KindUser, rs.users.id(u), err.Error())
		}
	})
	rs.groups.drain(func(g *rec[licensing.Group]) {
		if err := e.LoadGroup(g.v); err != nil {
			rs.bad(store.KindGroup, g.id, err.Error())
		}
	})
	// The memberships and group licenses, and the users' direct licenses
	// and license records, load side by side: they write parts of the
	// engine apart (Engine.LoadMembers documents it); each side's
	// problems are kept in its own list and added in the order a serial
	// load finds them.
	var groupSide, userSide []Problem
	var wg sync.WaitGroup
	wg.Go(e.IndexUPNs)
	runs := make([]licensing.MemberRun, len(rs.members))
	for i, run := range rs.members {
		runs[i] = licensing.MemberRun{Group: run.group, Members: run.members}
	}
	rs.members = nil
	members := e.NewMemberLoader(runs)
	wg.Go(func() {
		members.Load(func(g, m string, err error) {
			groupSide = append(groupSide, deleteProblem(store.KindMember, key2(g, m), err.Error()))
		})
		groupSide = loadSources(store.KindGroupLicense, &rs.gls, e.LoadGroupLicense, groupSide)
	})
	userSide = loadSources(store.KindDirectLicense, &rs.dls, e.LoadDirectLicense, userSide)
	rs.lics.drain(func(l *rec[*licensing.LicenseRecord]) {
		if err := e.LoadLicenseRecord(l.v); err != nil {
			userSide = append(userSide, deleteProblem(store.KindLicense, rs.lics.id(l), err.Error()))
		}
	})
	members.Help() // the memberships are the longer side
	wg.Wait()
	rs.problems = append(append(rs.problems, groupSide...), userSide...)
	for _, a := range e.FitAllotments() {
		rs.problems = append(rs.problems, lowerAllotmentProblem(a, stored[a.ID]))
	}
}

// loadSources loads the stored license sources of one kind (ids
// "owner/skuId") with load, adding a problem to problems for each it
// refuses.
func loadSources(kind store.Kind, list *chunked[rec[licensing.LicenseSource]], load func(string, licensing.LicenseSource) error, problems []Problem) []Problem {
	list.drain(func(x *rec[licensing.LicenseSource]) {
		owner, _, _ := strings.Cut(x.id, "/")
		if err := load(owner, x.v); err != nil {
			problems = append(problems, deleteProblem(kind, x.id, err.Error()))
		}
	})
	return problems
}

// keepOthers hands the other objects to their extensions, or keeps them as
// the state's objects; one an extension refuses is a problem.
func (rs *storedRecords) keepOthers(st *State) {
	for _, o := range rs.other {
		owned, err := st.loadExtObject(o)
		if err != nil {
			rs.bad(o.Kind, o.ID, "the stored record cannot be loaded: "+err.Error())
			continue
		}
		if !owned {
			st.put(o.Kind, o.ID, o.Body)
		}
	}
	rs.other = nil
}
