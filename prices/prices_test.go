package prices

import (
	"os"
	"strings"
	"testing"

	"allot"
	"allot/catalog"
)

func TestCheckResolvesProductsAndNamesEveryBadEntry(t *testing.T) {
	l := List{Currency: " eur ", Prices: []Price{
		{SKUPartNumber: "spe_e3", MonthlyUnitPrice: 33.456789, Term: "annual"},
		{SKUID: "06EBC4EE-1BB5-47DD-8120-11324BC54E06", MonthlyUnitPrice: 54},
	}}
	if err := l.Check(catalog.Default()); err != nil {
		t.Fatal(err)
	}
	if l.Currency != "EUR" || l.Prices[0].SKUPartNumber != "SPE_E3" || l.Prices[0].SKUID != "05e9a617-0261-4cee-bb44-138d3ef5d965" ||
		l.Prices[0].MonthlyUnitPrice != 33.4568 || l.Prices[0].Term != "P1Y" || l.Prices[1].SKUPartNumber != "SPE_E5" {
		t.Fatalf("normalised %+v", l)
	}
	if u, ok := l.Units("05e9a617-0261-4cee-bb44-138d3ef5d965"); !ok || u != 334568 {
		t.Fatalf("units %d %v", u, ok)
	}
	bad := List{Currency: "dollars", Prices: []Price{
		{SKUPartNumber: "SPE_E3", MonthlyUnitPrice: 1},
		{SKUPartNumber: "NO_SUCH", MonthlyUnitPrice: 1},
		{SKUID: "05e9a617-0261-4cee-bb44-138d3ef5d965", MonthlyUnitPrice: -2},
		{SKUID: "06ebc4ee-1bb5-47dd-8120-11324bc54e06", SKUPartNumber: "SPE_E3", MonthlyUnitPrice: 1},
		{MonthlyUnitPrice: 1, Term: "weekly"},
	}}
	err := bad.Check(catalog.Default())
	if allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("%v", err)
	}
	for _, want := range []string{"currency:", "prices[1].skuPartNumber: no product is called \"NO_SUCH\"",
		"prices[2]: SPE_E3 is already priced by prices[0]", "prices[2].monthlyUnitPrice", "prices[3].skuPartNumber",
		"prices[4].skuId: a skuId or skuPartNumber is required", "prices[4].term"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
}

func TestParseCSVWithAndWithoutHeader(t *testing.T) {
	l, lines, err := ParseCSV(strings.NewReader("\ufeffSPE_E3,usd,\"36,5\",annual\n\n05e9a617-0261-4cee-bb44-138d3ef5d966,USD,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Currency != "USD" || len(l.Prices) != 2 || l.Prices[0].MonthlyUnitPrice != 36.5 || l.Prices[1].SKUID == "" || lines[1] != 3 {
		t.Fatalf("%+v %v", l, lines)
	}
	l, _, err = ParseCSV(strings.NewReader("Term,Monthly Unit Price,SKU Part Number,Currency\nP1M,4,EXCHANGESTANDARD,GBP\n"))
	if err != nil || l.Currency != "GBP" || l.Prices[0].SKUPartNumber != "EXCHANGESTANDARD" || l.Prices[0].Term != "P1M" {
		t.Fatalf("%+v %v", l, err)
	}
	for _, in := range []string{"SPE_E3,USD,36\nSPE_E5,EUR,50\n", "SPE_E3,USD,cheap\n", "sku,currency,price\n", ",USD,3\n"} {
		if _, _, err := ParseCSV(strings.NewReader(in)); allot.ErrorCode(err) != allot.EINVALID || !strings.Contains(err.Error(), "") {
			t.Errorf("%q: %v", in, err)
		}
	}
	_, lines, _ = ParseCSV(strings.NewReader("sku,currency,price\nSPE_E3,USD,1\n\nNOPE,USD,2\n"))
	bad := List{Currency: "USD", Prices: []Price{{SKUPartNumber: "SPE_E3", MonthlyUnitPrice: 1}, {SKUPartNumber: "NOPE", MonthlyUnitPrice: 2}}}
	if err := lines.Rewrite(bad.Check(catalog.Default())); !strings.Contains(err.Error(), "line 4, column skuPartNumber") {
		t.Fatalf("%v", err)
	}
}

func TestTheExamplePriceListIsValid(t *testing.T) {
	f, err := os.Open("../position/testdata/prices-usd.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, lines, err := ParseCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Check(catalog.Default()); err != nil {
		t.Fatal(lines.Rewrite(err))
	}
}
