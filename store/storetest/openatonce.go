package storetest

import (
	"errors"
	"sync"
	"testing"

	"allot/store"
)

// OpenAtOnce opens one new database from n goroutines at once, as several
// processes starting together do: each open succeeds (and closes) or is
// refused with store.ErrInUse (one owner at a time), and at least one
// succeeds. The backend's test then checks that its migrations were
// applied once.
func OpenAtOnce(t *testing.T, n int, open func() (store.Store, error)) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range errs {
		wg.Go(func() {
			s, err := open()
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	opened := 0
	for _, err := range errs {
		switch {
		case err == nil:
			opened++
		case !errors.Is(err, store.ErrInUse): // one owner at a time
			t.Fatalf("Open: %v", err)
		}
	}
	if opened == 0 {
		t.Fatal("no Open succeeded")
	}
}
