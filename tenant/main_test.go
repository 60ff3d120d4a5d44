package tenant

import (
	"os"
	"testing"

	"allot/store/statelog"
)

// Every load in these tests that reuses a snapshot part's memory
// (store.LoadOptions.Transient) poisons it first, so that a record that
// kept a view of a part reads garbage rather than a later part's bytes.
func TestMain(m *testing.M) {
	statelog.PoisonReused(true)
	os.Exit(m.Run())
}
