package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"allot/catalog"
)

// allot catalog: browse the built-in product catalog (Microsoft's products
// and service plans) and the plan rules that apply to them.

func init() { rootCmd.AddCommand(newCatalogCmd(catalog.Default)) }

// newCatalogCmd builds the command tree over the catalog that cat returns;
// tests pass their own.
func newCatalogCmd(cat func() *catalog.Catalog) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Browse products (SKUs), service plans and plan rules",
		Long: `Browse the built-in product catalog: Microsoft's products (SKUs) and the
service plans they contain, with the plan rules (dependencies, mutual
exclusions, usage-location restrictions, allotment eligibility).`,
	}
	cmd.AddCommand(newCatalogSKUsCmd(cat), newCatalogSKUCmd(cat), newCatalogPlanCmd(cat))
	return cmd
}

func newCatalogSKUsCmd(cat func() *catalog.Catalog) *cobra.Command {
	var search string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "skus",
		Short: "List products: part number, skuId, display name, plan count",
		Example: `  allot catalog skus --search "E3"
  allot catalog skus --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			skus := cat().Search(search)
			out := cmd.OutOrStdout()
			if asJSON {
				if skus == nil {
					skus = []*catalog.SKU{}
				}
				return writeJSON(out, skus)
			}
			if len(skus) == 0 {
				return fmt.Errorf("no product matches %q", search)
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "PART NUMBER\tSKU ID\tDISPLAY NAME\tPLANS")
			for _, s := range skus {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", s.PartNumber, s.ID, s.DisplayName, len(s.Plans))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&search, "search", "", "only products whose part number or display name contains `TEXT` (case-insensitive)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (skuId, skuPartNumber, displayName, appliesTo, servicePlans)")
	return cmd
}

func newCatalogSKUCmd(cat func() *catalog.Catalog) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "sku PART_NUMBER|SKU_ID",
		Short: "Show a product and its service plans",
		Example: `  allot catalog sku SPE_E3
  allot catalog sku 05e9a617-0261-4cee-bb44-138d3ef5d965`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := cat()
			s, ok := c.SKU(args[0])
			if !ok {
				return fmt.Errorf("unknown product %q (find it with: allot catalog skus --search TEXT)", args[0])
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, s)
			}
			tw := newTable(out)
			fmt.Fprintf(tw, "Product:\t%s\n", s.DisplayName)
			fmt.Fprintf(tw, "Part number:\t%s\n", s.PartNumber)
			fmt.Fprintf(tw, "SKU ID:\t%s\n", s.ID)
			fmt.Fprintf(tw, "Applies to:\t%s\n", s.AppliesTo)
			if s.Custom {
				fmt.Fprintf(tw, "Custom:\tyes\n")
			}
			if same := c.SKUsByPartNumber(s.PartNumber); len(same) > 1 {
				ids := make([]string, len(same))
				for i, o := range same {
					ids[i] = o.ID
				}
				fmt.Fprintf(tw, "Note:\tpart number %s names %d products (%s); look others up by SKU ID\n", s.PartNumber, len(same), strings.Join(ids, ", "))
			}
			if ok, reason := c.AllotmentEligible(s.ID); ok {
				fmt.Fprintf(tw, "Allotments:\teligible\n")
			} else {
				fmt.Fprintf(tw, "Allotments:\tnot eligible (%s)\n", reason)
			}
			if cs := prohibitedCountries(c, s.ID); len(cs) > 0 {
				fmt.Fprintf(tw, "Not available in:\t%s\n", strings.Join(cs, ", "))
			}
			fmt.Fprintf(tw, "Service plans:\t%d\n", len(s.Plans))
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(out)
			tw = newTable(out)
			fmt.Fprintln(tw, "NAME\tSERVICE PLAN ID\tFRIENDLY NAME")
			for _, p := range s.Plans {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.ID, p.FriendlyName)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the product as JSON")
	return cmd
}

func newCatalogPlanCmd(cat func() *catalog.Catalog) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "plan NAME|SERVICE_PLAN_ID",
		Short: "Show a service plan, its rules and the products that contain it",
		Example: `  allot catalog plan EXCHANGE_S_ENTERPRISE
  allot catalog plan WORKPLACE_ANALYTICS`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := cat()
			p, ok := c.Plan(args[0])
			if !ok {
				return fmt.Errorf("unknown service plan %q (service plans are listed by: allot catalog sku PART_NUMBER)", args[0])
			}
			skus := c.SKUsWithPlan(p.ID)
			out := cmd.OutOrStdout()
			if asJSON {
				type skuRef struct {
					ID          string `json:"skuId"`
					PartNumber  string `json:"skuPartNumber"`
					DisplayName string `json:"displayName"`
				}
				v := struct {
					*catalog.Plan
					Dependencies []catalog.Dependency `json:"dependencies"`
					SKUs         []skuRef             `json:"skus"`
				}{Plan: p, Dependencies: c.DependenciesOf(p.ID), SKUs: []skuRef{}}
				for _, s := range skus {
					v.SKUs = append(v.SKUs, skuRef{s.ID, s.PartNumber, s.DisplayName})
				}
				return writeJSON(out, v)
			}
			tw := newTable(out)
			fmt.Fprintf(tw, "Service plan:\t%s\n", p.Name)
			fmt.Fprintf(tw, "Service plan ID:\t%s\n", p.ID)
			fmt.Fprintf(tw, "Friendly name:\t%s\n", p.FriendlyName)
			for _, d := range c.DependenciesOf(p.ID) {
				fmt.Fprintf(tw, "Requires any of:\t%s\n", strings.Join(planNames(c, d.RequiresAnyOf), ", "))
			}
			if ex := excludedWith(c, p.ID); len(ex) > 0 {
				fmt.Fprintf(tw, "Exclusive with:\t%s\n", strings.Join(planNames(c, ex), ", "))
			}
			fmt.Fprintf(tw, "Products:\t%d\n", len(skus))
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(out)
			tw = newTable(out)
			fmt.Fprintln(tw, "PART NUMBER\tSKU ID\tDISPLAY NAME")
			for _, s := range skus {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.PartNumber, s.ID, s.DisplayName)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan, its dependencies and its products as JSON")
	return cmd
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// planNames turns plan ids into names, for display.
func planNames(c *catalog.Catalog, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id
		if p, ok := c.Plan(id); ok {
			out[i] = p.Name
		}
	}
	return out
}

// excludedWith lists the plans that may not be enabled together with planID.
func excludedWith(c *catalog.Catalog, planID string) []string {
	var out []string
	for _, x := range c.Rules().Exclusions {
		switch planID {
		case x.Plans[0]:
			out = append(out, x.Plans[1])
		case x.Plans[1]:
			out = append(out, x.Plans[0])
		}
	}
	return out
}

// prohibitedCountries lists the usage locations where the product may not be
// assigned.
func prohibitedCountries(c *catalog.Catalog, skuID string) []string {
	var out []string
	for _, lr := range c.Rules().LocationRestrictions {
		if lr.SKU == skuID {
			out = append(out, lr.Countries...)
		}
	}
	sort.Strings(out)
	return out
}
