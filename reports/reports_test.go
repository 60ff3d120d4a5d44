package reports

import (
	"regexp"
	"testing"
)

func TestParsePeriod(t *testing.T) {
	for in, want := range map[string]int{"D7": 7, "D30": 30, "D90": 90, "D180": 180} {
		if p, err := ParsePeriod(in); err != nil || p.Days != want {
			t.Errorf("%s: %v %v", in, p, err)
		}
	}
	for _, in := range []string{"", "D8", "d7", "7", "D07", "D180 "} {
		if _, err := ParsePeriod(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestConcealIsStablePerTenantAndLooksLikeMicrosofts(t *testing.T) {
	a := Conceal("t1", "Ann@Contoso.example")
	if !regexp.MustCompile(`^[0-9A-F]{32}$`).MatchString(a) {
		t.Fatalf("%q is not 32 upper-case hexadecimal digits", a)
	}
	if a != Conceal("t1", "ann@contoso.example") {
		t.Error("the same user (any case) has one concealed name")
	}
	if a == Conceal("t2", "ann@contoso.example") || a == Conceal("t1", "bob@contoso.example") {
		t.Error("other tenants and users have other concealed names")
	}
}
