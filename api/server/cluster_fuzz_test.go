package server_test

import (
	"testing"

	"allot/api/apitest"
	"allot/api/partner"
	"allot/api/server"
)

// FuzzMinSeqHeader: any X-Allot-Min-Seq on a read is answered 200 (a
// number the tenant has) or 400 (not a number, or one this process never
// acknowledged), never a 5xx, and changes nothing.
func FuzzMinSeqHeader(f *testing.F) {
	e := apitest.New(f, partner.Register)
	id := e.Customer("Contoso", "US")
	seq := e.Must(201, "POST", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, map[string]any{"offerId": "ENTERPRISEPACK", "quantity": 1}).Header.Get(server.SeqHeader)
	for _, s := range []string{seq, "0", "", "-1", "abc", "1e3", "99999999999999999999", " 1", "+1", "0x10", "1000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for i := 0; i < len(v); i++ {
			if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
				t.Skip("not a value a client can send in a header")
			}
		}
		e.T = t
		r := e.Call("GET", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, nil, server.MinSeqHeader+": "+v)
		if r.Status != 200 && r.Status != 400 {
			t.Fatalf("%s %q: %d %s", server.MinSeqHeader, v, r.Status, r.Body)
		}
	})
}
