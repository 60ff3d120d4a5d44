// Package token64 reads and writes the opaque tokens allot hands out in
// URLs and cookies (Graph delta tokens, the directory's page cursors, the
// admin center's flash cookie): unpadded base64url, one spelling per
// token. encoding/base64 skips line breaks (CR, LF) anywhere in its input
// and, unless strict, ignores the unused bits of the last character, so
// several strings decode to the same bytes; Decode accepts only the one
// Encode writes, so a token that decodes is the token that was issued.
package token64

import (
	"encoding/base64"
	"errors"
	"strings"
)

var strict = base64.RawURLEncoding.Strict()

// ErrToken is returned for a string that is not a token's one spelling.
var ErrToken = errors.New("token64: not a canonical unpadded base64url token")

// Encode writes b as unpadded base64url.
func Encode(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Decode reads s, written by Encode: ErrToken for anything else (a line
// break, padding, a character outside the URL alphabet, unused bits set).
func Decode(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, ErrToken
	}
	b, err := strict.DecodeString(s)
	if err != nil {
		return nil, ErrToken
	}
	return b, nil
}
