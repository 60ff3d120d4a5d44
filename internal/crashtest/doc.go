// Package crashtest holds allot's process-level reliability suites: the
// real binary (built by the tests) run as `allot serve` and as CLI
// commands against SQLite and PostgreSQL, killed with SIGKILL during
// writes and imports, on a full disk, on a read-only database and across a
// PostgreSQL restart, with these invariants after every fault: every
// acknowledged write survives, nothing is half-applied, no seat is
// oversubscribed. The suites are brief by default; ALLOT_CRASH_LONG=1 runs
// them long (docs/RELIABILITY.md has the figures and commands).
package crashtest
