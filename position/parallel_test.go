package position_test

import (
	"bytes"
	"testing"
	"time"

	"allot/catalog"
	"allot/licensing"
	"allot/position"
	"allot/synth"
	"allot/usage"
)

func TestTheResultDoesNotDependOnTheNumberOfWorkers(t *testing.T) {
	cat := catalog.Default()
	tn := synth.Generate(cat, synth.Config{Users: 3000, Seed: 5})
	e := licensing.New(cat, licensing.Settings{DefaultUsageLocation: "US"})
	if err := tn.LoadInto(e); err != nil {
		t.Fatal(err)
	}
	e.Recompute(licensing.Op{Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	asOf := usage.DayOf(time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC))
	in := position.Input{Engine: e, Usage: genUsage(e, asOf, 3), Prices: loadPrices(t), AsOf: asOf, Now: time.Unix(0, 0)}
	render := func(p *position.Position) []byte {
		p.Totals.CoverProblems = 0 // per worker
		var b bytes.Buffer
		if err := p.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	one := position.Compute(in)
	if one.FindingCount() < 1000 {
		t.Fatalf("only %d findings", one.FindingCount())
	}
	want := render(one)
	for _, workers := range []int{2, 3, 7} {
		restore := position.Split(1, workers)
		got := render(position.Compute(in))
		restore()
		if !bytes.Equal(got, want) {
			t.Fatalf("%d workers: the position differs (%d bytes against %d):\n%s", workers, len(got), len(want), firstDiff(got, want))
		}
	}
	// Workers take chunks of users in turn: however small the chunks,
	// whoever takes which, the findings come back in user order.
	for _, chunk := range []int{1, 7, 64, 1000} {
		for _, workers := range []int{1, 2, 5} {
			restore, restoreChunk := position.Split(1, workers), position.ChunkUsers(chunk)
			var taken []int
			restoreHook := position.ObserveWorkers(func(_ []time.Duration, chunks []int) { taken = chunks })
			got := render(position.Compute(in))
			restore()
			restoreChunk()
			restoreHook()
			if !bytes.Equal(got, want) {
				t.Fatalf("chunks of %d users, %d workers (took %v): the position differs (%d bytes against %d):\n%s", chunk, workers, taken, len(got), len(want), firstDiff(got, want))
			}
			if sum := sumInts(taken); len(taken) < workers || sum != (3000+chunk-1)/chunk {
				t.Fatalf("chunks of %d users, %d workers: took %v", chunk, workers, taken)
			}
		}
	}
}

func sumInts(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

func firstDiff(a, b []byte) string {
	for i := range a {
		if a[i] != b[i] {
			lo := max(i-300, 0)
			return string(a[lo:min(i+200, len(a))]) + "\n----\n" + string(b[lo:min(i+200, len(b))])
		}
	}
	return ""
}

// copyingUsage hides the non-copying reads of a usage source: the position
// reads it through Usage.User only, one fresh copy per user.
type copyingUsage struct{ position.Usage }

func TestNonCopyingReadsGiveTheSamePositionAsCopyingReads(t *testing.T) {
	cat := catalog.Default()
	for seed := int64(1); seed <= 4; seed++ {
		tn := synth.Generate(cat, synth.Config{Users: 1500 + int(seed)*500, Seed: seed + 20})
		e := licensing.New(cat, licensing.Settings{DefaultUsageLocation: "US"})
		if err := tn.LoadInto(e); err != nil {
			t.Fatal(err)
		}
		e.Recompute(licensing.Op{Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
		asOf := usage.DayOf(time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC))
		u := genUsage(e, asOf, seed)
		in := position.Input{Engine: e, Usage: u, Prices: loadPrices(t), AsOf: asOf, Now: time.Unix(0, 0)}
		if seed%2 == 0 {
			in.Prices = nil
		}
		render := func(p *position.Position) []byte {
			p.Totals.CoverProblems = 0 // solved once per computation, shared by its workers
			var b bytes.Buffer
			if err := p.WriteJSON(&b); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}
		// Straightforward: copies of each user's usage, one worker.
		slow := in
		slow.Usage = copyingUsage{u}
		want := render(position.Compute(slow))
		// Fast: usage read into reused buffers, licenses walked in place,
		// covers shared between workers.
		restore := position.Split(1, int(seed)+1)
		got := render(position.Compute(in))
		restore()
		if !bytes.Equal(got, want) {
			t.Fatalf("seed %d: the position differs (%d bytes against %d):\n%s", seed, len(got), len(want), firstDiff(got, want))
		}
	}
}
