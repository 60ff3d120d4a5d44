package userprop

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// Every combination of set texts reads back, packs canonically (equal
// texts, equal strings) and survives SetPackedTexts.
func TestTextsRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		var want Texts
		for k := range NTexts {
			if rnd.IntN(3) == 0 {
				want[k] = strings.Repeat(string(rune('a'+k)), rnd.IntN(300)+1)
			}
		}
		var u User
		u.SetTexts(&want)
		if got := u.Texts(); got != want {
			t.Fatalf("%d: texts %q, want %q", i, got, want)
		}
		for k := range NTexts {
			if got := u.Text(Text(k)); got != want[k] {
				t.Fatalf("%d: text %d %q, want %q", i, k, got, want[k])
			}
		}
		// set one at a time, in another order: the same packed string
		var v User
		for k := NTexts - 1; k >= 0; k-- {
			v.SetText(Text(k), want[k])
		}
		if v.PackedTexts() != u.PackedTexts() {
			t.Fatalf("%d: packed %q and %q for the same texts", i, v.PackedTexts(), u.PackedTexts())
		}
		var w User
		if err := w.SetPackedTexts(u.PackedTexts()); err != nil || w.Texts() != want {
			t.Fatalf("%d: SetPackedTexts: %v, %q", i, err, w.Texts())
		}
	}
	var u User
	u.SetText(Mail, "m@x")
	u.SetText(Mail, "")
	if u.PackedTexts() != "" {
		t.Fatalf("every text unset, packed %q", u.PackedTexts())
	}
}

// SetPackedTexts refuses what AppendTexts does not write, and keeps the
// user as it was.
func TestSetPackedTextsRefusesMalformed(t *testing.T) {
	u := User{}.With(City, "Oslo")
	before := u.PackedTexts()
	for _, p := range []string{"\x01", "\x00\x00", "\x00\x04", "\x01\x00", "\x01\x00\x05ab", "\x01\x00\x02abc",
		"\x01\x00\x00", "\x01\x00\x80\x00", "\x03\x00\x01a", "\x00\x08\x01a"} {
		if err := u.SetPackedTexts(p); err == nil {
			t.Errorf("%q accepted", p)
		}
		if u.PackedTexts() != before {
			t.Errorf("%q changed the user", p)
		}
	}
}

// FuzzPackedTexts: a packed form SetPackedTexts accepts is the one its
// texts pack to; nothing panics.
func FuzzPackedTexts(f *testing.F) {
	u := User{}.With(Department, "Sales").With(Mail, "a@b")
	f.Add(u.PackedTexts())
	f.Add("\x01\x00\x05Sales")
	f.Fuzz(func(t *testing.T, p string) {
		var u User
		if err := u.SetPackedTexts(p); err != nil {
			if u.PackedTexts() != "" {
				t.Fatal("a refused form was kept")
			}
			return
		}
		tx := u.Texts()
		if again := string(AppendTexts(nil, &tx)); again != p {
			t.Fatalf("accepted %q, which packs to %q", p, again)
		}
	})
}

// A User marshals as it did when each text was a field of its own: the
// same names in the same order (stored JSON records of earlier versions
// and the JSON stores read it), and reads back.
func TestUserJSONKeepsItsShape(t *testing.T) {
	u := User{ID: "u1", UserPrincipalName: "a@b", DisplayName: "A", AccountEnabled: true, UserType: "Member",
		UsageLocation: "NO", Kind: "person", Attributes: map[string]string{"state": "Oslo"},
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}.WithProxyAddresses([]string{"smtp:a@b"}).WithOtherMails([]string{"o@b"})
	u.SetTexts(&Texts{Department: "d", JobTitle: "j", Country: "c", City: "ci", CompanyName: "co", EmployeeID: "e",
		EmployeeHireDate: "2020-01-01T00:00:00Z", Mail: "m", GivenName: "g", Surname: "s"})
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"u1","userPrincipalName":"a@b","displayName":"A","accountEnabled":true,"userType":"Member","usageLocation":"NO",` +
		`"kind":"person","department":"d","jobTitle":"j","country":"c","city":"ci","companyName":"co","employeeId":"e",` +
		`"employeeHireDate":"2020-01-01T00:00:00Z","mail":"m","givenName":"g","surname":"s","proxyAddresses":["smtp:a@b"],` +
		`"otherMails":["o@b"],"attributes":{"state":"Oslo"},"createdDateTime":"2026-01-02T03:04:05Z"}`
	if string(b) != want {
		t.Fatalf("JSON\n%s\nwant\n%s", b, want)
	}
	var back User
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if bb, _ := json.Marshal(back); string(bb) != want || back.PackedTexts() != u.PackedTexts() {
		t.Fatalf("read back as %s", bb)
	}
	// a property the JSON does not name keeps its value
	if err := json.Unmarshal([]byte(`{"mail":"new"}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.Mail() != "new" || back.Department() != "d" || back.ID != "u1" {
		t.Fatalf("merge: %+v", back.jsonUser())
	}
}
