package tenant

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"allot/audit"
	"allot/licensing"
	"allot/store"
)

// Stored forms of the engine's records. The engine's own types are the
// stored bodies; these ids join their parts with "/".
func key2(a, b string) string { return a + "/" + b }

type memberBody struct {
	Type string `json:"type"` // user | group
}

// The stored bodies of members: always one of two.
var (
	userMemberBody  = mustJSON(memberBody{"user"})
	groupMemberBody = mustJSON(memberBody{"group"})
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// settingsID is the id of the licensing settings object (KindSetting).
const settingsID = "licensing"

// serialize turns an engine delta plus a batch's other mutations and audit
// entries into one store change, reading the current values from the
// engine. Audit entries get the tenant's next sequence numbers. Without
// records, the engine's users, groups, members, license sources and
// license records are left out (commitBulk streams them).
func (t *Tenant) serialize(d licensing.Delta, muts []store.Mutation, extra []audit.Entry, records bool) (store.Change, error) {
	e := t.writer.Engine
	c := store.Change{TenantID: t.ID}
	put := func(kind store.Kind, id string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", kind, id, err)
		}
		c.Mutations = append(c.Mutations, store.Mutation{Kind: kind, ID: id, Body: b})
		return nil
	}
	del := func(kind store.Kind, id string) {
		c.Mutations = append(c.Mutations, store.Mutation{Kind: kind, ID: id, Delete: true})
	}
	if records {
		c.Mutations = slices.Grow(c.Mutations, engineObjects(&d)+len(muts))
		for _, id := range sortedKeys(d.Users) {
			if u, ok := e.User(id); ok {
				if err := put(store.KindUser, id, u); err != nil {
					return c, err
				}
			} else {
				del(store.KindUser, id)
			}
		}
		for _, id := range sortedKeys(d.Groups) {
			if g, ok := e.Group(id); ok {
				if err := put(store.KindGroup, id, g); err != nil {
					return c, err
				}
			} else {
				del(store.KindGroup, id)
			}
		}
		for _, k := range sortedKeys2(d.Members) {
			if !d.Members[k] {
				del(store.KindMember, key2(k[0], k[1]))
				continue
			}
			c.Mutations = append(c.Mutations, store.Mutation{Kind: store.KindMember, ID: key2(k[0], k[1]), Body: memberBodyOf(e, k[1])})
		}
		for _, k := range sortedKeys2(d.GroupLicenses) {
			if l, ok := findSource(e.GroupLicenses(k[0]), k[1]); ok {
				if err := put(store.KindGroupLicense, key2(k[0], k[1]), l); err != nil {
					return c, err
				}
			} else {
				del(store.KindGroupLicense, key2(k[0], k[1]))
			}
		}
		for _, k := range sortedKeys2(d.DirectLicenses) {
			if l, ok := findSource(e.DirectLicenses(k[0]), k[1]); ok {
				if err := put(store.KindDirectLicense, key2(k[0], k[1]), l); err != nil {
					return c, err
				}
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
				if err := put(store.KindLicense, key2(k[0], k[1]), l); err != nil {
					return c, err
				}
			} else {
				del(store.KindLicense, key2(k[0], k[1]))
			}
		}
	}
	for _, id := range sortedKeys(d.Pools) {
		if p, ok := e.Pool(id); ok {
			if err := put(store.KindUnits, id, p.Units); err != nil {
				return c, err
			}
		}
	}
	for _, id := range sortedKeys(d.Allotments) {
		if a, ok := e.AllotmentByID(id); ok {
			if err := put(store.KindAllotment, id, a.Allotment); err != nil {
				return c, err
			}
		} else {
			del(store.KindAllotment, id)
		}
	}
	if d.Settings {
		if err := put(store.KindSetting, settingsID, e.Settings()); err != nil {
			return c, err
		}
	}
	c.Mutations = append(c.Mutations, muts...)
	for _, list := range [][]audit.Entry{d.Audit, extra} {
		for _, a := range list {
			t.seq++
			a.TenantID, a.Seq = t.ID, t.seq
			c.Audit = append(c.Audit, a)
		}
	}
	return c, nil
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
// skipped. They are encoded by a second goroutine while the store writes the
// previous batch, in key order (kind, then id), so that memory holds a few
// batches of encoded records, not all of them.
func (t *Tenant) commitBulk(d licensing.Delta, muts []store.Mutation, extra []audit.Entry) error {
	c, err := t.serialize(d, muts, extra, false)
	if err != nil {
		return err
	}
	ch := make(chan []store.Object, 4)
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
		perr = encodeRecords(e, &d, func(b []store.Object) bool {
			select {
			case ch <- b:
				return true
			case <-stop:
				return false
			}
		})
	}()
	err = t.rt.store.CommitBulk(context.Background(), c, func() ([]store.Object, error) {
		b, ok := <-ch
		if !ok {
			return nil, perr
		}
		return b, nil
	})
	close(stop)
	wg.Wait()
	return err
}

// errStopped ends encodeRecords when its consumer has stopped.
var errStopped = errors.New("tenant: record stream stopped")

// encodeRecords encodes every engine record of the delta that exists, in
// key order of the store (kind, then id: directLicense, group, groupLicense,
// license, member, user), and hands them to emit in batches of streamBatch.
// emit false stops it.
func encodeRecords(e *licensing.Engine, d *licensing.Delta, emit func([]store.Object) bool) error {
	batch := make([]store.Object, 0, streamBatch)
	add := func(kind store.Kind, id string, body []byte) error {
		batch = append(batch, store.Object{Kind: kind, ID: id, Body: body})
		if len(batch) == streamBatch {
			if !emit(batch) {
				return errStopped
			}
			batch = make([]store.Object, 0, streamBatch)
		}
		return nil
	}
	encode := func(kind store.Kind, id string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", kind, id, err)
		}
		return add(kind, id, b)
	}
	sources := func(kind store.Kind, keys map[licensing.Key2]bool, of func(string) []licensing.LicenseSource) error {
		for _, k := range sortedKeys2(keys) {
			if l, ok := findSource(of(k[0]), k[1]); ok {
				if err := encode(kind, key2(k[0], k[1]), l); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := sources(store.KindDirectLicense, d.DirectLicenses, e.DirectLicenses); err != nil {
		return err
	}
	for _, id := range sortedKeys(d.Groups) {
		if g, ok := e.Group(id); ok {
			if err := encode(store.KindGroup, id, g); err != nil {
				return err
			}
		}
	}
	if err := sources(store.KindGroupLicense, d.GroupLicenses, e.GroupLicenses); err != nil {
		return err
	}
	lics := slices.Clone(d.Licenses)
	slices.SortFunc(lics, cmpKey2)
	lics = slices.Compact(lics)
	for _, k := range lics {
		if l, ok := e.LicenseByKey(k[0], k[1]); ok {
			if err := encode(store.KindLicense, key2(k[0], k[1]), l); err != nil {
				return err
			}
		}
	}
	lics = nil
	for _, k := range sortedKeys2(d.Members) {
		if d.Members[k] && e.IsMember(k[0], k[1]) {
			if err := add(store.KindMember, key2(k[0], k[1]), memberBodyOf(e, k[1])); err != nil {
				return err
			}
		}
	}
	for _, id := range sortedKeys(d.Users) {
		if u, ok := e.User(id); ok {
			if err := encode(store.KindUser, id, u); err != nil {
				return err
			}
		}
	}
	if len(batch) > 0 && !emit(batch) {
		return errStopped
	}
	return nil
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
