package catalog

import (
	"strings"
	"testing"
)

const csvHeader = "Product_Display_Name,String_Id,GUID,Service_Plan_Name,Service_Plan_Id,Service_Plans_Included_Friendly_Names\n"

func TestParseCopesWithBOMWhitespaceDuplicatesAndSpellings(t *testing.T) {
	data := "\ufeff" + csvHeader +
		"Suite,SUITE ,AAAAAAAA-0000-0000-0000-000000000001 ,MAIL, 00000000-0000-0000-0000-0000000000a1,Mail\n" +
		"Suite,SUITE,aaaaaaaa-0000-0000-0000-000000000001,MAIL,00000000-0000-0000-0000-0000000000a1,Mail\n" + // duplicate row
		"Suite,SUITE,aaaaaaaa-0000-0000-0000-000000000001,CHAT\u00a0,00000000-0000-0000-0000-0000000000b2\u00a0,Chat   and\tcalls\n" +
		"\n" +
		",,,,,\n" + // blank record
		"Add-on,ADDON,aaaaaaaa-0000-0000-0000-000000000002,mail),00000000-0000-0000-0000-0000000000A1,Mail\n" + // odd spelling, upper-case id
		"Other,OTHER,aaaaaaaa-0000-0000-0000-000000000003,MAIL,00000000-0000-0000-0000-0000000000a1,Mail\n"
	c, err := Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.SKUs()); got != 3 {
		t.Fatalf("%d products, want 3", got)
	}
	s, ok := c.SKU("suite")
	if !ok || s.ID != "aaaaaaaa-0000-0000-0000-000000000001" || s.PartNumber != "SUITE" || s.AppliesTo != "User" {
		t.Fatalf("SKU(suite) = %+v, %v", s, ok)
	}
	if len(s.Plans) != 2 {
		t.Fatalf("SUITE plans = %+v, want 2 (duplicate row dropped)", s.Plans)
	}
	chat, _ := c.Plan("00000000-0000-0000-0000-0000000000b2")
	if chat == nil || chat.Name != "CHAT" || chat.FriendlyName != "Chat and calls" {
		t.Errorf("chat plan = %+v", chat)
	}
	mail, _ := c.Plan("00000000-0000-0000-0000-0000000000a1")
	if mail == nil || mail.Name != "MAIL" {
		t.Errorf("mail plan = %+v, want the most frequent spelling MAIL", mail)
	}
	if add, _ := c.SKU("ADDON"); add == nil || add.Plans[0].Name != "MAIL" {
		t.Errorf("the plan's name must be the same in every product: %+v", add)
	}
	if got := len(c.SKUsWithPlan("00000000-0000-0000-0000-0000000000A1")); got != 3 {
		t.Errorf("mail plan in %d products, want 3", got)
	}
}

func TestParseFindsColumnsByHeaderInAnyOrder(t *testing.T) {
	data := "service_plan_id, GUID ,Service_Plans_Included_Friendly_Names,String_Id,Service_Plan_Name,Product_Display_Name,Extra\n" +
		"00000000-0000-0000-0000-0000000000a1,aaaaaaaa-0000-0000-0000-000000000001,Mail,SUITE,MAIL,Suite,x\n"
	c, err := Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := c.SKU("SUITE")
	if !ok || s.DisplayName != "Suite" || len(s.Plans) != 1 || s.Plans[0].Name != "MAIL" || s.Plans[0].FriendlyName != "Mail" {
		t.Fatalf("SKU = %+v, %v", s, ok)
	}
}

func TestParseRejectsMalformedInput(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "reading header"},
		{"missing column", "Product_Display_Name,String_Id,GUID\n", `missing column "service_plan_name"`},
		{"bad sku id", csvHeader + "A,B,not-a-guid,P,00000000-0000-0000-0000-0000000000a1,F\n", "line 2: GUID"},
		{"bad plan id", csvHeader + "A,B,aaaaaaaa-0000-0000-0000-000000000001,P,zz,F\n", "line 2: Service_Plan_Id"},
		{"no part number", csvHeader + "A,,aaaaaaaa-0000-0000-0000-000000000001,P,00000000-0000-0000-0000-0000000000a1,F\n", "no String_Id"},
		{"bad quoting", csvHeader + "\"A,B\n", "catalog csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// FuzzParse: Parse never panics, and whatever it accepts is a consistent
// catalog.
func FuzzParse(f *testing.F) {
	f.Add([]byte(csvHeader + "Suite,SUITE,aaaaaaaa-0000-0000-0000-000000000001,MAIL,00000000-0000-0000-0000-0000000000a1,Mail\n"))
	f.Add([]byte("\ufeff" + csvHeader + "\"Su,ite\",SUITE ,AAAAAAAA-0000-0000-0000-000000000001,MAIL\t,,\n"))
	f.Add([]byte(csvHeader + "A,B,aaaaaaaa-0000-0000-0000-000000000001\n,,,,,\n"))
	f.Add(microsoftCSV[:4096])
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		for _, s := range c.SKUs() {
			if !IsGUID(s.ID) {
				t.Fatalf("skuId %q is not a GUID", s.ID)
			}
			if got, ok := c.SKU(s.ID); !ok || got != s {
				t.Fatalf("SKU(%s) does not find the product", s.ID)
			}
			for _, p := range s.Plans {
				if !IsGUID(p.ID) {
					t.Fatalf("plan id %q is not a GUID", p.ID)
				}
				if _, ok := c.Plan(p.ID); !ok {
					t.Fatalf("Plan(%s) not found", p.ID)
				}
			}
		}
	})
}

// BenchmarkParseEmbedded parses Microsoft's whole file (about 1 MB, 5,457
// rows): the cost paid once at start-up by Default.
func BenchmarkParseEmbedded(b *testing.B) {
	b.SetBytes(int64(len(microsoftCSV)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(microsoftCSV); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDefaultRules loads and validates the curated plan rules.
func BenchmarkDefaultRules(b *testing.B) {
	c := Default()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := defaultRules(c); err != nil {
			b.Fatal(err)
		}
	}
}
