// Package usageapi is allot's usage ingestion and usage read API under
// /allot/v1: sign-ins, feature events, Microsoft 365 usage report CSVs, the
// concealed-name mapping, and a user's aggregated usage.
//
// Roles: ingesting and changing the mapping (writes) need a Global or
// License Administrator (or the partner administrator naming the tenant);
// reading usage also admits Global Readers and Reports Readers. Anyone
// else gets 403 Authorization_RequestDenied, except allotment owners, to
// whom the whole surface answers 404 (api/scope: nothing outside their
// scope may be seen to exist).
package usageapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"allot"
	"allot/api/openapi"
	"allot/api/respond"
	"allot/api/scope"
	"allot/api/server"
	"allot/auth"
	"allot/licensing"
	"allot/tenant"
	"allot/usage"
)

// Body limits.
const (
	MaxEventsBody = 256 << 20 // sign-ins and feature events per request
	MaxReportBody = 1 << 30   // one usage report CSV
	MaxNamesBody  = 256 << 20 // the concealed-name mapping
)

// Register mounts the usage API.
func Register(s *server.Server) {
	h := &handler{s}
	tp := []openapi.Param{server.TenantParam}
	errs := []int{http.StatusForbidden, http.StatusNotFound}
	s.Route("POST /allot/v1/signins", openapi.Op{ID: "postSignIns", Tag: "usage", Summary: "Record sign-in events (activation)",
		Description: "JSON lines (one object per line), a JSON array, or `{\"value\":[…]}`; Microsoft Graph signIn objects (userPrincipalName or userId, createdDateTime, isInteractive) are read as well. Lines that cannot be read are reported by line number and the rest is read; a batch with no accepted line is 400 with the same report.",
		Params:      tp, Body: batchBody[signInLine](), Decode: batchDecoder(usage.SignIns),
		Example: `[{"id":"e1","user":"AdeleV@contoso.onmicrosoft.com","at":"2026-11-30T08:12:00Z","application":"Outlook","interactive":true},` +
			`{"id":"e2","userId":"5f2c1a7e-0d1b-4a3e-9a40-2a6e0c0f4b11","createdDateTime":"2026-11-30T09:00:00Z","isInteractive":false}]`,
		Response: usage.Result{}, Errors: errs}, h.postSignIns)
	s.Route("POST /allot/v1/usage/events", openapi.Op{ID: "postUsageEvents", Tag: "usage", Summary: "Ingest feature-usage events (JSON lines)",
		Description: "JSON lines, a JSON array or `{\"value\":[…]}` of `{id, user, feature, at}` (features: GET /allot/v1/usage/features). A batch with no accepted line is 400 with the per-line report.",
		Params:      tp, Body: batchBody[featureEventLine](), Decode: batchDecoder(usage.FeatureEvents),
		Example:  `[{"id":"f1","user":"AdeleV@contoso.onmicrosoft.com","feature":"exchangeMailbox","at":"2026-11-30T08:15:00Z"}]`,
		Response: usage.Result{}, Errors: errs}, h.postEvents)
	s.Route("POST /allot/v1/usage/reports", openapi.Op{ID: "postUsageReport", Tag: "usage",
		Summary: "Ingest a Microsoft 365 usage report CSV (body text/csv, or a multipart/form-data file)",
		Description: "A report (type and Report Refresh Date) is recorded once: importing it again answers duplicate unless force=true. " +
			"A report none of whose rows matches a user is not recorded (notRecorded, message).",
		Params: []openapi.Param{server.TenantParam,
			{Name: "report", Description: "The report type (Graph reports function, e.g. getOffice365ActiveUserDetail); recognised from the header when absent"},
			{Name: "force", Type: "boolean", Default: false, Description: "true: read again a report recorded before (same type and Report Refresh Date), e.g. after a concealed-name mapping was added; every aggregate is idempotent"}},
		Body:     openapi.Schema{Schema: map[string]any{"type": "string", "description": "The report's CSV as the Microsoft 365 admin center or Graph's reports API exports it"}},
		BodyType: "text/csv", Decode: reportDecoder,
		Example: "\ufeffReport Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Has Exchange License,Has OneDrive License,Has SharePoint License,Has Skype For Business License,Has Yammer License,Has Teams License,Exchange Last Activity Date,OneDrive Last Activity Date,SharePoint Last Activity Date,Skype For Business Last Activity Date,Yammer Last Activity Date,Teams Last Activity Date,Exchange License Assign Date,OneDrive License Assign Date,SharePoint License Assign Date,Skype For Business License Assign Date,Yammer License Assign Date,Teams License Assign Date,Assigned Products\n" +
			"2026-11-30,AdeleV@contoso.onmicrosoft.com,Adele Vance,False,,True,True,True,False,False,True,2026-11-29,2026-11-28,,,,2026-11-29,2024-03-01,2024-03-01,2024-03-01,,,2024-03-01,MICROSOFT 365 E3\n",
		Response: usage.Result{}, Errors: errs}, h.postReport)
	s.Route("GET /allot/v1/usage/reports", openapi.Op{ID: "listUsageReports", Tag: "usage", Summary: "List ingested usage reports",
		Params: tp, Response: valueList[usage.ImportedReport]{}, Errors: errs}, h.listReports)
	s.Route("PUT /allot/v1/usage/concealed-names", openapi.Op{ID: "putConcealedNames", Tag: "usage",
		Summary: "Replace the mapping of concealed (hashed) report names to users (allot import concealed-names FILE does the same offline)",
		Params:  tp, Body: concealedNames{}, Example: `{"value":[{"hash":"0123456789ABCDEF0123456789ABCDEF","userPrincipalName":"AdeleV@contoso.onmicrosoft.com"}]}`,
		Response: concealedNamesResult{}, Errors: errs}, h.putConcealedNames)
	s.Route("GET /allot/v1/usage/users/{id}", openapi.Op{ID: "getUserUsage", Tag: "usage", Summary: "A user's aggregated usage",
		Params: []openapi.Param{server.TenantParam, {Name: "id", In: "path", Description: "The user's id or userPrincipalName"},
			{Name: "asOf", Description: "The day the windows end on (YYYY-MM-DD; default today, UTC)"}},
		Response: usage.UserReport{}, Errors: errs}, h.getUser)
	s.Route("GET /allot/v1/usage/features", openapi.Op{ID: "listFeatures", Tag: "usage", Summary: "The feature map: features and the plans they need",
		Params: tp, Response: valueList[usage.Feature]{}, Errors: errs}, h.listFeatures)
}

// valueList is a list answer: {"value": [...]}.
type valueList[T any] struct {
	Value []T `json:"value"`
}

// concealedNames is the body of PUT /allot/v1/usage/concealed-names.
type concealedNames struct {
	Value []usage.ConcealedName `json:"value" required:"true" doc:"The whole mapping (it replaces the previous one); an empty array removes it. At most 2,000,000."`
}

// concealedNamesResult answers it.
type concealedNamesResult struct {
	Mapped int `json:"mapped"`
}

// signInLine and featureEventLine are the objects of a batch, as
// usage.Batch reads them (it ignores other properties).
type signInLine struct {
	ID          string    `json:"id" doc:"The event's id: a line seen before is a duplicate"`
	User        string    `json:"user" doc:"userPrincipalName or id (also read: userPrincipalName, userId)"`
	At          time.Time `json:"at" doc:"When (also read: createdDateTime)"`
	Application string    `json:"application" doc:"Accepted and not kept"`
	Interactive bool      `json:"interactive" doc:"Also read: isInteractive"`
}

type featureEventLine struct {
	ID      string    `json:"id"`
	User    string    `json:"user" doc:"userPrincipalName or id"`
	Feature string    `json:"feature" doc:"A feature of GET /allot/v1/usage/features"`
	At      time.Time `json:"at"`
}

// batchBody is the schema of a batch of T: JSON lines of T (shown as one
// object; sent as application/x-ndjson), a JSON array of T, or {"value":
// [T…]} (sent as application/json, as documented).
func batchBody[T any]() openapi.Schema {
	var zero T
	item := openapi.Inline(zero)
	return openapi.Schema{Schema: map[string]any{"anyOf": []any{
		item,
		map[string]any{"type": "array", "items": item},
		map[string]any{"type": "object", "properties": map[string]any{"value": map[string]any{"type": "array", "items": item}}},
	}, "description": "JSON lines of such objects, a JSON array of them, or {\"value\": [...]}"}}
}

// batchDecoder is the handler's reading of a batch: every line must be
// accepted by the parser.
func batchDecoder(kind usage.BatchKind) func([]byte) error {
	return func(body []byte) error {
		b := usage.NewBatch(kind)
		b.Parse(body, 1)
		if len(b.Rejected) > 0 {
			return fmt.Errorf("line %d: %s", b.Rejected[0].Line, b.Rejected[0].Reason)
		}
		if b.Len() == 0 {
			return fmt.Errorf("no line")
		}
		return nil
	}
}

// reportDecoder is the handler's reading of a usage report.
func reportDecoder(body []byte) error {
	_, err := usage.ParseReport(bytes.NewReader(body), "")
	return err
}

type handler struct{ s *server.Server }

// tenantFor resolves the tenant and checks the principal's roles; it
// answers the request itself when it returns false.
func (h *handler) tenantFor(w http.ResponseWriter, r *http.Request, a auth.Action) (*tenant.Tenant, *auth.Principal, bool) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return nil, nil, false
	}
	if !scope.Require(w, r, p, a, t.ID) { // 404 for allotment owners, 403 for the others
		return nil, nil, false
	}
	return t, p, true
}

// readBody reads a request body up to limit bytes. Memory grows with the
// bytes that arrive, never with the declared Content-Length (a client that
// declares 256 MiB and stalls must not hold 256 MiB).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if err := respond.Declared(r, limit); err != nil {
		respond.Error(w, r, err)
		return nil, false
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	data := buf.Bytes()
	switch {
	case err != nil:
		respond.Error(w, r, respond.ReadError(err, limit))
		return nil, false
	case len(bytes.TrimSpace(data)) == 0:
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "The request body is empty."))
		return nil, false
	}
	return data, true
}

func sizeText(n int64) string {
	if n >= 1<<30 {
		return strconv.FormatInt(n>>30, 10) + " GiB"
	}
	return strconv.FormatInt(n>>20, 10) + " MiB"
}

// jsonish accepts the content types of JSON and JSON lines (or none).
func jsonish(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		switch mt {
		case "application/json", "application/x-ndjson", "application/ndjson", "application/jsonl",
			"application/x-jsonlines", "application/jsonlines", "text/plain":
			return nil
		}
		if strings.HasSuffix(mt, "+json") {
			return nil
		}
	}
	return allot.Errorf(allot.EINVALID, "Unsupported content type %q: send JSON lines (application/x-ndjson) or JSON (application/json).", ct)
}

// ingest runs one ingestion command and answers its result. With
// refuseEmpty (sign-ins and feature events), a batch of which no line was
// accepted — none new and none a duplicate of one taken before — is 400
// with the same per-line report and an error naming the counts, so that a
// client that only checks the status learns that nothing was ingested.
func (h *handler) ingest(w http.ResponseWriter, r *http.Request, t *tenant.Tenant, p *auth.Principal, refuseEmpty bool,
	apply func(tx *tenant.Tx) (usage.Result, error)) {
	var res usage.Result
	err := t.Do(r.Context(), licensing.Op{Actor: p.Actor()}, func(tx *tenant.Tx) error {
		var err error
		res, err = apply(tx)
		return err
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			respond.Error(w, r, allot.Errorf(allot.EINVALID, "The request was cancelled before it was queued; nothing was ingested."))
			return
		}
		respond.Error(w, r, err)
		return
	}
	if refuseEmpty && res.Accepted == 0 && res.Duplicates == 0 {
		msg := fmt.Sprintf("No line was accepted: %d rejected, %d naming users the tenant does not have.", res.RejectedCount, res.UnmatchedCount)
		if res.RejectedCount == 0 && res.UnmatchedCount == 0 {
			msg = "The batch has no lines: send JSON lines, a JSON array or {\"value\":[…]}."
		}
		respond.JSON(w, http.StatusBadRequest, struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
			usage.Result
		}{Error: struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}{"BadRequest", msg}, Result: res})
		return
	}
	respond.JSON(w, http.StatusOK, res)
}

func (h *handler) postBatch(w http.ResponseWriter, r *http.Request, kind usage.BatchKind) {
	t, p, ok := h.tenantFor(w, r, auth.ManageLicensing)
	if !ok {
		return
	}
	if err := jsonish(r); err != nil {
		respond.Error(w, r, err)
		return
	}
	data, ok := readBody(w, r, MaxEventsBody)
	if !ok {
		return
	}
	b := usage.NewBatch(kind)
	b.Parse(data, 1)
	h.ingest(w, r, t, p, true, b.Apply)
}

// postSignIns: POST /allot/v1/signins — {"value":[{id,user,at,application,
// interactive}]}, a JSON array, or JSON lines.
func (h *handler) postSignIns(w http.ResponseWriter, r *http.Request) {
	h.postBatch(w, r, usage.SignIns)
}

// postEvents: POST /allot/v1/usage/events — {id,user,feature,at} as JSON
// lines, a JSON array or {"value":[…]}.
func (h *handler) postEvents(w http.ResponseWriter, r *http.Request) {
	h.postBatch(w, r, usage.FeatureEvents)
}

// postReport: POST /allot/v1/usage/reports[?report=NAME][&force=true] — a
// usage report CSV as the body (text/csv) or as the file of a
// multipart/form-data upload.
func (h *handler) postReport(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.tenantFor(w, r, auth.ManageLicensing)
	if !ok {
		return
	}
	q := r.URL.Query()
	force := false
	switch v := q.Get("force"); v {
	case "", "false":
	case "true":
		force = true
	default:
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "force must be true or false, not %q.", v))
		return
	}
	if err := respond.Declared(r, MaxReportBody); err != nil {
		respond.Error(w, r, err)
		return
	}
	body := http.MaxBytesReader(w, r.Body, MaxReportBody)
	var src io.Reader = body
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "multipart/form-data":
		part, err := filePart(body, params["boundary"])
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		src = part
	case mt == "" || mt == "text/csv" || mt == "text/plain" || mt == "application/octet-stream" || mt == "application/csv" || mt == "application/vnd.ms-excel":
	default:
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "Unsupported content type %q: send the report as text/csv or as a multipart/form-data file.", r.Header.Get("Content-Type")))
		return
	}
	rep, err := usage.ParseReport(src, q.Get("report"))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			respond.Status(w, r, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The report is larger than the limit of "+sizeText(MaxReportBody)+".")
			return
		}
		if allot.ErrorCode(err) == allot.EINTERNAL {
			err = allot.Errorf(allot.EINVALID, "The report could not be read: %v", err)
		}
		respond.Error(w, r, err)
		return
	}
	h.ingest(w, r, t, p, false, func(tx *tenant.Tx) (usage.Result, error) { return rep.Apply(tx, force) })
}

// filePart returns the uploaded file of a multipart body: the part named
// "file", or the first part with a file name.
func filePart(body io.Reader, boundary string) (io.Reader, error) {
	if boundary == "" {
		return nil, allot.Errorf(allot.EINVALID, "The multipart/form-data body has no boundary.")
	}
	mr := multipart.NewReader(body, boundary)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, allot.Errorf(allot.EINVALID, "The multipart/form-data body has no file: send the report as a part named \"file\".")
		}
		if err != nil {
			return nil, allot.Errorf(allot.EINVALID, "The multipart/form-data body cannot be read: %v", err)
		}
		if part.FormName() == "file" || part.FileName() != "" {
			return part, nil
		}
	}
}

// listReports: GET /allot/v1/usage/reports — the reports imported.
func (h *handler) listReports(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.tenantFor(w, r, auth.ReadLicenseUsage)
	if !ok {
		return
	}
	var reps []usage.ImportedReport
	t.Read(func(s *tenant.State) { reps = usage.Of(s).Reports() })
	if reps == nil {
		reps = []usage.ImportedReport{}
	}
	respond.JSON(w, http.StatusOK, valueList[usage.ImportedReport]{Value: reps})
}

// putConcealedNames: PUT /allot/v1/usage/concealed-names — replaces the
// mapping from concealed report names to users.
func (h *handler) putConcealedNames(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.tenantFor(w, r, auth.ManageLicensing)
	if !ok {
		return
	}
	var in concealedNames
	if err := respond.Decode(r, &in, MaxNamesBody, false); err != nil {
		respond.Error(w, r, err)
		return
	}
	names, err := usage.CheckConcealedNames(in.Value)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	err = t.Do(r.Context(), licensing.Op{Actor: p.Actor()}, func(tx *tenant.Tx) error { return usage.SetConcealedNames(tx, names) })
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, concealedNamesResult{Mapped: len(names)})
}

// getUser: GET /allot/v1/usage/users/{id or userPrincipalName}[?asOf=
// YYYY-MM-DD] — the user's aggregated usage; the day windows end on asOf
// (default: today, UTC).
func (h *handler) getUser(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.tenantFor(w, r, auth.ReadLicenseUsage)
	if !ok {
		return
	}
	asOf := usage.DayOf(h.s.RT.Now())
	if v := r.URL.Query().Get("asOf"); v != "" {
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			respond.Error(w, r, allot.Errorf(allot.EINVALID, "asOf %q is not a date (YYYY-MM-DD).", v))
			return
		}
		asOf = usage.DayOf(d)
	}
	id := r.PathValue("id")
	var rep usage.UserReport
	t.Read(func(s *tenant.State) { rep, ok = usage.UserReportOf(s, id, asOf) })
	if !ok {
		respond.Error(w, r, allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
		return
	}
	respond.JSON(w, http.StatusOK, rep)
}

// listFeatures: GET /allot/v1/usage/features — the feature map.
func (h *handler) listFeatures(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := h.tenantFor(w, r, auth.ReadLicenseUsage); !ok {
		return
	}
	respond.JSON(w, http.StatusOK, valueList[usage.Feature]{Value: usage.Features()})
}
