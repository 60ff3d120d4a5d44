package licensing

import (
	"math/rand"
	"strings"
	"testing"
)

func TestDebugSeed(t *testing.T) {
	f := newFixture(t)
	r := &propRun{f: f, rnd: rand.New(rand.NewSource(1))}
	for i := 0; i < 270; i++ {
		r.step()
		f.e.TakeDelta()
	}
	n := reloadWith(t, f.e, f.now, true, 1)
	a, b := strings.Split(dump(f.e), "\n"), strings.Split(dump(n), "\n")
	for i := range a {
		if i < len(b) && a[i] != b[i] {
			t.Logf("inc %s\nrec %s", a[i], b[i])
		}
	}
}
