package crashtest

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"allot/internal/pgtest"
)

// allot bench follow and allot bench failover (docs/BENCHMARKS.md, issue
// 22) run on PostgreSQL and report their figures: a short run of each.
// The follower saw every commit the owner acknowledged, a write sent to
// the follower was forwarded (the bench checks X-Allot-Forwarded-To), and
// a write was acknowledged by the other process after the owner's kill.
func TestHABenchmarksRun(t *testing.T) {
	base := pgtest.URL(t) // skipped without it, failed where CI requires it
	bin := allotBinary(t)
	out, err := exec.Command(bin, "bench", "follow", "--db", base, "--tenants", "4", "--inflight", "4",
		"--rate", "200", "--seconds", "2", "--forwards", "3").CombinedOutput()
	if err != nil {
		t.Fatalf("allot bench follow: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(\d+) commits \((\d+) commits/s`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("allot bench follow reported no commits:\n%s", out)
	}
	if n, _ := strconv.Atoi(string(m[1])); n < 10 {
		t.Errorf("allot bench follow committed %d changes in 2 s at 200/s offered:\n%s", n, out)
	}
	for _, want := range []string{"follower lag over", "(0 not seen)", "at rest (3 each", "through the follower (forwarded) p50", "PostgreSQL "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("allot bench follow's report has no %q:\n%s", want, out)
		}
	}
	out, err = exec.Command(bin, "bench", "failover", "--db", base, "--runs", "1", "--lease-ttl", "1s").CombinedOutput()
	if err != nil {
		t.Fatalf("allot bench failover: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "run 1: owner killed → write acknowledged by the other process after") || !strings.Contains(string(out), ", 1 runs, lease 1s: p50") {
		t.Errorf("allot bench failover's report:\n%s", out)
	}
}
