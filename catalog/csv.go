package catalog

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
)

// Parse reads Microsoft's product/service-plan CSV ("Product names and
// service plan identifiers for licensing"). It copes with what the published
// file really contains: a UTF-8 byte-order mark, stray white space around ids
// (including no-break spaces), runs of spaces or tabs inside names, duplicate
// rows, and a plan id spelled with several names across rows (the most
// frequent spelling wins, ties by the first seen; the same for a product's
// part number and display name). Columns are found by header name, in any
// order and case. Blank rows are skipped. A malformed id is an error naming
// the line. The result has no plan rules; see WithRules. Parse never panics.
func Parse(data []byte) (*Catalog, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("catalog csv: reading header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(cleanID(h))
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	const (
		hProduct  = "product_display_name"
		hPart     = "string_id"
		hSKU      = "guid"
		hPlanName = "service_plan_name"
		hPlanID   = "service_plan_id"
		hFriendly = "service_plans_included_friendly_names"
	)
	var idx [6]int
	for k, n := range []string{hProduct, hPart, hSKU, hPlanName, hPlanID, hFriendly} {
		i, ok := col[n]
		if !ok {
			return nil, fmt.Errorf("catalog csv: missing column %q", n)
		}
		idx[k] = i
	}
	cProduct, cPart, cSKU, cPlanName, cPlanID, cFriendly := idx[0], idx[1], idx[2], idx[3], idx[4], idx[5]

	type skuSeen struct {
		part, name spellings
		plans      []string // plan ids in first-seen order
		has        map[string]bool
	}
	type planSeen struct{ name, friendly spellings }
	skus := map[string]*skuSeen{}
	var skuOrder []string
	plans := map[string]*planSeen{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("catalog csv: %w", err)
		}
		line, _ := r.FieldPos(0)
		get := func(i int) string {
			if i < len(rec) {
				return rec[i]
			}
			return ""
		}
		if blank(rec) {
			continue
		}
		skuID := strings.ToLower(cleanID(get(cSKU)))
		if !isGUID(skuID) {
			return nil, fmt.Errorf("catalog csv: line %d: GUID %q is not a GUID", line, skuID)
		}
		s := skus[skuID]
		if s == nil {
			s = &skuSeen{has: map[string]bool{}}
			skus[skuID] = s
			skuOrder = append(skuOrder, skuID)
		}
		s.part.add(cleanID(get(cPart)))
		s.name.add(cleanName(get(cProduct)))
		planID := strings.ToLower(cleanID(get(cPlanID)))
		if planID == "" {
			continue
		}
		if !isGUID(planID) {
			return nil, fmt.Errorf("catalog csv: line %d: Service_Plan_Id %q is not a GUID", line, planID)
		}
		p := plans[planID]
		if p == nil {
			p = &planSeen{}
			plans[planID] = p
		}
		p.name.add(cleanName(get(cPlanName)))
		p.friendly.add(cleanName(get(cFriendly)))
		if !s.has[planID] {
			s.has[planID] = true
			s.plans = append(s.plans, planID)
		}
	}

	out := make([]*SKU, 0, len(skuOrder))
	for _, id := range skuOrder {
		s := skus[id]
		sku := &SKU{ID: id, PartNumber: s.part.best(), DisplayName: s.name.best(), AppliesTo: "User", Plans: make([]Plan, len(s.plans))}
		if sku.PartNumber == "" {
			return nil, fmt.Errorf("catalog csv: product %s has no String_Id", id)
		}
		if sku.DisplayName == "" {
			sku.DisplayName = sku.PartNumber
		}
		for i, pid := range s.plans {
			p := plans[pid]
			sku.Plans[i] = Plan{ID: pid, Name: p.name.best(), FriendlyName: p.friendly.best()}
			if sku.Plans[i].Name == "" {
				sku.Plans[i].Name = pid
			}
			if sku.Plans[i].FriendlyName == "" {
				sku.Plans[i].FriendlyName = sku.Plans[i].Name
			}
		}
		sort.SliceStable(sku.Plans, func(i, j int) bool { return sku.Plans[i].Name < sku.Plans[j].Name })
		out = append(out, sku)
	}
	return build(out, nil, nil), nil
}

// spellings counts the spellings of one value across rows. Almost every
// value has one spelling, so a short slice beats a map.
type spellings []spelling

type spelling struct {
	v string
	n int
}

func (s *spellings) add(v string) {
	if v == "" {
		return
	}
	for i := range *s {
		if (*s)[i].v == v {
			(*s)[i].n++
			return
		}
	}
	*s = append(*s, spelling{v, 1})
}

// best is the most frequent spelling, ties going to the first seen.
func (s spellings) best() string {
	best := -1
	for i := range s {
		if best < 0 || s[i].n > s[best].n {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return s[best].v
}

// isTrim reports the runes trimmed around ids: white space (which includes
// the no-break space Microsoft's file has after some ids), byte-order marks
// and zero-width spaces.
func isTrim(r rune) bool { return unicode.IsSpace(r) || r == '\ufeff' || r == '\u200b' }

// cleanID trims an id or header cell.
func cleanID(s string) string { return strings.TrimFunc(s, isTrim) }

// cleanName trims a name and collapses each run of white space inside it to
// one space ("Virtualization \tRights \tfor ..." is one spelling).
func cleanName(s string) string {
	s = cleanID(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\n' || c == '\r' || c >= 0x80 || (c == ' ' && i+1 < len(s) && s[i+1] == ' ') {
			return strings.Join(strings.FieldsFunc(s, isTrim), " ")
		}
	}
	return s
}

// blank reports whether every field of the record is empty or white space.
func blank(rec []string) bool {
	for _, f := range rec {
		if cleanID(f) != "" {
			return false
		}
	}
	return true
}

// isGUID reports whether s is a GUID in 8-4-4-4-12 form (any case).
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// IsGUID reports whether s is a GUID in 8-4-4-4-12 form.
func IsGUID(s string) bool { return isGUID(s) }
