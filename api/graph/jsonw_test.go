package graph

import (
	"encoding/json"
	"testing"
)

func FuzzAppendStrIsValidJSON(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "ctl\x00\x01\x1f\t\n\r", "ünïcødé ✓", "bad\xff\xfeutf8", "line\u2028sep\u2029", "<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendStr(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		// encoding/json replaces each invalid byte with U+FFFD, as appendStr does.
		std, _ := json.Marshal(s)
		var want string
		_ = json.Unmarshal(std, &want)
		if got != want {
			t.Fatalf("%q -> %s decodes to %q", s, b, got)
		}
	})
}
