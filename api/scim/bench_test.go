package scim_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
	"allot/api/scim"
	"allot/licensing"
	"allot/tenant"
)

// Throughput of SCIM writes over HTTP on SQLite (durable commits, group
// commit), with many concurrent clients as an identity provider's
// provisioning workers would be:
//
//	go test ./api/scim -run '^$' -bench . -cpu 2 -benchtime 5000x
//
// Each benchmark reports writes/s; every write is acknowledged only once
// committed.

const benchClients = 32 // concurrent HTTP clients (SetParallelism × GOMAXPROCS)

type benchEnv struct {
	*apitest.Env
	token  string
	tn     *tenant.Tenant
	client *http.Client
}

func newBenchEnv(b *testing.B) *benchEnv {
	c := apitest.NewContoso(b, partner.Register, admin.Register, scim.Register)
	tn, _ := c.RT.Get(c.ID)
	return &benchEnv{Env: c.Env, token: c.Admin, tn: tn,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * benchClients}}}
}

func (e *benchEnv) send(b *testing.B, method, path string, body []byte, want int) {
	req, _ := http.NewRequest(method, e.URL+"/scim/v2"+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := e.client.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Errorf("%s %s: %d", method, path, resp.StatusCode)
	}
}

func runParallel(b *testing.B, fn func(i int64)) {
	var n atomic.Int64
	b.SetParallelism(max(1, benchClients/max(1, testingProcs())))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			fn(n.Add(1) - 1)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
}

func BenchmarkSCIMCreateUser(b *testing.B) {
	e := newBenchEnv(b)
	runParallel(b, func(i int64) {
		body := fmt.Appendf(nil, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"user%d@contoso.example",
			"externalId":"ext-%d","name":{"givenName":"Given","familyName":"Family%d"},"displayName":"User %d","active":true,
			"emails":[{"primary":true,"type":"work","value":"user%d@contoso.example"}]}`, i, i, i, i, i)
		e.send(b, "POST", "/Users", body, 201)
	})
}

// BenchmarkSCIMPatchAddMember adds one user per request to one of 16
// licensed groups (so each addition also claims a seat).
func BenchmarkSCIMPatchAddMember(b *testing.B) {
	e := newBenchEnv(b)
	const groups = 16
	e.Subscribe(e.tn.ID, "SPE_E3", b.N+1)
	var sku string
	e.tn.Read(func(s *tenant.State) { k, _ := s.Engine.Catalog().SKU("SPE_E3"); sku = k.ID })
	op := licensing.Op{Actor: "bench"}
	err := e.tn.Do(context.Background(), op, func(tx *tenant.Tx) error {
		for g := 0; g < groups; g++ {
			id := fmt.Sprintf("group-%02d", g)
			if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: id, DisplayName: id, SecurityEnabled: true}); err != nil {
				return err
			}
			if err := tx.Engine.AssignGroupLicenses(tx.Op, id, []licensing.AssignedLicense{{SKUID: sku}}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for lo := 0; lo < b.N; lo += 5000 {
		err := e.tn.Do(context.Background(), op, func(tx *tenant.Tx) error {
			for i := lo; i < min(lo+5000, b.N); i++ {
				if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: benchUser(i), UserPrincipalName: benchUser(i) + "@contoso.example"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	runParallel(b, func(i int64) {
		body := fmt.Appendf(nil, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"%s"}]}]}`, benchUser(int(i)))
		e.send(b, "PATCH", fmt.Sprintf("/Groups/group-%02d", i%groups), body, 204)
	})
}

func benchUser(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

func testingProcs() int { return runtime.GOMAXPROCS(0) }
