package identity

import (
	"strings"
	"testing"

	"allot"
	"allot/licensing"
	"allot/userprop"
)

func TestCheckUPNSyntaxFollowsEntrasUserNamePolicies(t *testing.T) {
	valid := []string{
		"ann@contoso.com",
		"o'brien.x-y_z!#^~@contoso.com",
		"Ann.Archer@Contoso.COM",
		"alice_fabrikam.com#EXT#@contoso.onmicrosoft.com",
		strings.Repeat("a", 64) + "@" + strings.Repeat("d", 44) + ".com", // 64 + 1 + 48 = 113
		"_ann_@contoso.com",
		"a@x-y.example",
		"ann@contoso", // syntax only: a tenant's domains have two labels or more
	}
	for _, upn := range valid {
		if err := CheckUPNSyntax(upn); err != nil {
			t.Errorf("%q refused: %v", upn, err)
		}
	}
	invalid := []string{
		"", " ", "not-an-upn", "@contoso.com", "ann@", "john smith@contoso.com", "😀@contoso.com",
		"jos\u00e9@contoso.com", "a@b@contoso.com", ".ann@contoso.com", "ann.@contoso.com", "ann&co@contoso.com",
		"ann+tag@contoso.com", "ann@-contoso.com", "ann@contoso-.com", "ann@contoso..com",
		"ann@contoso.com.", "ann@conto so.com", "ann@cöntoso.com", "a\x00@contoso.com",
		strings.Repeat("a", 65) + "@contoso.com",
		"a@" + strings.Repeat("d", 45) + ".com",                            // domain of 49
		strings.Repeat("a", 64) + "@" + strings.Repeat("d", 41) + ".co.uk", // 64+1+47 = 112: fine …
	}
	invalid = invalid[:len(invalid)-1] // … so the last one is checked as valid below
	for _, upn := range invalid {
		err := CheckUPNSyntax(upn)
		if allot.ErrorCode(err) != allot.EINVALID || !strings.HasPrefix(allot.ErrorMessage(err), "Property userPrincipalName is invalid.") {
			t.Errorf("%q: %v", upn, err)
		}
	}
	if err := CheckUPNSyntax(strings.Repeat("a", 64) + "@" + strings.Repeat("d", 41) + ".co.uk"); err != nil {
		t.Errorf("112 characters refused: %v", err)
	}
}

func TestCheckUPNNeedsOneOfTheTenantsDomains(t *testing.T) {
	domains := []string{"contoso.com", "fabrikam.com"}
	for _, upn := range []string{"a@contoso.com", "a@CONTOSO.com", "a@fabrikam.com"} {
		if err := CheckUPN(upn, domains); err != nil {
			t.Errorf("%q: %v", upn, err)
		}
	}
	for _, upn := range []string{"a@tailspin.com", "a@sub.contoso.com", "a@contoso.com.evil.com"} {
		if err := CheckUPN(upn, domains); err == nil || !strings.Contains(err.Error(), "verified domain") {
			t.Errorf("%q: %v", upn, err)
		}
	}
	// A tenant without domains (stored by an earlier version) checks the syntax only.
	if err := CheckUPN("a@tailspin.com", nil); err != nil {
		t.Errorf("no domains: %v", err)
	}
	if err := CheckUPN("a@contoso", domains); err == nil {
		t.Error("a single-label domain is no tenant's domain")
	}
	if err := CheckUPN("tailspin", nil); err == nil {
		t.Error("no domains: syntax not checked")
	}
}

func TestUsageLocationIsAnAssignedISOCode(t *testing.T) {
	if len(countries) != 249 {
		t.Fatalf("%d ISO 3166-1 alpha-2 codes, want 249", len(countries))
	}
	for _, c := range []string{"", "US", "DE", "GB", "AX", "SS", "CW"} {
		if err := CheckUsageLocation(c); err != nil {
			t.Errorf("%q: %v", c, err)
		}
	}
	for _, c := range []string{"XX", "ZZ", "UK", "EU", "us", "USA", "U"} {
		if err := CheckUsageLocation(c); err == nil {
			t.Errorf("%q accepted", c)
		}
	}
}

func TestCheckUserNormalisesAndBoundsChangedProperties(t *testing.T) {
	domains := []string{"contoso.com"}
	u := licensing.User{ID: "u1", UserPrincipalName: " ann@contoso.com ", DisplayName: "Jose\u0301",
		Attributes: map[string]string{"state": "Ile\u0302"}}.With(userprop.Department, "Sal\u0065\u0301s").WithProxyAddresses([]string{"smtp:jose\u0301@contoso.com"})
	proxies := u.ProxyAddresses()
	if err := CheckUser(&u, nil, domains); err != nil {
		t.Fatal(err)
	}
	if u.UserPrincipalName != "ann@contoso.com" || u.DisplayName != "Jos\u00e9" || u.Department() != "Sal\u00e9s" ||
		u.ProxyAddresses()[0] != "smtp:jos\u00e9@contoso.com" || u.Attributes["state"] != "Il\u00ea" {
		t.Fatalf("not normalised: %+v", u)
	}
	if proxies[0] != "smtp:jose\u0301@contoso.com" {
		t.Fatal("CheckUser changed the caller's slice in place (it may be the engine's)")
	}
	for name, mod := range map[string]func(u *licensing.User){
		"displayName":   func(u *licensing.User) { u.DisplayName = strings.Repeat("x", 257) },
		"givenName":     func(u *licensing.User) { u.SetText(userprop.GivenName, strings.Repeat("x", 65)) },
		"employeeId":    func(u *licensing.User) { u.SetText(userprop.EmployeeID, strings.Repeat("1", 17)) },
		"usageLocation": func(u *licensing.User) { u.UsageLocation = "XX" },
		"mailNickname":  func(u *licensing.User) { u.Attributes = map[string]string{"mailnickname": strings.Repeat("n", 65)} },
		"extensionAttr": func(u *licensing.User) {
			u.Attributes = map[string]string{"extensionattribute1": strings.Repeat("e", 1025)}
		},
		"proxyAddresses": func(u *licensing.User) { u.SetProxyAddresses(make([]string, MaxValues+1)) },
		"control":        func(u *licensing.User) { u.SetText(userprop.City, "a\x07b") },
		"upn":            func(u *licensing.User) { u.UserPrincipalName = "ann@fabrikam.com" },
	} {
		x := licensing.User{ID: "u1", UserPrincipalName: "ann@contoso.com"}
		mod(&x)
		if err := CheckUser(&x, nil, domains); allot.ErrorCode(err) != allot.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Values stored by an earlier version pass while unchanged.
	old := licensing.User{ID: "u1", UserPrincipalName: "legacy", DisplayName: strings.Repeat("x", 300), UsageLocation: "XX",
		Attributes: map[string]string{"mailnickname": strings.Repeat("n", 80)}}
	next := old
	next.SetText(userprop.Department, "Sales")
	if err := CheckUser(&next, &old, domains); err != nil {
		t.Fatalf("unchanged legacy values refused: %v", err)
	}
	next.UserPrincipalName = "legacy2"
	if err := CheckUser(&next, &old, domains); err == nil {
		t.Fatal("a changed userPrincipalName is not checked")
	}
}

func TestCheckMailNickname(t *testing.T) {
	for _, s := range []string{"", "sales", "sales-team_1", strings.Repeat("n", 64)} {
		if err := CheckMailNickname(s, "Group"); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"a b", "a@b", "a(b)", `a\b`, "a[b]", `a"b`, "a;b", "a:b", "a<b>", "a,b", "é", strings.Repeat("n", 65)} {
		if err := CheckMailNickname(s, "Group"); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestCheckGroupAndAllotmentBoundNames(t *testing.T) {
	g := licensing.Group{ID: "g", DisplayName: "Sale\u0301s"}
	if err := CheckGroup(&g, nil); err != nil || g.DisplayName != "Sal\u00e9s" {
		t.Fatalf("%v %q", err, g.DisplayName)
	}
	if err := CheckGroup(&licensing.Group{ID: "g", DisplayName: strings.Repeat("g", 257)}, nil); err == nil {
		t.Error("257-character group name accepted")
	}
	if err := CheckAllotment(&licensing.Allotment{ID: "a", DisplayName: strings.Repeat("a", 5000)}, nil); err == nil {
		t.Error("5,000-character allotment name accepted")
	}
	old := licensing.Allotment{ID: "a", DisplayName: strings.Repeat("a", 5000)}
	if err := CheckAllotment(&licensing.Allotment{ID: "a", DisplayName: old.DisplayName, AllottedUnits: 3}, &old); err != nil {
		t.Errorf("unchanged stored name refused: %v", err)
	}
}

func TestCheckDomainName(t *testing.T) {
	for _, d := range []string{"contoso.com", "contoso.onmicrosoft.com", "x-1.example", "a.b.c.d"} {
		if err := CheckDomainName(d); err != nil {
			t.Errorf("%q: %v", d, err)
		}
	}
	for _, d := range []string{"", "contoso", ".com", "contoso.", "-a.com", "a-.com", "a..com", "a b.com", "ä.com", strings.Repeat("a", 64) + ".com"} {
		if err := CheckDomainName(d); err == nil {
			t.Errorf("%q accepted", d)
		}
	}
}
