package scim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"allot"
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

// writeError answers err as a SCIM error. allot errors map as: EINVALID 400
// invalidValue, ENOTFOUND 404, ECONFLICT 409 uniqueness (the engine's only
// conflict is a duplicate userPrincipalName), EFORBIDDEN 403; anything else
// is a 500 with a generic detail (logged).
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var se *Error
	if !errors.As(err, &se) {
		switch allot.ErrorCode(err) {
		case allot.EINVALID:
			se = badRequest(typeInvalidValue, "%s", allot.ErrorMessage(err))
		case allot.ENOTFOUND:
			se = errf(http.StatusNotFound, "", "%s", allot.ErrorMessage(err))
		case allot.ECONFLICT:
			se = errf(http.StatusConflict, typeUniqueness, "%s", allot.ErrorMessage(err))
		case allot.EFORBIDDEN:
			se = errf(http.StatusForbidden, "", "%s", allot.ErrorMessage(err))
		case allot.EUNAVAILABLE:
			w.Header().Set("Retry-After", "5")
			se = errf(http.StatusServiceUnavailable, "", "%s", allot.ErrorMessage(err))
		default:
			var ae *allot.Error
			if errors.As(err, &ae) {
				se = errf(http.StatusInternalServerError, "", "%s", ae.Message)
			} else {
				slog.Error("internal error", "request-id", respond.RequestID(r.Context()), "err", err)
				se = errf(http.StatusInternalServerError, "", "An internal error occurred.")
			}
		}
	}
	if se.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="allot"`)
	}
	writeJSON(w, se.Status, errorBody{Schemas: []string{schemaError}, Status: strconv.Itoa(se.Status), ScimType: se.Type, Detail: se.Detail})
}
