package tenant

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"allot/catalog"
	"allot/licensing"
	"allot/store"
)

// apply brings a copy of a tenant's state (the readers') to the state a
// committed change left: the change's records go into the engine
// (licensing.Applier), its custom products into the engine's catalog, its
// extension objects into their extensions (ExtensionType.Load and Remove),
// and every other object into the copy's objects. This is what a restart
// does with the change's records (load_records.go), applied to a state in
// memory; no command runs again. clock is the clock of the engine that
// made the change. It returns what changed in the engine, for the read
// models (State.updateIndexes); the caller gives it back to the engine
// (Engine.Recycle).
//
// An error means the change does not fit the copy (a bug): the copy may
// be half-changed and must be replaced.
func (s *State) apply(c *store.Change, clock time.Time, base *catalog.Catalog) (licensing.Delta, error) {
	a := s.Engine.NewApplier()
	products := false
	for i := range c.Mutations {
		m := &c.Mutations[i]
		var err error
		switch m.Kind {
		case store.KindUser, store.KindGroup, store.KindMember, store.KindGroupLicense, store.KindDirectLicense, store.KindLicense:
			err = applyRecord(a, m)
		case store.KindUnits, store.KindAllotment:
			err = applyPoolObject(a, m)
		case store.KindSetting:
			if m.ID == settingsID {
				var set licensing.Settings
				if err = json.Unmarshal(m.Body, &set); err == nil {
					a.Settings(set)
				}
				break
			}
			if m.ID == derivationID { // the store's, not the state's (derivation.go)
				break
			}
			s.applyObject(m)
		case store.KindProduct:
			products = true
			s.applyObject(m)
		default:
			err = s.applyExtObject(m)
		}
		if err != nil {
			return licensing.Delta{}, fmt.Errorf("%s %s: %w", m.Kind, m.ID, err)
		}
	}
	if products {
		cat, err := catalogOf(s, base)
		if err != nil {
			return licensing.Delta{}, err
		}
		if err := s.Engine.SetCatalog(cat); err != nil {
			return licensing.Delta{}, err
		}
		a.CatalogChanged()
	}
	if err := a.Finish(clock); err != nil {
		return licensing.Delta{}, err
	}
	if c.Seq > 0 {
		s.logSeq = c.Seq
	}
	return s.Engine.TakeDelta(), nil
}

// catalogOf is base with the custom products of the state, in id order
// (as a load builds it).
func catalogOf(s *State, base *catalog.Catalog) (*catalog.Catalog, error) {
	var all []catalog.SKU
	for _, id := range s.IDs(store.KindProduct) {
		var p catalog.SKU
		if _, err := s.Decode(store.KindProduct, id, &p); err != nil {
			return nil, fmt.Errorf("custom product %s: %w", id, err)
		}
		all = append(all, p)
	}
	if len(all) == 0 {
		return base, nil
	}
	return base.WithCustom(all)
}

// applyObject puts or deletes a plain object of the state.
func (s *State) applyObject(m *store.Mutation) {
	if m.Delete {
		s.del(m.Kind, m.ID)
	} else {
		s.put(m.Kind, m.ID, m.Body)
	}
}

// applyExtObject hands an object to the extension that owns its kind, or
// keeps it as a plain object.
func (s *State) applyExtObject(m *store.Mutation) error {
	t := s.reg.owner(m.Kind)
	if t == nil {
		s.applyObject(m)
		return nil
	}
	v := s.ext(t)
	if m.Delete {
		if t.remove != nil {
			t.remove(v, m.Kind, m.ID)
		}
		return nil
	}
	return t.load(v, store.Object{Kind: m.Kind, ID: m.ID, Body: m.Body})
}

// applyRecord decodes one of the engine's bulk records into the applier.
func applyRecord(a *licensing.Applier, m *store.Mutation) error {
	owner, key, _ := strings.Cut(m.ID, "/")
	if m.Delete {
		switch m.Kind {
		case store.KindUser:
			a.User(m.ID, nil)
		case store.KindGroup:
			a.Group(m.ID, nil)
		case store.KindMember:
			a.Member(owner, key, false, false)
		case store.KindGroupLicense:
			a.GroupLicense(owner, key, nil)
		case store.KindDirectLicense:
			a.DirectLicense(owner, key, nil)
		case store.KindLicense:
			a.License(owner, key, nil)
		}
		return nil
	}
	v, err := DecodeRecord(m.Kind, m.Body)
	if err != nil {
		return err
	}
	switch x := v.(type) {
	case licensing.User:
		a.User(m.ID, &x)
	case licensing.Group:
		a.Group(m.ID, &x)
	case string: // a membership: MemberUser or MemberGroup
		a.Member(owner, key, x == MemberGroup, true)
	case licensing.LicenseSource:
		if m.Kind == store.KindGroupLicense {
			a.GroupLicense(owner, key, &x)
		} else {
			a.DirectLicense(owner, key, &x)
		}
	case licensing.License:
		a.License(owner, key, &x)
	}
	return nil
}

// applyPoolObject decodes units and allotments into the applier.
func applyPoolObject(a *licensing.Applier, m *store.Mutation) error {
	if m.Kind == store.KindAllotment {
		if m.Delete {
			a.Allotment(m.ID, nil)
			return nil
		}
		var al licensing.Allotment
		if err := json.Unmarshal(m.Body, &al); err != nil {
			return err
		}
		a.Allotment(m.ID, &al)
		return nil
	}
	if m.Delete {
		return fmt.Errorf("units are never deleted")
	}
	var u licensing.Units
	if err := json.Unmarshal(m.Body, &u); err != nil {
		return err
	}
	a.Units(m.ID, u)
	return nil
}
