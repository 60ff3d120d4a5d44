package identity

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"allot"
	"allot/audit"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
)

// A tenant's domains: the names its users' userPrincipalNames may end in,
// kept as tenant objects of kind store.KindDomain (id: the lower-case
// name), in the shape of Microsoft Graph's domain resource. The customer's
// domain from the partner API is the first, initial and default one;
// others are added through POST /v1.0/domains. allot has no DNS to check,
// so a domain an administrator adds is verified at once. As in Entra, a
// domain belongs to one tenant only.

// Domain is one of a tenant's domains (Graph's domain resource).
type Domain struct {
	ID                 string   `json:"id"`
	AuthenticationType string   `json:"authenticationType"` // Managed
	IsAdminManaged     bool     `json:"isAdminManaged"`
	IsDefault          bool     `json:"isDefault"`
	IsInitial          bool     `json:"isInitial"`
	IsRoot             bool     `json:"isRoot"`
	IsVerified         bool     `json:"isVerified"`
	SupportedServices  []string `json:"supportedServices"`
}

// Domains returns the tenant's domains ordered by name.
func Domains(s *tenant.State) []Domain {
	ids := s.IDs(store.KindDomain)
	out := make([]Domain, 0, len(ids))
	for _, id := range ids {
		var d Domain
		if ok, err := s.Decode(store.KindDomain, id, &d); ok && err == nil {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// DomainNames returns the tenant's domain names in lower case, or nil when
// the tenant has none (a tenant stored by an earlier version without a
// domain: CheckUPN then checks the syntax only).
func DomainNames(s *tenant.State) []string {
	ids := s.IDs(store.KindDomain)
	if len(ids) == 0 {
		return nil
	}
	sort.Strings(ids)
	return ids
}

// DefaultDomain returns the tenant's default domain ("" if it has none).
func DefaultDomain(s *tenant.State) string {
	for _, d := range Domains(s) {
		if d.IsDefault {
			return d.ID
		}
	}
	return ""
}

// GetDomain returns one of the tenant's domains (name in any case).
func GetDomain(s *tenant.State, name string) (Domain, bool) {
	var d Domain
	ok, err := s.Decode(store.KindDomain, strings.ToLower(name), &d)
	return d, ok && err == nil
}

func domainNotFound(name string) error {
	return allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", clip(name))
}

// cleanDomain returns a domain name as stored: trimmed, lower case,
// without a trailing period, and valid (CheckDomainName) and short enough
// for a userPrincipalName.
func cleanDomain(name string) (string, error) {
	name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	if err := CheckDomainName(name); err != nil {
		return "", err
	}
	if len(name) > MaxUPNDomain {
		return "", allot.Errorf(allot.EINVALID, "The domain name %q is invalid: a userPrincipalName's domain has at most %d characters.", clip(name), MaxUPNDomain)
	}
	return name, nil
}

// AddDomain adds a verified domain to the tenant inside a command: the
// tenant's first domain becomes its default; initial marks the domain the
// tenant was created with. ECONFLICT if the tenant has it already. It does
// not check other tenants (AddTenantDomain and CreateTenant do).
func AddDomain(tx *tenant.Tx, name string, initial bool) (Domain, error) {
	name, err := cleanDomain(name)
	if err != nil {
		return Domain{}, err
	}
	if _, ok := GetDomain(tx.State, name); ok {
		return Domain{}, allot.Errorf(allot.ECONFLICT, "The domain %s is already a domain of this tenant.", name)
	}
	d := Domain{ID: name, AuthenticationType: "Managed", IsAdminManaged: true, IsDefault: len(tx.IDs(store.KindDomain)) == 0,
		IsInitial: initial, IsRoot: true, IsVerified: true, SupportedServices: []string{"Email", "OfficeCommunicationsOnline"}}
	tx.Audit(audit.Entry{Action: "Add verified domain", Detail: name})
	return d, tx.Put(store.KindDomain, name, d)
}

// SetDefaultDomain makes one of the tenant's domains its default (the
// domain SCIM user names without one are given).
func SetDefaultDomain(tx *tenant.Tx, name string) (Domain, error) {
	d, ok := GetDomain(tx.State, name)
	if !ok {
		return Domain{}, domainNotFound(name)
	}
	for _, o := range Domains(tx.State) {
		if o.IsDefault && o.ID != d.ID {
			o.IsDefault = false
			if err := tx.Put(store.KindDomain, o.ID, o); err != nil {
				return Domain{}, err
			}
		}
	}
	d.IsDefault = true
	tx.Audit(audit.Entry{Action: "Set default domain", Detail: d.ID})
	return d, tx.Put(store.KindDomain, d.ID, d)
}

// DeleteDomain removes a domain that no user's userPrincipalName uses and
// that is neither the default nor the initial domain (as Entra refuses).
func DeleteDomain(tx *tenant.Tx, name string) error {
	d, ok := GetDomain(tx.State, name)
	if !ok {
		return domainNotFound(name)
	}
	switch {
	case d.IsInitial:
		return allot.Errorf(allot.EINVALID, "The domain %s is the tenant's initial domain and cannot be deleted.", d.ID)
	case d.IsDefault:
		return allot.Errorf(allot.EINVALID, "The domain %s is the tenant's default domain; make another domain the default first.", d.ID)
	}
	users := 0
	tx.Engine.ForEachUser(func(u *licensing.User) bool {
		if UPNDomain(u.UserPrincipalName) == d.ID {
			users++
		}
		return true
	})
	if users > 0 {
		return allot.Errorf(allot.EINVALID, "The domain %s is used by the userPrincipalName of %d user(s); change or delete them first.", d.ID, users)
	}
	tx.Delete(store.KindDomain, d.ID)
	tx.Audit(audit.Entry{Action: "Remove domain", Detail: d.ID})
	return nil
}

// Qualify returns a user name as a userPrincipalName: a name without "@"
// gets the tenant's default domain (alias@default); a name with one is
// returned as it is. This is the rule for identity providers that send
// SCIM userName values without a domain (docs/USER-GUIDE.md).
func Qualify(s *tenant.State, name string) string {
	if strings.Contains(name, "@") {
		return name
	}
	if d := DefaultDomain(s); d != "" {
		return name + "@" + d
	}
	return name
}

// domainMu serialises the check that a domain belongs to no other tenant
// with the write that claims it.
var domainMu sync.Mutex

// DomainOwner returns the tenant that has the domain (its partner domain
// or one of its domains), if any. A tenant that is not loaded (still
// loading at start-up, or its load failed) is asked of the store, which
// holds all its domains: it runs no commands until it is loaded. An error
// is the store's.
func DomainOwner(ctx context.Context, rt *tenant.Runtime, name string) (string, bool, error) {
	name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	for _, info := range rt.List() {
		if strings.EqualFold(info.Domain, name) {
			return info.ID, true, nil
		}
		found := false
		if t, ok := rt.Get(info.ID); ok {
			t.Read(func(s *tenant.State) { _, found = GetDomain(s, name) })
		} else {
			_, err := rt.Store().GetObject(ctx, info.ID, store.KindDomain, name)
			switch {
			case err == nil:
				found = true
			case !errors.Is(err, store.ErrNotFound):
				return "", false, fmt.Errorf("looking for domain %s in tenant %s: %w", name, info.ID, err)
			}
		}
		if found {
			return info.ID, true, nil
		}
	}
	return "", false, nil
}

func domainTaken(name string) error {
	return allot.Errorf(allot.ECONFLICT, "The domain %s is already a domain of another tenant; a domain belongs to one tenant only.", name)
}

// AddTenantDomain adds a domain to tenant t (AddDomain) unless another
// tenant has it (ECONFLICT).
func AddTenantDomain(ctx context.Context, rt *tenant.Runtime, t *tenant.Tenant, op licensing.Op, name string) (Domain, error) {
	clean, err := cleanDomain(name)
	if err != nil {
		return Domain{}, err
	}
	domainMu.Lock()
	defer domainMu.Unlock()
	if owner, ok, err := DomainOwner(ctx, rt, clean); err != nil {
		return Domain{}, err
	} else if ok && owner != t.ID {
		return Domain{}, domainTaken(clean)
	}
	var out Domain
	err = t.Do(ctx, op, func(tx *tenant.Tx) error {
		d, err := AddDomain(tx, clean, false)
		out = d
		return err
	})
	return out, err
}

// CreateTenant creates a customer tenant whose domain (info.Domain,
// required) belongs to no other tenant, with that domain as its initial
// and default domain, in the tenant's first command, audited under actor.
func CreateTenant(ctx context.Context, rt *tenant.Runtime, actor string, info store.Tenant, settings licensing.Settings) (*tenant.Tenant, error) {
	clean, err := cleanDomain(info.Domain)
	if err != nil {
		return nil, err
	}
	info.Domain = clean
	domainMu.Lock()
	defer domainMu.Unlock()
	if _, ok, err := DomainOwner(ctx, rt, clean); err != nil {
		return nil, err
	} else if ok {
		return nil, allot.Errorf(allot.ECONFLICT, "A customer with the domain %s already exists.", clean)
	}
	return rt.CreateBy(ctx, actor, info, settings, func(tx *tenant.Tx) error {
		_, err := AddDomain(tx, clean, true)
		return err
	})
}

// AdoptPartnerDomains gives every loaded tenant that has no domain (one
// stored by an earlier version) its partner domain (AdoptPartnerDomain).
// It changes nothing the second time.
func AdoptPartnerDomains(ctx context.Context, rt *tenant.Runtime) error {
	for _, info := range rt.List() {
		if t, ok := rt.Get(info.ID); ok {
			if err := AdoptPartnerDomain(ctx, rt, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// AdoptPartnerDomain gives tenant t, if it has no domain (one stored by an
// earlier version), its partner domain as initial and default domain, when
// that is a valid domain name no other tenant has. Run it when the tenant
// is loaded (allot serve: as each tenant finishes loading); it changes
// nothing the second time.
func AdoptPartnerDomain(ctx context.Context, rt *tenant.Runtime, t *tenant.Tenant) error {
	domainMu.Lock()
	defer domainMu.Unlock()
	info := t.Info()
	var has bool
	t.Read(func(s *tenant.State) { has = len(s.IDs(store.KindDomain)) > 0 })
	name, err := cleanDomain(info.Domain)
	if has || err != nil {
		return nil
	}
	if owner, taken, err := DomainOwner(ctx, rt, name); err != nil {
		return err
	} else if taken && owner != info.ID {
		return nil
	}
	err = t.Do(ctx, licensing.Op{Actor: "allot (start-up)", Now: t.Now().UTC(), Why: "the partner domain becomes the tenant's first domain"}, func(tx *tenant.Tx) error {
		if len(tx.IDs(store.KindDomain)) > 0 {
			return nil
		}
		_, err := AddDomain(tx, name, true)
		return err
	})
	if err != nil {
		return fmt.Errorf("tenant %s: adding its domain %s: %w", info.ID, name, err)
	}
	return nil
}
