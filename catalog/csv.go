package catalog

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Parse reads Microsoft's product/service-plan CSV. It copes with what the
// published file really contains: a UTF-8 byte-order mark, stray white space
// around ids, duplicate rows, and a plan id spelled with several names across
// rows (the most frequent spelling wins, ties by the first seen). Columns are
// found by header name. The result has no plan rules; see WithRules.
func Parse(data []byte) (*Catalog, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("catalog csv: reading header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	need := []string{"product_display_name", "string_id", "guid", "service_plan_name", "service_plan_id", "service_plans_included_friendly_names"}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("catalog csv: missing column %q", n)
		}
	}
	type planSeen struct {
		names   map[string]int
		order   []string
		friends map[string]int
		forder  []string
	}
	skus := map[string]*SKU{}
	var skuOrder []string
	planInfo := map[string]*planSeen{}
	skuPlans := map[string]map[string]bool{}
	line := 1
	for {
		rec, err := r.Read()
		line++
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("catalog csv: line %d: %w", line, err)
		}
		get := func(n string) string {
			i := col[n]
			if i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		skuID := strings.ToLower(get("guid"))
		planID := strings.ToLower(get("service_plan_id"))
		if !isGUID(skuID) {
			return nil, fmt.Errorf("catalog csv: line %d: GUID %q is not a GUID", line, skuID)
		}
		s, ok := skus[skuID]
		if !ok {
			s = &SKU{ID: skuID, PartNumber: get("string_id"), DisplayName: get("product_display_name"), AppliesTo: "User"}
			skus[skuID] = s
			skuOrder = append(skuOrder, skuID)
			skuPlans[skuID] = map[string]bool{}
		}
		if planID == "" {
			continue
		}
		if !isGUID(planID) {
			return nil, fmt.Errorf("catalog csv: line %d: Service_Plan_Id %q is not a GUID", line, planID)
		}
		ps, ok := planInfo[planID]
		if !ok {
			ps = &planSeen{names: map[string]int{}, friends: map[string]int{}}
			planInfo[planID] = ps
		}
		if n := get("service_plan_name"); n != "" {
			if ps.names[n] == 0 {
				ps.order = append(ps.order, n)
			}
			ps.names[n]++
		}
		if f := get("service_plans_included_friendly_names"); f != "" {
			if ps.friends[f] == 0 {
				ps.forder = append(ps.forder, f)
			}
			ps.friends[f]++
		}
		if !skuPlans[skuID][planID] {
			skuPlans[skuID][planID] = true
			s.Plans = append(s.Plans, Plan{ID: planID})
		}
	}
	mostFrequent := func(counts map[string]int, order []string) string {
		best := ""
		for _, n := range order {
			if best == "" || counts[n] > counts[best] {
				best = n
			}
		}
		return best
	}
	out := make([]*SKU, 0, len(skuOrder))
	for _, id := range skuOrder {
		s := skus[id]
		for i := range s.Plans {
			ps := planInfo[s.Plans[i].ID]
			s.Plans[i].Name = mostFrequent(ps.names, ps.order)
			s.Plans[i].FriendlyName = mostFrequent(ps.friends, ps.forder)
		}
		sort.SliceStable(s.Plans, func(i, j int) bool { return s.Plans[i].Name < s.Plans[j].Name })
		out = append(out, s)
	}
	return build(out, nil), nil
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
