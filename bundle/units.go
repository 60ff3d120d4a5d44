package bundle

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"allot"
	"allot/licensing"
	"allot/store"
	"allot/subscription"
	"allot/tenant"
)

// Units and subscriptions of a bundle: subscriptions.csv (its format is in
// the package comment), the units of Graph JSON's subscribedSkus, and how
// an import turns them into partner subscriptions.

// maxRowUnits bounds the units of a row without an id. Such a row is not
// one subscription, so subscription.MaxQuantity (which bounds rows with an id,
// as the partner API does) does not apply: a synthetic tenant of a million
// users has products of more units than one subscription may hold.
const maxRowUnits = 1_000_000_000

// unitStatuses are the statuses that hold units, in the order of
// licensing.Units' fields.
var unitStatuses = []string{subscription.StatusActive, subscription.StatusExpired, subscription.StatusSuspended, subscription.StatusDisabled}

// subRow is one row of subscriptions.csv (or one state of a subscribedSku's
// prepaidUnits). SKUID holds the product as written until Validate resolves
// it.
type subRow struct {
	subscription.Subscription
	at string
}

// importID is the id of the import subscription of a product and status.
func importID(skuID, status string) string {
	if status == subscription.StatusActive {
		return importSubscriptionID(skuID)
	}
	return importSubscriptionID(skuID) + "-" + status
}

// isImportID reports whether id is one of the product's import subscriptions.
func isImportID(skuID, id string) bool {
	return id == importSubscriptionID(skuID) || strings.HasPrefix(id, importSubscriptionID(skuID)+"-")
}

// heldUnits is the units a subscription gives its product.
func heldUnits(s subscription.Subscription) int {
	if s.Status == subscription.StatusDeleted {
		return 0
	}
	return s.Quantity
}

func validSubStatus(s string) bool {
	return s == subscription.StatusDeleted || slices.Contains(unitStatuses, s)
}

func (b *Bundle) readSubscriptions(t *table) error {
	if err := t.need("skuPartNumber", "quantity"); err != nil {
		return err
	}
	for {
		ok, err := t.next()
		if !ok || err != nil {
			return err
		}
		sku, q := t.get("skuPartNumber"), t.get("quantity")
		n, err := strconv.Atoi(q)
		if err != nil || n < 0 {
			return t.errf("quantity %q is not a whole number of 0 or more", q)
		}
		r := subRow{at: t.at(), Subscription: subscription.Subscription{ID: t.get("id"), SKUID: sku, Quantity: n,
			Status: strings.ToLower(t.get("status")), OfferID: t.get("offerId"), FriendlyName: t.get("friendlyName"),
			SuspensionReasons: splitList(t.get("suspensionReasons"))}}
		if r.Status == "" {
			r.Status = subscription.StatusActive
		}
		if !validSubStatus(r.Status) {
			return t.errf("status %q is not active, expired, suspended, disabled or deleted", t.get("status"))
		}
		if v := t.get("autoRenewEnabled"); v != "" {
			if r.AutoRenewEnabled, err = strconv.ParseBool(strings.ToLower(v)); err != nil {
				return t.errf("autoRenewEnabled %q is not true or false", v)
			}
		}
		if err := parseTime(t.get("creationDate"), &r.CreationDate); err != nil {
			return t.errf("creationDate %v", err)
		}
		for _, d := range []struct {
			col string
			dst **time.Time
		}{{"commitmentEndDate", &r.CommitmentEndDate}, {"graceEndDate", &r.GraceEndDate}, {"deletionDate", &r.DeletionDate}} {
			var v time.Time
			if err := parseTime(t.get(d.col), &v); err != nil {
				return t.errf("%s %v", d.col, err)
			}
			if !v.IsZero() {
				*d.dst = &v
			}
		}
		if r.ID == "" && (r.OfferID != "" || r.FriendlyName != "" || !r.CreationDate.IsZero() || r.CommitmentEndDate != nil ||
			r.AutoRenewEnabled || len(r.SuspensionReasons) > 0 || r.GraceEndDate != nil || r.DeletionDate != nil) {
			return t.errf("a row without an id gives units only: its subscription fields need the subscription's id")
		}
		if r.ID == "" && r.Status == subscription.StatusDeleted {
			return t.errf("a deleted subscription has no units: a row of status deleted needs the subscription's id")
		}
		b.subPart[sku] = t.at()
		b.subLine[sku] = t.at()
		b.Data.Units[sku] += heldUnits(r.Subscription) // resolved to skuIds in Validate
		b.subs = append(b.subs, r)
	}
}

// graphUnitRows are the rows of one subscribedSku: one per state of its
// prepaidUnits that has units (an active row of 0 when none has).
func (b *Bundle) graphUnitRows(key string, u licensing.Units, at string) {
	n := 0
	for i, q := range []int{u.Enabled, u.Warning, u.Suspended, u.LockedOut} {
		if q != 0 { // a negative count is refused in Validate
			b.subs = append(b.subs, subRow{at: at, Subscription: subscription.Subscription{SKUID: key, Quantity: q, Status: unitStatuses[i]}})
			n++
		}
	}
	if n == 0 {
		b.subs = append(b.subs, subRow{at: at, Subscription: subscription.Subscription{SKUID: key, Status: subscription.StatusActive}})
	}
}

// validateSubs resolves the subscription rows' products in place (a
// product's id resolves to itself, so validating again gives the same
// result) and checks what one row can break.
func (b *Bundle) validateSubs(e *licensing.Engine) error {
	cat := e.Catalog()
	ids := map[string]string{}
	for i := range b.subs {
		r := &b.subs[i]
		s, ok := cat.SKU(r.SKUID)
		if !ok {
			return allot.Errorf(allot.EINVALID, "%s: unknown product %q", r.at, r.SKUID)
		}
		r.SKUID, r.SKUPartNumber = s.ID, s.PartNumber
		if r.Quantity < 0 {
			return allot.Errorf(allot.EINVALID, "%s: unit counts cannot be negative", r.at)
		}
		if r.ID == "" {
			if r.Quantity > maxRowUnits {
				return allot.Errorf(allot.EINVALID, "%s: quantity %d is more than %d units", r.at, r.Quantity, maxRowUnits)
			}
			continue
		}
		if r.Quantity > subscription.MaxQuantity {
			return allot.Errorf(allot.EINVALID, "%s: subscription %s: quantity must be a whole number from 0 to %d", r.at, r.ID, subscription.MaxQuantity)
		}
		if at, dup := ids[r.ID]; dup {
			return allot.Errorf(allot.EINVALID, "%s: subscription %s is also listed at %s", r.at, r.ID, at)
		}
		ids[r.ID] = r.at
	}
	return nil
}

// planUnits decides the subscriptions an import puts, in the order it puts
// them (those that raise their product's units first, so that no step
// lowers the units below what the import keeps), and each product's total
// units afterwards, which Engine.CheckImport checks before anything is
// written.
func planUnits(tx *tenant.Tx, rows []subRow, now time.Time) ([]subscription.Subscription, map[string]int, error) {
	p := &unitsPlan{tx: tx, now: now, idless: map[unitsKey]int{}, listed: map[unitsKey]string{}, named: map[string]bool{}, skus: map[string]bool{}}
	var err error
	if p.existing, err = storedSubscriptions(tx); err != nil {
		return nil, nil, err
	}
	for _, r := range rows {
		if err := p.row(r); err != nil {
			return nil, nil, err
		}
	}
	for _, skuID := range sortedKeys(p.skus) {
		if err := p.idlessUnits(skuID); err != nil {
			return nil, nil, err
		}
	}
	totals := p.totals()
	grows := func(s subscription.Subscription) bool { return heldUnits(s) > heldUnits(p.existing[s.ID]) }
	sort.SliceStable(p.puts, func(i, j int) bool { return grows(p.puts[i]) && !grows(p.puts[j]) })
	return p.puts, totals, nil
}

// unitsPlan is the state of one planUnits.
type unitsPlan struct {
	tx       *tenant.Tx
	now      time.Time
	existing map[string]subscription.Subscription // the tenant's, by id
	idless   map[unitsKey]int                     // units of rows without an id
	listed   map[unitsKey]string                  // where the first such row is
	named    map[string]bool                      // ids of rows with one
	skus     map[string]bool                      // products the bundle lists
	puts     []subscription.Subscription
}

type unitsKey struct{ sku, status string }

// storedSubscriptions returns the tenant's subscriptions by id.
func storedSubscriptions(tx *tenant.Tx) (map[string]subscription.Subscription, error) {
	existing := map[string]subscription.Subscription{}
	for _, id := range tx.IDs(store.KindSubscription) {
		var s subscription.Subscription
		if _, err := tx.Decode(store.KindSubscription, id, &s); err != nil {
			return nil, err
		}
		existing[id] = s
	}
	return existing, nil
}

// row takes one row: units without an id are summed per (product,
// status); a row with an id becomes that subscription, its missing fields
// kept from the stored one or defaulted.
func (p *unitsPlan) row(r subRow) error {
	p.skus[r.SKUID] = true
	if r.ID == "" {
		k := unitsKey{r.SKUID, r.Status}
		p.idless[k] += heldUnits(r.Subscription)
		if _, ok := p.listed[k]; !ok {
			p.listed[k] = r.at
		}
		return nil
	}
	p.named[r.ID] = true
	sub := r.Subscription
	sub.LastModifiedDate, sub.Attributes = p.now, subscription.Attributes{ObjectType: "Subscription"}
	cur, has := p.existing[r.ID]
	if has && cur.SKUID != sub.SKUID {
		return allot.Errorf(allot.EINVALID, "%s: subscription %s is a subscription of %s in the tenant", r.at, r.ID, cur.SKUPartNumber)
	}
	if has && cur.Status == subscription.StatusDeleted && sub.Status != subscription.StatusDeleted {
		return allot.Errorf(allot.ECONFLICT, "%s: subscription %s is deleted and cannot change status", r.at, r.ID)
	}
	fill := func(v *string, cur, def string) {
		if *v == "" {
			*v = cur
		}
		if *v == "" {
			*v = def
		}
	}
	fill(&sub.OfferID, cur.OfferID, sub.SKUPartNumber)
	sku, _ := p.tx.Engine.Catalog().SKU(sub.SKUID)
	fill(&sub.FriendlyName, cur.FriendlyName, sku.DisplayName)
	if sub.CreationDate.IsZero() {
		sub.CreationDate = cur.CreationDate
	}
	if sub.CreationDate.IsZero() {
		sub.CreationDate = p.now
	}
	if has && sameSubscription(cur, sub) {
		return nil
	}
	p.puts = append(p.puts, sub)
	return nil
}

// idlessUnits puts, for each status of a product, the import's own
// subscription (importID) that holds the units listed without an id beyond
// what the tenant's other subscriptions of that status hold.
func (p *unitsPlan) idlessUnits(skuID string) error {
	sku, _ := p.tx.Engine.Catalog().SKU(skuID)
	for _, status := range unitStatuses {
		id, k := importID(skuID, status), unitsKey{skuID, status}
		at, isListed := p.listed[k]
		if p.named[id] {
			if isListed {
				return allot.Errorf(allot.EINVALID, "%s: %s units of %s without an id, but the bundle also lists subscription %s", at, status, sku.PartNumber, id)
			}
			continue
		}
		others := 0
		for _, s := range p.existing {
			if s.SKUID == skuID && s.Status == status && !p.named[s.ID] && !isImportID(skuID, s.ID) {
				others += s.Quantity
			}
		}
		want := 0
		if isListed {
			if want = p.idless[k] - others; want < 0 {
				return allot.Errorf(allot.EINVALID, "%s: %s has %d %s units, but the tenant's subscriptions already hold %d", at, sku.PartNumber, p.idless[k], status, others)
			}
		}
		mine, has := p.existing[id]
		if has && mine.Quantity == want && mine.Status == status || !has && want == 0 {
			continue
		}
		sub := subscription.Subscription{ID: id, OfferID: sku.PartNumber, SKUID: skuID, SKUPartNumber: sku.PartNumber,
			FriendlyName: sku.DisplayName, Quantity: want, Status: status, CreationDate: p.now, LastModifiedDate: p.now,
			Attributes: subscription.Attributes{ObjectType: "Subscription"}}
		if has {
			sub.CreationDate = mine.CreationDate
		}
		p.puts = append(p.puts, sub)
	}
	return nil
}

// totals is each listed product's units once the plan is put.
func (p *unitsPlan) totals() map[string]int {
	after := map[string]subscription.Subscription{}
	for id, s := range p.existing {
		after[id] = s
	}
	for _, s := range p.puts {
		after[s.ID] = s
	}
	totals := map[string]int{}
	for skuID := range p.skus {
		totals[skuID] = 0
	}
	for _, s := range after {
		if p.skus[s.SKUID] {
			totals[s.SKUID] += heldUnits(s)
		}
	}
	return totals
}

// sameSubscription reports whether an import would change nothing of a
// stored subscription but its lastModifiedDate.
func sameSubscription(a, b subscription.Subscription) bool {
	sameTime := func(x, y *time.Time) bool { return x == nil && y == nil || x != nil && y != nil && x.Equal(*y) }
	return a.ID == b.ID && a.SKUID == b.SKUID && a.SKUPartNumber == b.SKUPartNumber && a.OfferID == b.OfferID &&
		a.FriendlyName == b.FriendlyName && a.Quantity == b.Quantity && a.Status == b.Status && a.CreationDate.Equal(b.CreationDate) &&
		sameTime(a.CommitmentEndDate, b.CommitmentEndDate) && a.AutoRenewEnabled == b.AutoRenewEnabled &&
		slices.Equal(a.SuspensionReasons, b.SuspensionReasons) && sameTime(a.GraceEndDate, b.GraceEndDate) && sameTime(a.DeletionDate, b.DeletionDate)
}

// exportSubscriptions renders subscriptions.csv: each product's
// subscriptions, then, per state, the units no subscription accounts for
// (units set without the partner API) as rows without an id.
func exportSubscriptions(e *licensing.Engine, subs []subscription.Subscription) [][]string {
	rows := [][]string{{"skuPartNumber", "quantity", "status", "id", "offerId", "friendlyName", "creationDate",
		"commitmentEndDate", "autoRenewEnabled", "suspensionReasons", "graceEndDate", "deletionDate"}}
	sort.SliceStable(subs, func(i, j int) bool {
		if !subs[i].CreationDate.Equal(subs[j].CreationDate) {
			return subs[i].CreationDate.Before(subs[j].CreationDate)
		}
		return subs[i].ID < subs[j].ID
	})
	tsp := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return ts(*t)
	}
	for _, p := range e.Pools() {
		n := len(rows)
		inSubs := map[string]int{}
		for _, s := range subs {
			if s.SKUID != p.SKU.ID {
				continue
			}
			inSubs[s.Status] += s.Quantity
			rows = append(rows, []string{p.SKU.PartNumber, strconv.Itoa(s.Quantity), s.Status, s.ID, s.OfferID, s.FriendlyName, ts(s.CreationDate),
				tsp(s.CommitmentEndDate), strconv.FormatBool(s.AutoRenewEnabled), strings.Join(s.SuspensionReasons, ";"), tsp(s.GraceEndDate), tsp(s.DeletionDate)})
		}
		for i, q := range []int{p.Units.Enabled, p.Units.Warning, p.Units.Suspended, p.Units.LockedOut} {
			if rest := q - inSubs[unitStatuses[i]]; rest > 0 {
				rows = append(rows, []string{p.SKU.PartNumber, strconv.Itoa(rest), unitStatuses[i]})
			}
		}
		if len(rows) == n { // the product stays in the bundle
			rows = append(rows, []string{p.SKU.PartNumber, "0", subscription.StatusActive})
		}
	}
	return rows
}

// WriteTenant exports a tenant like Write, with its partner subscriptions
// (status and lifecycle dates) in subscriptions.csv. Call it inside
// Tenant.Read.
func WriteTenant(path string, s *tenant.State) error {
	var subs []subscription.Subscription
	for _, id := range s.IDs(store.KindSubscription) {
		var sub subscription.Subscription
		if _, err := s.Decode(store.KindSubscription, id, &sub); err != nil {
			return err
		}
		subs = append(subs, sub)
	}
	return write(path, s.Engine, subs)
}

// UseSubscriptions gives the units of the products of subs (subscriptions
// with their ids, as a Microsoft 365 sync reads Graph's
// /directory/subscriptions) by these subscriptions, in place of the rows
// without an id that subscribedSkus' prepaidUnits gave those products: a
// product's units are counted once. Products that subs do not list keep
// their prepaidUnits rows. at names the source in errors.
func (b *Bundle) UseSubscriptions(subs []subscription.Subscription, at string) {
	listed := map[string]string{} // lower-case skuId → the key used
	for _, s := range subs {
		listed[strings.ToLower(s.SKUID)] = s.SKUID
	}
	kept := b.subs[:0]
	for _, r := range b.subs {
		if _, ok := listed[strings.ToLower(r.SKUID)]; ok && r.ID == "" {
			continue
		}
		kept = append(kept, r)
	}
	b.subs = kept
	for k := range b.Data.Units {
		if _, ok := listed[strings.ToLower(k)]; ok {
			delete(b.Data.Units, k)
		}
	}
	for i, s := range subs {
		where := fmt.Sprintf("%s: value[%d]", at, i)
		b.subs = append(b.subs, subRow{at: where, Subscription: s})
		b.Data.Units[s.SKUID] += heldUnits(s)
		b.subLine[s.SKUID] = where
	}
}
