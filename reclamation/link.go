package reclamation

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"allot"
)

// Keep links. A notice carries a link whose token names the tenant, the
// campaign, the user and the end of the grace period, signed with
// HMAC-SHA256 under a key derived from the server's secret key (the one
// that seals Microsoft 365 connection secrets): whoever holds the link
// may keep that user's licenses in that campaign, nothing else, and only
// while the campaign runs.

// LinkKey derives the key links are signed with from the server's 32-byte
// secret key (nil: no key, links cannot be made).
func LinkKey(secret []byte) []byte {
	if len(secret) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("allot reclamation keep link v1"))
	return m.Sum(nil)
}

// Token is what a keep link names.
type Token struct {
	TenantID   string
	CampaignID string
	UserID     string
	Expires    time.Time // the end of the grace period (whole seconds)
}

const tokenVersion = "v1"

var b64 = base64.RawURLEncoding

// Sign returns the token's text.
func Sign(key []byte, t Token) string {
	payload := strings.Join([]string{tokenVersion, t.TenantID, t.CampaignID, t.UserID, strconv.FormatInt(t.Expires.Unix(), 10)}, "\n")
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(m.Sum(nil))
}

// ErrBadLink and ErrExpiredLink are Verify's answers.
var (
	ErrBadLink     = allot.NewError(allot.EINVALID, "This link is not valid: open the link from the notice exactly as it was sent.")
	ErrExpiredLink = allot.NewError(allot.EINVALID, "This link has expired: the campaign's grace period is over or the campaign was cancelled.")
)

// Verify checks a token's signature and expiry and returns what it names:
// ErrBadLink for any token allot did not sign with key (or with no key),
// ErrExpiredLink for one past its expiry at now.
func Verify(key []byte, text string, now time.Time) (Token, error) {
	if len(key) == 0 || len(text) > 2048 {
		return Token{}, ErrBadLink
	}
	p64, s64, ok := strings.Cut(text, ".")
	if !ok {
		return Token{}, ErrBadLink
	}
	payload, err1 := b64.DecodeString(p64)
	sig, err2 := b64.DecodeString(s64)
	if err1 != nil || err2 != nil {
		return Token{}, ErrBadLink
	}
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return Token{}, ErrBadLink
	}
	f := strings.Split(string(payload), "\n")
	if len(f) != 5 || f[0] != tokenVersion {
		return Token{}, ErrBadLink
	}
	exp, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil {
		return Token{}, ErrBadLink
	}
	t := Token{TenantID: f[1], CampaignID: f[2], UserID: f[3], Expires: time.Unix(exp, 0).UTC()}
	if !now.Before(t.Expires) {
		return t, ErrExpiredLink
	}
	return t, nil
}
