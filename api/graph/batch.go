package graph

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"allot/api/respond"
)

// maxBatch is Graph's limit of requests in one JSON batch.
const maxBatch = 20

type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

// batchPayload is a JSON batch request.
type batchPayload struct {
	Requests []batchRequest `json:"requests" doc:"Up to 20 requests"`
}

// batchAnswer is a JSON batch response.
type batchAnswer struct {
	Responses []batchResponse `json:"responses"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

func batchError(w http.ResponseWriter, r *http.Request, msg string) {
	respond.Status(w, r, http.StatusBadRequest, "BadRequest", msg)
}

// batch runs each request of a JSON batch through the whole server (so each
// is authenticated, throttled and authorised on its own, with the batch's
// Authorization), independent requests concurrently and dependent ones
// after what they depend on. A request whose dependency failed is answered
// 424 without being run. Responses come in the order of the requests.
func (h *handler) batch(w http.ResponseWriter, r *http.Request, c *call) {
	var in batchPayload
	if err := respond.Decode(r, &in, 4<<20, false); err != nil || in.Requests == nil {
		batchError(w, r, "Invalid batch payload format.")
		return
	}
	reqs := in.Requests
	if len(reqs) > maxBatch {
		batchError(w, r, "The number of requests in the batch exceeds the limit of 20.")
		return
	}
	index := map[string]int{}
	for i, q := range reqs {
		if q.ID == "" || q.Method == "" || q.URL == "" {
			batchError(w, r, "Invalid batch payload format.")
			return
		}
		lid := strings.ToLower(q.ID)
		if _, dup := index[lid]; dup {
			batchError(w, r, "Request Id "+q.ID+" has to be unique in a batch.")
			return
		}
		index[lid] = i
	}
	for _, q := range reqs {
		for _, d := range q.DependsOn {
			if _, ok := index[strings.ToLower(d)]; !ok {
				batchError(w, r, "Request Id "+q.ID+" depends on request Id "+d+", which is not in the batch.")
				return
			}
		}
	}
	if hasCycle(reqs, index) {
		batchError(w, r, "The dependsOn references of the batch form a cycle.")
		return
	}
	out := make([]batchResponse, len(reqs))
	done := make([]chan struct{}, len(reqs))
	for i := range done {
		done[i] = make(chan struct{})
	}
	for i := range reqs {
		go func(i int) {
			defer close(done[i])
			q := reqs[i]
			for _, d := range q.DependsOn {
				j := index[strings.ToLower(d)]
				<-done[j]
				if out[j].Status < 200 || out[j].Status > 299 {
					out[i] = failedDependency(r, q.ID, reqs[j].ID)
					return
				}
			}
			out[i] = h.dispatch(r, q)
		}(i)
	}
	for i := range done {
		<-done[i]
	}
	body, _ := json.Marshal(batchAnswer{Responses: out})
	writeJSON(w, http.StatusOK, body)
}

func hasCycle(reqs []batchRequest, index map[string]int) bool {
	state := make([]int, len(reqs)) // 0 new, 1 visiting, 2 done
	var visit func(i int) bool
	visit = func(i int) bool {
		switch state[i] {
		case 1:
			return true
		case 2:
			return false
		}
		state[i] = 1
		for _, d := range reqs[i].DependsOn {
			if visit(index[strings.ToLower(d)]) {
				return true
			}
		}
		state[i] = 2
		return false
	}
	for i := range reqs {
		if visit(i) {
			return true
		}
	}
	return false
}

func failedDependency(r *http.Request, id, dep string) batchResponse {
	rec := newRecorder()
	respond.Status(rec, r, http.StatusFailedDependency, "FailedDependency", "The request depends on request '"+dep+"', which failed.")
	return rec.response(id)
}

// dispatch runs one request of a batch.
func (h *handler) dispatch(outer *http.Request, q batchRequest) batchResponse {
	rec := newRecorder()
	target := q.URL
	if u, err := url.Parse(target); err == nil && u.IsAbs() {
		target = u.RequestURI()
	}
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	if !strings.HasPrefix(target, "/v1.0/") {
		target = "/v1.0" + target
	}
	if strings.HasPrefix(target, "/v1.0/$batch") {
		batchError(rec, outer, "A batch request cannot contain another batch.")
		return rec.response(q.ID)
	}
	var body io.Reader
	if len(q.Body) > 0 && string(q.Body) != "null" {
		raw := []byte(q.Body)
		var s string
		ct := ""
		for k, v := range q.Headers {
			if strings.EqualFold(k, "Content-Type") {
				ct = v
			}
		}
		if json.Unmarshal(raw, &s) == nil && !strings.Contains(ct, "json") {
			if dec, err := base64.StdEncoding.DecodeString(s); err == nil {
				raw = dec
			}
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(outer.Context(), strings.ToUpper(q.Method), target, body)
	if err != nil {
		batchError(rec, outer, "Invalid request URL '"+q.URL+"'.")
		return rec.response(q.ID)
	}
	req.Host, req.RemoteAddr, req.TLS = outer.Host, outer.RemoteAddr, outer.TLS
	for _, k := range []string{"Authorization", "X-Allot-Tenant", "X-Forwarded-Proto"} {
		if v := outer.Header.Get(k); v != "" {
			req.Header.Set(k, v)
		}
	}
	for k, v := range q.Headers {
		if !strings.EqualFold(k, "Authorization") {
			req.Header.Set(k, v)
		}
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	h.root.ServeHTTP(rec, req)
	return rec.response(q.ID)
}

// recorder captures a response inside a batch.
type recorder struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func newRecorder() *recorder { return &recorder{h: http.Header{}} }

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.buf.Write(b)
}

func (r *recorder) response(id string) batchResponse {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	out := batchResponse{ID: id, Status: r.status, Headers: map[string]string{}}
	for _, k := range []string{"Content-Type", "Location", "Retry-After", "OData-Version"} {
		if v := r.h.Get(k); v != "" {
			out.Headers[k] = v
		}
	}
	if r.buf.Len() > 0 {
		b := bytes.TrimSpace(r.buf.Bytes())
		if json.Valid(b) {
			out.Body = b
		} else {
			enc, _ := json.Marshal(base64.StdEncoding.EncodeToString(b))
			out.Body = enc
		}
	}
	return out
}
