// Package objcheck is the one set of checks that the objects an
// administrator defines in a tenant share — alert rules and endpoints
// (alert), reclamation campaigns (reclamation), report schedules
// (reportsched): the id's syntax, the display name's length, a list of
// email addresses. Each answers EINVALID with the message every surface
// shows (the APIs' 400 body, the admin center's form error), so the three
// packages cannot drift apart.
package objcheck

import (
	"net/mail"
	"regexp"

	"allot"
)

// Limits.
const (
	// MaxName is the longest display name, in bytes.
	MaxName = 256
	// MaxAddresses is the most addresses a list of recipients holds.
	MaxAddresses = 50
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Invalid is an EINVALID error with a formatted message.
func Invalid(format string, args ...any) error {
	return allot.Errorf(allot.EINVALID, format, args...)
}

// IsID reports whether id is a valid object id: 1 to 64 letters, digits,
// '.', '_' or '-', starting with a letter or a digit.
func IsID(id string) bool { return idPattern.MatchString(id) }

// ID checks an object's id (IsID).
func ID(id string) error {
	if !IsID(id) {
		return Invalid("id %q is not valid: use 1 to 64 letters, digits, '.', '_' or '-'.", id)
	}
	return nil
}

// DisplayName checks a display name's length (at most MaxName bytes).
func DisplayName(name string) error {
	if len(name) > MaxName {
		return Invalid("displayName is longer than %d characters.", MaxName)
	}
	return nil
}

// IsAddress reports whether a is a plain email address: one that
// net/mail parses as itself, without a display name.
func IsAddress(a string) bool {
	addr, err := mail.ParseAddress(a)
	return err == nil && addr.Name == "" && addr.Address == a
}

// Addresses checks a list of recipients, field to: 1 to MaxAddresses plain
// email addresses (IsAddress).
func Addresses(to []string) error {
	if len(to) == 0 || len(to) > MaxAddresses {
		return Invalid("to must list 1 to %d addresses.", MaxAddresses)
	}
	for _, a := range to {
		if !IsAddress(a) {
			return Invalid("%q is not an email address.", a)
		}
	}
	return nil
}
