package crashtest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// world is a tenant prepared for the write workload: SPE_E3 with few
// units, group G licensed with it (its members wait for seats), and an
// allotment of 2 units assigned to group H.
type world struct {
	tenant, admin string
	g, h, allot   string
	units         int
	domain        string
}

func newWorld(t testing.TB, s *server, name string) *world {
	t.Helper()
	w := &world{units: 6}
	w.tenant, w.admin = s.customer(name, w.units)
	w.domain = strings.ToLower(name) + ".example"
	mk := func(n string) string {
		return s.must(201, "POST", "/v1.0/groups", w.admin, map[string]any{"displayName": n, "mailEnabled": false, "mailNickname": n, "securityEnabled": true})["id"].(string)
	}
	w.g, w.h = mk("G"), mk("H")
	s.must(202, "POST", "/v1.0/groups/"+w.g+"/assignLicense", w.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
	w.allot = s.must(201, "POST", "/beta/admin/cloudLicensing/allotments", w.admin, map[string]any{"displayName": "A", "skuPartNumber": "SPE_E3", "allottedUnits": 2})["id"].(string)
	s.must(201, "POST", "/beta/admin/cloudLicensing/assignments", w.admin, map[string]any{
		"allotment@odata.bind": "https://graph.microsoft.com/beta/admin/cloudLicensing/allotments/" + w.allot, "assignedTo@odata.bind": "https://graph.microsoft.com/beta/groups/" + w.h})
	return w
}

// acks are the writes a server acknowledged.
type acks struct {
	mu      sync.Mutex
	users   []string
	members map[string]string // user → group
	direct  []string          // users given SPE_E3 directly
	n       atomic.Int64
	failed  atomic.Int64 // writes answered 5xx
}

// write runs workers that create users, add them to G or H and assign
// some directly, until the server stops answering (killed) or stop closes.
// It returns when every worker has stopped.
func (w *world) write(s *server, a *acks, workers int, prefix string, stop <-chan struct{}) {
	w.run(s, a, workers, prefix, stop, false)
}

func (w *world) run(s *server, a *acks, workers int, prefix string, stop <-chan struct{}, through bool) {
	if a.members == nil {
		a.members = map[string]string{}
	}
	var wg sync.WaitGroup
	var seq atomic.Int64
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := seq.Add(1)
				st, body := s.call("POST", "/v1.0/users", w.admin, userBody(fmt.Sprintf("%s%d", prefix, i), w.domain))
				if st >= 500 {
					a.failed.Add(1)
				}
				if st == 0 && !through {
					return
				}
				if st != 201 {
					if through {
						time.Sleep(10 * time.Millisecond)
					}
					continue
				}
				var u struct{ ID string }
				_ = json.Unmarshal(body, &u)
				a.mu.Lock()
				a.users = append(a.users, u.ID)
				a.mu.Unlock()
				a.n.Add(1)
				switch i % 3 {
				case 0, 1:
					g := w.g
					if i%3 == 1 {
						g = w.h
					}
					st, _ = s.call("POST", "/v1.0/groups/"+g+"/members/$ref", w.admin, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + u.ID})
					if st == 204 {
						a.mu.Lock()
						a.members[u.ID] = g
						a.mu.Unlock()
						a.n.Add(1)
					}
				case 2:
					st, _ = s.call("POST", "/v1.0/users/"+u.ID+"/assignLicense", w.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
					if st == 200 {
						a.mu.Lock()
						a.direct = append(a.direct, u.ID)
						a.mu.Unlock()
						a.n.Add(1)
					}
				}
				if st >= 500 {
					a.failed.Add(1)
				}
				if st == 0 && !through {
					return
				}
			}
		})
	}
	wg.Wait()
}

// writeThrough is write that goes on through errors (a database restart)
// until stop closes.
func (w *world) writeThrough(s *server, a *acks, workers int, prefix string, stop <-chan struct{}) {
	w.run(s, a, workers, prefix, stop, true)
}

// verify checks the invariants after a restart and returns the number of
// violations (each reported with t.Errorf).
func (w *world) verify(t testing.TB, s *server, a *acks) int {
	t.Helper()
	bad := 0
	fail := func(format string, args ...any) {
		t.Helper()
		bad++
		if bad <= 20 {
			t.Errorf(format, args...)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	// Every acknowledged write survives.
	for _, id := range a.users {
		if st, body := s.call("GET", "/v1.0/users/"+id, w.admin, nil); st != 200 {
			fail("acknowledged user %s: %d %s", id, st, body)
		}
	}
	for id, g := range a.members {
		st, body := s.call("GET", "/v1.0/users/"+id+"/memberOf", w.admin, nil)
		if st != 200 || !strings.Contains(string(body), g) {
			fail("acknowledged membership of %s in %s: %d %s", id, g, st, body)
		}
	}
	for _, id := range a.direct {
		st, body := s.call("GET", "/v1.0/users/"+id+"/licenseDetails", w.admin, nil)
		if st != 200 || !strings.Contains(string(body), e3) {
			fail("acknowledged direct license of %s: %d %s", id, st, body)
		}
	}
	// Nothing half-applied: every member of a licensed group has the
	// group's license state (held or waiting) with it.
	for _, g := range []string{w.g, w.h} {
		for _, id := range s.list(t, "/v1.0/groups/"+g+"/members?$select=id&$top=999", w.admin) {
			st, body := s.call("GET", "/v1.0/users/"+id+"?$select=id,licenseAssignmentStates", w.admin, nil)
			if st != 200 || !strings.Contains(string(body), `"assignedByGroup":"`+g+`"`) {
				fail("member %s of %s has no license state from it: %d %s", id, g, st, body)
			}
		}
	}
	// Seats are never oversubscribed.
	var skus struct {
		Value []struct {
			SkuID         string `json:"skuId"`
			ConsumedUnits int    `json:"consumedUnits"`
			PrepaidUnits  struct {
				Enabled int `json:"enabled"`
			} `json:"prepaidUnits"`
		} `json:"value"`
	}
	st, body := s.call("GET", "/v1.0/subscribedSkus", w.admin, nil)
	if st != 200 || json.Unmarshal(body, &skus) != nil {
		fail("subscribedSkus: %d %s", st, body)
	}
	for _, k := range skus.Value {
		if k.ConsumedUnits > k.PrepaidUnits.Enabled {
			fail("SKU %s oversubscribed: consumedUnits %d > enabled %d", k.SkuID, k.ConsumedUnits, k.PrepaidUnits.Enabled)
		}
	}
	var al struct{ AllottedUnits, ConsumedUnits int }
	st, body = s.call("GET", "/beta/admin/cloudLicensing/allotments/"+w.allot, w.admin, nil)
	if st != 200 || json.Unmarshal(body, &al) != nil {
		fail("allotment: %d %s", st, body)
	} else if al.ConsumedUnits > al.AllottedUnits {
		fail("allotment oversubscribed: consumedUnits %d > allottedUnits %d", al.ConsumedUnits, al.AllottedUnits)
	}
	// The server takes writes again.
	if st, body := s.call("POST", "/v1.0/users", w.admin, userBody(fmt.Sprintf("after%d", rand.IntN(1<<30)), w.domain)); st != 201 {
		fail("a write after the restart: %d %s", st, body)
	}
	return bad
}

// list follows a collection's pages and returns the ids.
func (s *server) list(t testing.TB, path, token string) []string {
	t.Helper()
	var ids []string
	for path != "" {
		st, body := s.call("GET", path, token, nil)
		if st != 200 {
			t.Fatalf("GET %s: %d %s", path, st, body)
		}
		var page struct {
			Value []struct{ ID string } `json:"value"`
			Next  string                `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Value {
			ids = append(ids, v.ID)
		}
		path = ""
		if page.Next != "" {
			u, err := url.Parse(page.Next)
			if err != nil {
				t.Fatal(err)
			}
			path = u.RequestURI()
		}
	}
	return ids
}

// countUsers returns the tenant's number of users whose UPN starts with
// prefix.
func (s *server) countUsers(t testing.TB, token, prefix string) int {
	t.Helper()
	return len(s.list(t, "/v1.0/users?$select=id&$top=999&$filter="+url.QueryEscape("startswith(userPrincipalName,'"+prefix+"')"), token))
}

// writeUntil runs the workload until n more writes are acknowledged.
func (w *world) writeUntil(t testing.TB, s *server, a *acks, n int64, prefix string) {
	t.Helper()
	stop := make(chan struct{})
	done := make(chan struct{})
	target := a.n.Load() + n
	go func() { w.write(s, a, 2, prefix, stop); close(done) }()
	for a.n.Load() < target {
		select {
		case <-done:
			t.Fatalf("the writers stopped:\n%s", s.output())
		case <-time.After(time.Millisecond):
		}
	}
	close(stop)
	<-done
}
