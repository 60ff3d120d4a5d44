// Package respond writes allot's HTTP responses: JSON bodies and errors in
// Microsoft Graph's shape, built in one place from allot's error codes.
package respond

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"allot"
)

type ctxKey struct{}

// WithRequestID stores the request id in the context.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID returns the request id of the context.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

type clockKey struct{}

// WithClock stores the clock of the request's runtime (tenant.Runtime.Now)
// in the context: the time errors are dated with (Now).
func WithClock(ctx context.Context, now func() time.Time) context.Context {
	return context.WithValue(ctx, clockKey{}, now)
}

// Now is the time of the context's clock (WithClock), in UTC; the wall
// clock when the context has none (a handler used outside a server).
func Now(ctx context.Context) time.Time {
	if now, ok := ctx.Value(clockKey{}).(func() time.Time); ok {
		return now().UTC()
	}
	return time.Now().UTC()
}

// JSON writes v with the status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v == nil {
		return
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// GraphError is Graph's error body.
type GraphError struct {
	Error GraphErrorDetail `json:"error"`
}

// GraphErrorDetail is the inside of Graph's error body.
type GraphErrorDetail struct {
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	InnerError InnerError `json:"innerError"`
}

// InnerError carries the request's ids and date.
type InnerError struct {
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
}

// Status writes an error with an explicit status and Graph error code.
func Status(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	rid := RequestID(r.Context())
	crid := r.Header.Get("client-request-id")
	if crid == "" {
		crid = rid
	}
	JSON(w, status, GraphError{GraphErrorDetail{Code: code, Message: message, InnerError: InnerError{
		Date: Now(r.Context()).Format("2006-01-02T15:04:05"), RequestID: rid, ClientRequestID: crid}}})
}

// StatusOf is the HTTP status of an error — the one (error, status) table
// of every surface: Graph's bodies (Error), SCIM's (api/scim, its own body
// shape) and the admin center's pages (web). A body over its limit
// (TooLarge) 413, a body that stopped arriving (TimeoutError) 408, EINVALID
// 400, ENOTFOUND 404, ECONFLICT 409, EFORBIDDEN 403, EUNAVAILABLE 503 (a
// store that may recover: answer with Retry-After), anything else 500.
func StatusOf(err error) int {
	if _, ok := TooLarge(err); ok {
		return http.StatusRequestEntityTooLarge
	}
	var te *TimeoutError
	if errors.As(err, &te) {
		return http.StatusRequestTimeout
	}
	switch allot.ErrorCode(err) {
	case allot.EINVALID:
		return http.StatusBadRequest
	case allot.ENOTFOUND:
		return http.StatusNotFound
	case allot.ECONFLICT:
		return http.StatusConflict
	case allot.EFORBIDDEN:
		return http.StatusForbidden
	case allot.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Message is what an answer to err says: allot's message, or — for an
// error that is not allot's (a bug, a failing dependency) — a generic one,
// the error itself logged with the request id.
func Message(r *http.Request, err error) string {
	var e *allot.Error
	if errors.As(err, &e) {
		return e.Message
	}
	slog.Error("internal error", "request-id", RequestID(r.Context()), "err", err)
	return "An internal error occurred."
}

// graphCodes are Graph's error codes of the statuses of StatusOf.
var graphCodes = map[int]string{
	http.StatusRequestEntityTooLarge: "RequestEntityTooLarge",
	http.StatusRequestTimeout:        "RequestTimeout",
	http.StatusBadRequest:            "Request_BadRequest",
	http.StatusNotFound:              "Request_ResourceNotFound",
	http.StatusConflict:              "Conflict",
	http.StatusForbidden:             "Authorization_RequestDenied",
	http.StatusServiceUnavailable:    "serviceNotAvailable", // Graph's documented code for a 503
	http.StatusInternalServerError:   "InternalServerError",
}

// Error writes err as a Graph error with the status of StatusOf and
// Graph's code for it: RequestEntityTooLarge, RequestTimeout (the
// connection is closed), Request_BadRequest, Request_ResourceNotFound,
// Conflict, Authorization_RequestDenied, serviceNotAvailable (with
// Retry-After), InternalServerError (logged, with a generic message unless
// the error is allot's).
func Error(w http.ResponseWriter, r *http.Request, err error) {
	status := StatusOf(err)
	var msg string
	switch status {
	case http.StatusRequestEntityTooLarge:
		limit, _ := TooLarge(err)
		msg = (&TooLargeError{Limit: limit}).Error()
	case http.StatusRequestTimeout:
		w.Header().Set("Connection", "close")
		msg = (&TimeoutError{}).Error()
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", RetryAfter)
		msg = Message(r, err)
	default:
		msg = Message(r, err)
	}
	Status(w, r, status, graphCodes[status], msg)
}

// Result answers a handler's outcome: err as Error when it is not nil,
// else v as JSON with status.
func Result(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		Error(w, r, err)
		return
	}
	JSON(w, status, v)
}

// RetryAfter is the Retry-After of a 503 (seconds).
const RetryAfter = "5"

// Denied writes Graph's 403.
func Denied(w http.ResponseWriter, r *http.Request) {
	Status(w, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

// MaxBody is the default request body limit.
const MaxBody = 1 << 20

// TooLargeError is a request body over its limit; Error answers it 413.
// It unwraps to an EINVALID allot.Error with the same message, so code that
// only knows allot's codes treats it as the client's mistake.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return "The request body is larger than the limit of " + SizeText(e.Limit) + "."
}

func (e *TooLargeError) Unwrap() error { return allot.NewError(allot.EINVALID, e.Error()) }

// TooLarge reports whether err is a request body over a limit (a
// TooLargeError, or the *http.MaxBytesError of an http.MaxBytesReader,
// which api/server puts on every request body), and the limit.
func TooLarge(err error) (int64, bool) {
	var tl *TooLargeError
	if errors.As(err, &tl) {
		return tl.Limit, true
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return mbe.Limit, true
	}
	return 0, false
}

// TimeoutError is a request body that stopped arriving: the connection's
// read deadline passed while it was read. Error answers it 408 and closes
// the connection.
type TimeoutError struct{}

func (e *TimeoutError) Error() string {
	return "The request body stopped arriving before it was complete; send it again."
}

// Declared returns a *TooLargeError when r declares a Content-Length over
// limit, so that such a request is refused at once rather than after its
// body is read (or waited for).
func Declared(r *http.Request, limit int64) error {
	if r.ContentLength > limit {
		return &TooLargeError{Limit: limit}
	}
	return nil
}

// ReadError classifies an error reading a request body limited to limit
// bytes: a *TooLargeError over the limit, a *TimeoutError when the body
// stopped arriving, else an EINVALID error saying the body could not be
// read.
func ReadError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return &TooLargeError{Limit: min(limit, mbe.Limit)}
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		return &TimeoutError{}
	}
	return allot.Errorf(allot.EINVALID, "The request body could not be read: %v", err)
}

// SizeText writes a byte count for messages: "1 GiB", "256 MiB", "1000 bytes".
func SizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// Decode reads a JSON body into v: the content type must be JSON, the body
// at most limit bytes (MaxBody when 0), one JSON value, and with
// disallowUnknown, no unknown fields. Errors are EINVALID with a message
// that says what is wrong; a body over the limit is a *TooLargeError (413,
// and EINVALID to allot.ErrorCode).
func Decode(r *http.Request, v any, limit int64, disallowUnknown bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return allot.Errorf(allot.EINVALID, "Unsupported content type %q: send application/json.", ct)
		}
	}
	if limit <= 0 {
		limit = MaxBody
	}
	if err := Declared(r, limit); err != nil {
		return err
	}
	body := http.MaxBytesReader(nil, r.Body, limit)
	dec := json.NewDecoder(body)
	if disallowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		var ne net.Error
		switch {
		case errors.As(err, &mbe), errors.As(err, &ne), errors.Is(err, os.ErrDeadlineExceeded):
			return ReadError(err, limit)
		case errors.Is(err, io.EOF):
			return allot.Errorf(allot.EINVALID, "The request body is empty; a JSON object is required.")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return allot.Errorf(allot.EINVALID, "The request body is not valid JSON (it ends too early).")
		case errors.As(err, &se):
			return allot.Errorf(allot.EINVALID, "The request body is not valid JSON (at byte %d).", se.Offset)
		case errors.As(err, &te):
			return typeError(te)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.TrimPrefix(err.Error(), "json: unknown field ")
			return allot.Errorf(allot.EINVALID, "Property %s in the request body is not supported.", f)
		default:
			return ReadError(err, limit)
		}
	}
	if dec.More() {
		return allot.Errorf(allot.EINVALID, "The request body must hold exactly one JSON value.")
	}
	return nil
}

// typeError says, in JSON's terms rather than Go's, that a JSON value has
// the wrong type: the whole body ("The request body must be a JSON
// object.") or one property.
func typeError(te *json.UnmarshalTypeError) error {
	want := jsonKind(te.Type)
	// te.Value is "object", "array", "string", "number", "bool" or "number
	// 1.5" (a number that does not fit): only the plain kinds are named.
	got := map[string]string{"object": "a JSON object", "array": "a JSON array", "string": "a string",
		"number": "a number", "bool": "true or false"}[te.Value]
	if te.Field == "" {
		return allot.Errorf(allot.EINVALID, "The request body must be %s.", want)
	}
	if got == "" || got == want {
		return allot.Errorf(allot.EINVALID, "Invalid value for property '%s': expected %s.", te.Field, want)
	}
	return allot.Errorf(allot.EINVALID, "Invalid value for property '%s': expected %s, not %s.", te.Field, want, got)
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a different JSON value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return "a base64 string"
		}
		return "a JSON array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a different JSON value"
}
