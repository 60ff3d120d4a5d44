package position

import (
	"time"

	"allot/usage"
)

// Options choose what snapshotstore.Position computes.
type Options struct {
	AsOf       usage.Day // required
	WindowDays int       // 0: DefaultWindowDays
	Scope      *Scope
	Progress   func(done, total int)
	Now        time.Time
}
