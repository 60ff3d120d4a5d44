package licensing

import (
	"testing"

	"allot"
)

const (
	upnNFC = "jos\u00e9.m\u00fcller@contoso.example"
	upnNFD = "jose\u0301.mu\u0308ller@contoso.example"
)

func TestUserPrincipalNameIsUniqueAcrossUnicodeFormsAndCase(t *testing.T) {
	if UPNKey(upnNFC) != UPNKey(upnNFD) || UPNKey("ANN@Contoso.example") != UPNKey("ann@contoso.EXAMPLE") {
		t.Fatal("UPNKey differs for one name")
	}
	f := newFixture(t)
	a := f.user(1, func(u *User) { u.UserPrincipalName = upnNFC })
	err := f.e.PutUser(f.op(), User{ID: gid("u", 2), UserPrincipalName: upnNFD})
	if allot.ErrorCode(err) != allot.ECONFLICT {
		t.Fatalf("NFD spelling of an existing name: %v", err)
	}
	err = f.e.PutUser(f.op(), User{ID: gid("u", 2), UserPrincipalName: "JOS\u00c9.M\u00dcLLER@contoso.example"})
	if allot.ErrorCode(err) != allot.ECONFLICT {
		t.Fatalf("upper-case spelling of an existing name: %v", err)
	}
	if u, ok := f.e.UserByUPN(upnNFD); !ok || u.ID != a {
		t.Fatalf("lookup by the NFD spelling: %v %v", u.ID, ok)
	}
}

// TestStoredUsersSharingANameStillLoadAndStayEditable: an earlier version
// compared names without NFC, so a store may hold two users whose names are
// one key now. Both load, both can be changed, and deleting one leaves the
// other findable.
func TestStoredUsersSharingANameStillLoadAndStayEditable(t *testing.T) {
	f := newFixture(t)
	a, b := gid("u", 1), gid("u", 2)
	f.must(f.e.LoadUser(User{ID: a, UserPrincipalName: upnNFC, UsageLocation: "US"}))
	f.must(f.e.LoadUser(User{ID: b, UserPrincipalName: upnNFD, UsageLocation: "US"}))
	f.must(f.e.PutUser(f.op(), User{ID: b, UserPrincipalName: upnNFD, DisplayName: "B", UsageLocation: "US"}))
	f.must(f.e.PutUser(f.op(), User{ID: a, UserPrincipalName: upnNFC, DisplayName: "A", UsageLocation: "US"}))
	if u, ok := f.e.UserByUPN(upnNFD); !ok || u.ID != a {
		t.Fatalf("the first loaded keeps the name: %v %v", u.ID, ok)
	}
	f.must(f.e.DeleteUser(f.op(), b))
	if u, ok := f.e.UserByUPN(upnNFC); !ok || u.ID != a {
		t.Fatalf("deleting the second user lost the first's name: %v %v", u.ID, ok)
	}
}
