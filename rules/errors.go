package rules

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is one problem found in a membership rule, with the position a person
// needs to fix it. Line and Column are 1-based (Column counts characters, not
// bytes); Offset is the 0-based byte offset into the rule text.
type Error struct {
	Line, Column, Offset int
	// Message says what was expected or what is wrong, e.g.
	// "expected a value after -eq".
	Message string
	// Found describes what was found at the position instead, e.g.
	// "end of rule" or `"Sales"`; empty when it adds nothing.
	Found string
}

// Error formats the error as "message at L:C" followed by ", found X" when
// Found is set, e.g. "expected a value after -eq at 1:21, found end of rule".
func (e *Error) Error() string {
	s := fmt.Sprintf("%s at %d:%d", e.Message, e.Line, e.Column)
	if e.Found != "" {
		s += ", found " + e.Found
	}
	return s
}

// ErrorList is every problem found in one rule, in the order they occur.
// Parse returns a non-empty ErrorList as its error.
type ErrorList []*Error

// Error returns the first error's text and how many more there are.
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	var b strings.Builder
	b.WriteString(l[0].Error())
	fmt.Fprintf(&b, " (and %d more: ", len(l)-1)
	for i, e := range l[1:] {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	b.WriteString(")")
	return b.String()
}

// Unwrap returns the errors so that errors.As(err, &e) with e *Error finds the
// first one.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// newError returns an Error positioned at byte offset off of src.
func newError(src string, off int, found, format string, args ...any) *Error {
	if off < 0 {
		off = 0
	}
	if off > len(src) {
		off = len(src)
	}
	line, col := 1, 1
	for _, r := range src[:off] {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &Error{Line: line, Column: col, Offset: off, Message: fmt.Sprintf(format, args...), Found: found}
}

// position formats byte offset off of src as "L:C", for messages that refer to
// a second place in the rule (e.g. the "(" a missing ")" would close).
func position(src string, off int) string {
	e := newError(src, off, "", "")
	return fmt.Sprintf("%d:%d", e.Line, e.Column)
}

// describe names a token for the Found part of an error.
func describe(src string, t token) string {
	switch t.kind {
	case tokEOF:
		return "end of rule"
	}
	text := src[t.pos:t.end]
	const max = 40
	if utf8.RuneCountInString(text) > max {
		r := []rune(text)
		text = string(r[:max]) + "…"
	}
	return text
}
