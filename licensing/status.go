package licensing

import "fmt"

// SourceStatus is a source state's state (Graph's
// licenseAssignmentState.state) in one byte: every source state carries
// one, and a string would take 16. It reads and writes as its word in
// JSON, text, the binary record format and fmt, exactly as the string it
// replaced; a word it does not know is refused (ParseSourceStatus).
type SourceStatus uint8

// Source states. StateUnset (the word "") is the zero value: a source
// state not computed yet. The values are in the byte order of their
// words, so that comparing two compares the words.
const (
	StateUnset SourceStatus = iota
	StateActive
	StateActiveWithError
	StateDisabled
	StateError
)

var statusWords = [...]string{
	StateUnset:           "",
	StateActive:          "Active",
	StateActiveWithError: "ActiveWithError",
	StateDisabled:        "Disabled",
	StateError:           "Error",
}

// SourceErrorCode is a source state's error (Graph's
// licenseAssignmentState.error) in one byte, as SourceStatus is its
// state. Microsoft documents the six violation codes below; the engine
// writes ErrNone for a source without error.
type SourceErrorCode uint8

// Source errors. ErrUnset (the word "") is the zero value. The values are
// in the byte order of their words, as SourceStatus's.
const (
	ErrUnset SourceErrorCode = iota
	ErrCountViolation
	ErrDependency
	ErrMutuallyExclusive
	ErrNone
	ErrOther
	ErrProhibitedInUsageLoc
	ErrUniqueness
)

var errorWords = [...]string{
	ErrUnset:                "",
	ErrCountViolation:       "CountViolation",
	ErrDependency:           "DependencyViolation",
	ErrMutuallyExclusive:    "MutuallyExclusiveViolation",
	ErrNone:                 "None",
	ErrOther:                "Other",
	ErrProhibitedInUsageLoc: "ProhibitedInUsageLocationViolation",
	ErrUniqueness:           "UniquenessViolation",
}

// String is the state's word ("" for StateUnset).
func (s SourceStatus) String() string {
	if int(s) < len(statusWords) {
		return statusWords[s]
	}
	return fmt.Sprintf("SourceStatus(%d)", uint8(s))
}

// ParseSourceStatus is the state whose word is w ("" is StateUnset), and
// whether w is one.
func ParseSourceStatus(w string) (SourceStatus, bool) {
	return parseWord[SourceStatus](statusWords[:], w)
}

// MarshalText writes the state's word; a value that is not a state is an
// error.
func (s SourceStatus) MarshalText() ([]byte, error) {
	if int(s) >= len(statusWords) {
		return nil, fmt.Errorf("licensing: no source state %d", uint8(s))
	}
	return []byte(statusWords[s]), nil
}

// UnmarshalText reads a state's word; any other text is an error.
func (s *SourceStatus) UnmarshalText(b []byte) error {
	v, ok := ParseSourceStatus(string(b))
	if !ok {
		return fmt.Errorf("licensing: unknown source state %q (want Active, ActiveWithError, Disabled or Error)", b)
	}
	*s = v
	return nil
}

// String is the error's word ("" for ErrUnset).
func (c SourceErrorCode) String() string {
	if int(c) < len(errorWords) {
		return errorWords[c]
	}
	return fmt.Sprintf("SourceErrorCode(%d)", uint8(c))
}

// ParseSourceErrorCode is the error whose word is w ("" is ErrUnset), and
// whether w is one.
func ParseSourceErrorCode(w string) (SourceErrorCode, bool) {
	return parseWord[SourceErrorCode](errorWords[:], w)
}

// MarshalText writes the error's word; a value that is not an error code
// is an error.
func (c SourceErrorCode) MarshalText() ([]byte, error) {
	if int(c) >= len(errorWords) {
		return nil, fmt.Errorf("licensing: no source error code %d", uint8(c))
	}
	return []byte(errorWords[c]), nil
}

// UnmarshalText reads an error's word; any other text is an error.
func (c *SourceErrorCode) UnmarshalText(b []byte) error {
	v, ok := ParseSourceErrorCode(string(b))
	if !ok {
		return fmt.Errorf("licensing: unknown source error %q (want None, CountViolation, MutuallyExclusiveViolation, DependencyViolation, ProhibitedInUsageLocationViolation, UniquenessViolation or Other)", b)
	}
	*c = v
	return nil
}

// parseWord is the index of w in words.
func parseWord[T ~uint8](words []string, w string) (T, bool) {
	for i, x := range words {
		if x == w {
			return T(i), true
		}
	}
	return 0, false
}
