package testclock_test

import (
	"sync"
	"testing"
	"time"

	"allot/internal/testclock"
)

func TestTheClockStandsStillUntilMoved(t *testing.T) {
	start := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	c := testclock.New(start)
	if !c.Now().Equal(start) {
		t.Fatalf("Now = %v, want %v", c.Now(), start)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { c.Add(time.Minute) })
	}
	wg.Wait()
	if want := start.Add(10 * time.Minute); !c.Now().Equal(want) {
		t.Fatalf("after ten moves of a minute: %v, want %v", c.Now(), want)
	}
}
