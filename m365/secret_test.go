package m365_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"allot/m365"
)

// TestSecretKeyAndSealing: the key comes from ALLOT_SECRET_KEY (64 hex
// digits or base64) or, before it, from --secret-key-file; a key of
// another length is refused naming its source; without a key nothing is
// sealed. A sealed secret is not its text, differs each time (random
// nonce), opens only with its key and for its connection, and a damaged
// one is refused.
func TestSecretKeyAndSealing(t *testing.T) {
	hexKey := strings.Repeat("0f", 32)
	b64Key := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte(b64Key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(m365.KeyEnv, "")
	if s, err := m365.SealerFromEnv(""); err != nil || s.HasKey() {
		t.Fatalf("no key: %v %v", s.HasKey(), err)
	} else if _, err := s.Seal("c1", "x"); err == nil || !strings.Contains(err.Error(), m365.KeyEnv) {
		t.Fatalf("sealing without a key: %v", err)
	}
	t.Setenv(m365.KeyEnv, hexKey)
	fromEnv, err := m365.SealerFromEnv("")
	if err != nil || !fromEnv.HasKey() {
		t.Fatalf("hex key from the environment: %v", err)
	}
	fromFile, err := m365.SealerFromEnv(file) // the file wins over the environment
	if err != nil || !fromFile.HasKey() {
		t.Fatalf("base64 key from a file: %v", err)
	}
	const secret = "s3cr3t-Value~of.the-app"
	a, err := fromFile.Seal("c1", secret)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := fromFile.Seal("c1", secret)
	if strings.Contains(string(a), secret) || string(a) == string(b) {
		t.Fatal("a sealed secret shows its text, or sealing is deterministic")
	}
	if got, err := fromFile.Open("c1", a); err != nil || got != secret {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := fromEnv.Open("c1", a); err == nil {
		t.Fatal("a secret opened with another key (the environment's, not the file's)")
	}
	if _, err := fromFile.Open("c2", a); err == nil {
		t.Fatal("a secret sealed for one connection opened for another")
	}
	a[len(a)-1] ^= 1
	if _, err := fromFile.Open("c1", a); err == nil {
		t.Fatal("a damaged secret opened")
	}
	for _, bad := range []string{"abc", strings.Repeat("0f", 31), base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		t.Setenv(m365.KeyEnv, bad)
		if _, err := m365.SealerFromEnv(""); err == nil || !strings.Contains(err.Error(), m365.KeyEnv) {
			t.Errorf("key %q: %v", bad, err)
		}
	}
	if _, err := m365.SealerFromEnv(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "--secret-key-file") {
		t.Errorf("a missing key file: %v", err)
	}
}
