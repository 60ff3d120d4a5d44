package tenant

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

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

// settingsID is the id of the licensing settings object (KindSetting).
const settingsID = "licensing"

// serialize turns an engine delta plus a batch's other mutations and audit
// entries into one store change, reading the current values from the
// engine. Audit entries get the tenant's next sequence numbers.
func (t *Tenant) serialize(d licensing.Delta, muts []store.Mutation, extra []audit.Entry) (store.Change, error) {
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
		typ := "user"
		if e.IsGroup(k[1]) {
			typ = "group"
		}
		if err := put(store.KindMember, key2(k[0], k[1]), memberBody{typ}); err != nil {
			return c, err
		}
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

func sortedKeys2(m map[licensing.Key2]bool) []licensing.Key2 {
	ks := make([]licensing.Key2, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if ks[i][0] != ks[j][0] {
			return ks[i][0] < ks[j][0]
		}
		return ks[i][1] < ks[j][1]
	})
	return ks
}
