// Package allot holds what every part of allot shares: the application error
// codes. Each layer maps them once (the Graph API to HTTP statuses and Graph
// error codes, the CLI to exit codes).
package allot

import (
	"errors"
	"fmt"
)

// Code classifies an error for the caller.
type Code string

// Error codes.
const (
	EINVALID   Code = "invalid"   // the request is wrong; nothing changed
	ENOTFOUND  Code = "notFound"  // the object does not exist (or is outside the caller's scope)
	ECONFLICT  Code = "conflict"  // the request conflicts with current state; nothing changed
	EFORBIDDEN Code = "forbidden" // the caller may not do this
	EINTERNAL  Code = "internal"  // a defect or an unavailable dependency
	// EUNAVAILABLE: a transient failure (the database is locked or its
	// connection was lost); nothing changed and retrying may work.
	EUNAVAILABLE Code = "unavailable"
)

// Error is an error with a code and a message a user can act on.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EINTERNAL for errors without one and ""
// for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err; errors without a code
// are internal and get a generic message.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error occurred."
}

// NewError returns an *Error with a fixed message.
func NewError(code Code, message string) *Error { return &Error{Code: code, Message: message} }
