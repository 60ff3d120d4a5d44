package scim

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"allot/api/respond"
)

// SCIM error types (RFC 7644 §3.12, table 9).
const (
	typeInvalidFilter = "invalidFilter"
	typeTooMany       = "tooMany"
	typeUniqueness    = "uniqueness"
	typeMutability    = "mutability"
	typeInvalidSyntax = "invalidSyntax"
	typeInvalidPath   = "invalidPath"
	typeNoTarget      = "noTarget"
	typeInvalidValue  = "invalidValue"
)

// Error is a SCIM error response: an HTTP status, an optional scimType and
// a detail a client's operator can act on.
type Error struct {
	Status int
	Type   string
	Detail string
}

func (e *Error) Error() string { return e.Detail }

func errf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, Type: scimType, Detail: fmt.Sprintf(format, args...)}
}

func badRequest(scimType, format string, args ...any) *Error {
	return errf(http.StatusBadRequest, scimType, format, args...)
}

func notFound(resource, id string) *Error {
	return errf(http.StatusNotFound, "", "%s %s not found.", resource, id)
}

// errorBody is the SCIM error message (urn:ietf:params:scim:api:messages:2.0:Error).
type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail"`
}

// writeError answers err as a SCIM error, with the status of
// respond.StatusOf in SCIM's body: 400 is invalidValue, 409 uniqueness (the
// engine's only conflict is a duplicate userPrincipalName); a 503 has
// Retry-After; a 500 has a generic detail unless the error is allot's
// (logged).
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var se *Error
	if !errors.As(err, &se) {
		status := respond.StatusOf(err)
		msg := respond.Message(r, err)
		switch status {
		case http.StatusBadRequest:
			se = badRequest(typeInvalidValue, "%s", msg)
		case http.StatusConflict:
			se = errf(status, typeUniqueness, "%s", msg)
		case http.StatusServiceUnavailable:
			w.Header().Set("Retry-After", respond.RetryAfter)
			se = errf(status, "", "%s", msg)
		default:
			se = errf(status, "", "%s", msg)
		}
	}
	if se.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="allot"`)
	}
	writeJSON(w, se.Status, errorBody{Schemas: []string{schemaError}, Status: strconv.Itoa(se.Status), ScimType: se.Type, Detail: se.Detail})
}
