package m365

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"allot"
)

// KeyEnv is the environment variable that holds the key connection
// secrets are encrypted with: 32 bytes as 64 hex digits or standard
// base64. A key file (--secret-key-file) holds the same text.
const KeyEnv = "ALLOT_SECRET_KEY"

// ErrNoKey refuses to store or use a secret without a key.
var ErrNoKey = allot.Errorf(allot.EINVALID, "No secret key is configured: connection secrets are stored encrypted, "+
	"so set "+KeyEnv+" (32 bytes: 64 hex digits or base64) or pass --secret-key-file to allot serve and to the allot m365 commands.")

// Sealer encrypts and decrypts connection secrets with AES-256-GCM. The
// zero Sealer (no key) refuses both with ErrNoKey.
type Sealer struct {
	aead cipher.AEAD
}

// ParseKey reads a key: 64 hex digits or the base64 of 32 bytes
// (surrounding white space ignored).
func ParseKey(text string) ([]byte, error) {
	s := strings.TrimSpace(text)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("the secret key must be 32 bytes, written as 64 hex digits or in base64")
}

// NewSealer returns a sealer for a 32-byte key (nil key: the zero Sealer).
func NewSealer(key []byte) (*Sealer, error) {
	if key == nil {
		return &Sealer{}, nil
	}
	if len(key) != 32 {
		return nil, errors.New("the secret key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// SealerFromEnv returns the sealer of --secret-key-file when file is set,
// else of ALLOT_SECRET_KEY, else the zero Sealer (which refuses secrets).
func SealerFromEnv(file string) (*Sealer, error) {
	key, err := KeyFromEnv(file)
	if err != nil {
		return nil, err
	}
	return NewSealer(key)
}

// KeyFromEnv reads the server's secret key: of --secret-key-file when file
// is set, else of ALLOT_SECRET_KEY; nil when neither gives one. Connection
// secrets are sealed with it, and other features derive their keys from
// it (reclamation.LinkKey).
func KeyFromEnv(file string) ([]byte, error) {
	text := os.Getenv(KeyEnv)
	src := KeyEnv
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--secret-key-file: %w", err)
		}
		text, src = string(b), file
	}
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	key, err := ParseKey(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return key, nil
}

// HasKey reports whether the sealer can seal and open secrets.
func (s *Sealer) HasKey() bool { return s != nil && s.aead != nil }

// Seal encrypts a secret: a random 12-byte nonce, then the ciphertext and
// tag. The connection id is bound as additional data, so a sealed secret
// copied to another connection does not open.
func (s *Sealer) Seal(connID, secret string) ([]byte, error) {
	if !s.HasKey() {
		return nil, ErrNoKey
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, []byte(secret), []byte(connID)), nil
}

// Open decrypts a sealed secret.
func (s *Sealer) Open(connID string, sealed []byte) (string, error) {
	if !s.HasKey() {
		return "", ErrNoKey
	}
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", allot.Errorf(allot.EINVALID, "The stored secret of connection %s is damaged.", connID)
	}
	b, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(connID))
	if err != nil {
		return "", allot.Errorf(allot.EINVALID, "The stored secret of connection %s does not open with this key (was the secret key changed?).", connID)
	}
	return string(b), nil
}
