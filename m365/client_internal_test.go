package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// fixedToken is a credential that gives one token.
type fixedToken struct{}

func (fixedToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t0ken", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// testClient is a Client of the Graph h serves, with n requests in flight
// at most; its waits are recorded, not slept.
func testClient(t *testing.T, n int, h http.Handler) (*Client, *[]time.Duration) {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	var mu sync.Mutex
	var waits []time.Duration
	c := &Client{base: srv.URL + "/v1.0", cred: fixedToken{}, http: srv.Client(), sem: make(chan struct{}, n),
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			waits = append(waits, d)
			return ctx.Err()
		}}
	return c, &waits
}

// TestThrottlingHonoursRetryAfter: a 429 and a 503 are each retried after
// their Retry-After — in seconds, or an HTTP date — and without one after
// an exponential back-off from 1 s; a request throttled MaxAttempts times
// fails with Graph's answer.
func TestThrottlingHonoursRetryAfter(t *testing.T) {
	var n atomic.Int64
	until := time.Now().Add(30 * time.Second).UTC()
	c, waits := testClient(t, 4, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0ken" {
			t.Errorf("request without the token: %q", r.Header.Get("Authorization"))
		}
		switch n.Add(1) {
		case 1:
			w.Header().Set("Retry-After", until.Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		case 3, 4:
			w.WriteHeader(http.StatusServiceUnavailable) // no Retry-After
		default:
			fmt.Fprint(w, `{"value":[{"id":"a"}]}`)
		}
	}))
	var p page
	if err := c.Do(context.Background(), http.MethodGet, "/users", nil, &p); err != nil || len(p.Value) != 1 {
		t.Fatalf("Do: %v %v", err, p)
	}
	w := *waits
	if len(w) != 4 || w[0] < 28*time.Second || w[0] > 30*time.Second || w[1] != 7*time.Second || w[2] != time.Second || w[3] != 2*time.Second {
		t.Fatalf("waits %v, want ~30 s (the 503's date), 7 s (the 429's seconds), then 1 s and 2 s", w)
	}
	if c.Stats.Requests.Load() != 5 || c.Stats.Throttled.Load() != 4 {
		t.Fatalf("stats: %d requests, %d throttled", c.Stats.Requests.Load(), c.Stats.Throttled.Load())
	}

	always, _ := testClient(t, 4, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error":{"code":"TooManyRequests","message":"slow down"}}`)
	}))
	always.MaxAttempts = 3
	err := always.Do(context.Background(), http.MethodGet, "/users", nil, nil)
	var ge *Error
	if !errors.As(err, &ge) || ge.Status != 429 || ge.Code != "TooManyRequests" || always.Stats.Requests.Load() != 3 {
		t.Fatalf("always throttled: %v after %d requests", err, always.Stats.Requests.Load())
	}
}

// TestConcurrencyIsBounded: however many goroutines use a client, at most
// its Concurrency requests are in flight — and that many are: the server
// holds each request until four are in flight (a client allowing fewer
// would fail here, one allowing more would be seen).
func TestConcurrencyIsBounded(t *testing.T) {
	var inFlight, most atomic.Int64
	four := make(chan struct{})
	var once sync.Once
	c, _ := testClient(t, 4, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); cur > m && !most.CompareAndSwap(m, cur); m = most.Load() {
		}
		if cur == 4 {
			once.Do(func() { close(four) })
		}
		select {
		case <-four:
		case <-time.After(10 * time.Second):
			t.Errorf("four requests were never in flight at once")
		}
		fmt.Fprint(w, `{}`)
	}))
	items := make([]int, 40)
	err := parallel(context.Background(), 16, items, func(ctx context.Context, _ int) error {
		return c.Do(ctx, http.MethodGet, "/users", nil, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if most.Load() != 4 {
		t.Fatalf("%d requests in flight at most, want 4", most.Load())
	}
}

// TestBatchRetriesItsThrottledParts: a $batch holds at most 20 requests;
// its parts answered 429 or 503 are sent again, alone, after the longest
// Retry-After among them, and the others are not sent twice.
func TestBatchRetriesItsThrottledParts(t *testing.T) {
	var mu sync.Mutex
	var sent [][]string
	c, waits := testClient(t, 4, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1.0/$batch" {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		var b struct{ Requests []BatchRequest }
		_ = json.NewDecoder(r.Body).Decode(&b)
		var ids []string
		var out []map[string]any
		mu.Lock()
		first := len(sent) == 0
		for _, q := range b.Requests {
			ids = append(ids, q.ID)
			switch {
			case first && q.ID == "3":
				out = append(out, map[string]any{"id": q.ID, "status": 429, "headers": map[string]string{"Retry-After": "4"}})
			case first && q.ID == "5":
				out = append(out, map[string]any{"id": q.ID, "status": 503, "headers": map[string]string{"retry-after": "9"}})
			default:
				out = append(out, map[string]any{"id": q.ID, "status": 200, "body": map[string]string{"id": "u" + q.ID}})
			}
		}
		sent = append(sent, ids)
		mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"responses": out})
	}))
	reqs := make([]BatchRequest, MaxBatch)
	for i := range reqs {
		reqs[i] = BatchRequest{ID: fmt.Sprint(i), Method: http.MethodGet, URL: fmt.Sprintf("/users/u%d", i)}
	}
	ans, err := c.Batch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ans) != MaxBatch || ans["3"].Status != 200 || ans["5"].Status != 200 {
		t.Fatalf("answers: %v", ans)
	}
	if len(sent) != 2 || len(sent[0]) != MaxBatch || strings.Join(sent[1], ",") != "3,5" {
		t.Fatalf("batches sent: %v, want the 20 then the throttled 3 and 5", sent)
	}
	if w := *waits; len(w) != 1 || w[0] != 9*time.Second {
		t.Fatalf("waits %v, want the longest Retry-After (9 s)", w)
	}
	if _, err := c.Batch(context.Background(), make([]BatchRequest, MaxBatch+1)); err == nil {
		t.Fatal("a batch of 21 requests was sent")
	}
}

// TestByIDReadsInBatchesOf20: reading objects by id (a delta sync's
// changed users and groups) goes in $batch requests of at most 20, and an
// object answered 404 is gone.
func TestByIDReadsInBatchesOf20(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	var gets atomic.Int64
	c, _ := testClient(t, 4, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1.0/$batch" {
			gets.Add(1)
			http.NotFound(w, r)
			return
		}
		var b struct{ Requests []BatchRequest }
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		sizes = append(sizes, len(b.Requests))
		mu.Unlock()
		var out []map[string]any
		for _, q := range b.Requests {
			id := strings.TrimPrefix(strings.Split(q.URL, "?")[0], "/users/")
			if id == "u13" {
				out = append(out, map[string]any{"id": q.ID, "status": 404, "body": map[string]any{}})
				continue
			}
			out = append(out, map[string]any{"id": q.ID, "status": 200, "body": map[string]string{"id": id}})
		}
		json.NewEncoder(w).Encode(map[string]any{"responses": out})
	}))
	ids := make([]string, 45)
	for i := range ids {
		ids[i] = fmt.Sprint("u", i)
	}
	f := &fetcher{c: c, progress: &Progress{}}
	found, gone, err := f.byID(context.Background(), "users", "id", ids)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range sizes {
		if s > MaxBatch {
			t.Errorf("a batch of %d requests", s)
		}
		total += s
	}
	if len(sizes) != 3 || total != 45 || gets.Load() != 0 || len(found) != 44 || len(gone) != 1 || gone[0] != "u13" {
		t.Fatalf("batches %v (%d single GETs): %d found, gone %v", sizes, gets.Load(), len(found), gone)
	}
}

// TestLostAnswersOfGETsAreRetried: a GET whose answer breaks in the body
// (the connection is closed after half of it) is sent again after a
// back-off and succeeds, and so is a $batch of GETs; a POST whose answer
// is lost, or a batch with a POST in it, is not sent again (Graph may
// have done it) and fails as unavailable; a GET that keeps losing its
// answer fails after MaxAttempts.
func TestLostAnswersOfGETsAreRetried(t *testing.T) {
	var gets, posts, batches atomic.Int64
	breakFirst := atomic.Int64{}
	breakFirst.Store(2)
	c, waits := testClient(t, 4, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1.0/$batch" {
			if batches.Add(1) == 1 || batchHasPost(r) {
				loseAnswer(t, w)
				return
			}
			fmt.Fprint(w, `{"responses":[{"id":"1","status":200,"body":{"id":"u1"}}]}`)
			return
		}
		if r.Method == http.MethodPost {
			posts.Add(1)
		} else {
			gets.Add(1)
		}
		if r.Method == http.MethodPost || r.URL.Path == "/v1.0/always" || breakFirst.Add(-1) >= 0 {
			loseAnswer(t, w)
			return
		}
		fmt.Fprint(w, `{"value":[{"id":"a"}]}`)
	}))
	var p page
	if err := c.Do(context.Background(), http.MethodGet, "/users", nil, &p); err != nil || len(p.Value) != 1 {
		t.Fatalf("GET after two lost answers: %v %v", err, p)
	}
	if gets.Load() != 3 || c.Stats.LostAnswers.Load() != 2 || fmt.Sprint(*waits) != "[1s 2s]" {
		t.Fatalf("GET: %d requests, %d broken, waits %v; want 3, 2, [1s 2s]", gets.Load(), c.Stats.LostAnswers.Load(), *waits)
	}
	err := c.Do(context.Background(), http.MethodPost, "/users/x/assignLicense", map[string]any{}, nil)
	var lost *lostAnswer
	if !errors.As(err, &lost) || !strings.Contains(err.Error(), "reading Microsoft Graph's answer") || posts.Load() != 1 {
		t.Fatalf("POST with a lost answer: %v after %d requests; want one request and the loss", err, posts.Load())
	}
	ans, err := c.Batch(context.Background(), []BatchRequest{{ID: "1", Method: http.MethodGet, URL: "/users/u1"}})
	if err != nil || ans["1"].Status != 200 || batches.Load() != 2 {
		t.Fatalf("a batch of GETs after a lost answer: %v %v after %d batches; want its answer after 2", ans, err, batches.Load())
	}
	batches.Store(10)
	_, err = c.Batch(context.Background(), []BatchRequest{{ID: "1", Method: http.MethodGet, URL: "/users/u1"},
		{ID: "2", Method: http.MethodPost, URL: "/users/u1/assignLicense", Body: map[string]any{}}})
	if !errors.As(err, &lost) || batches.Load() != 11 {
		t.Fatalf("a batch with a POST after a lost answer: %v after %d batches; want the loss after 1", err, batches.Load()-10)
	}
	c.MaxAttempts = 3
	gets.Store(0)
	if err := c.Do(context.Background(), http.MethodGet, "/always", nil, nil); !errors.As(err, &lost) || gets.Load() != 3 {
		t.Fatalf("a GET that always loses its answer: %v after %d requests; want the loss after 3", err, gets.Load())
	}
}

// loseAnswer starts a 200 answer and closes the connection halfway.
func loseAnswer(t *testing.T, w http.ResponseWriter) {
	w.Header().Set("Content-Length", "100")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, `{"value":[`)
	w.(http.Flusher).Flush()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	conn.Close()
}

// batchHasPost says whether a $batch request holds a POST.
func batchHasPost(r *http.Request) bool {
	var b struct{ Requests []BatchRequest }
	_ = json.NewDecoder(r.Body).Decode(&b)
	for _, q := range b.Requests {
		if q.Method == http.MethodPost {
			return true
		}
	}
	return false
}
