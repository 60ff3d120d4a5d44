// Package migrate is what the SQL backends share of schema migrations:
// reading the numbered migration files, refusing a database newer than the
// binary, and applying the pending files in order. Each backend keeps its
// own SQL (its schema_migrations table, its locking, its transactions).
package migrate

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// File is one schema change: migrations/<Version>_<what>.sql.
type File struct {
	Version int
	Name    string // the file name, without the folder
	SQL     string
}

// Load reads the files migrations/*.sql of fsys in version order. A name
// must start with a positive number and "_"; two files may not have the same
// number; there must be at least one.
func Load(fsys fs.FS) ([]File, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []File
	seen := map[int]string{}
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", base)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s have the same version", prev, base)
		}
		seen[v] = base
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, File{Version: v, Name: base, SQL: string(b)})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations")
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// CheckNewest refuses a database whose newest applied version (0: none) is
// beyond the last of ms: an older binary must not write a newer schema.
func CheckNewest(ms []File, newest int64) error {
	if latest := ms[len(ms)-1].Version; newest > int64(latest) {
		return fmt.Errorf("database schema version %d is newer than this allot knows (%d); upgrade allot", newest, latest)
	}
	return nil
}

// Run calls apply for each file in order and stops at the first error,
// which names the file. apply skips a file already applied (a backend may
// find that out only inside its own transaction).
func Run(ms []File, apply func(File) error) error {
	for _, m := range ms {
		if err := apply(m); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// CheckCurrent fails unless newest (the newest applied version, 0: none) is
// exactly the last of ms: a read-only open neither migrates nor reads a
// schema it does not know.
func CheckCurrent(ms []File, newest int64) error {
	if err := CheckNewest(ms, newest); err != nil {
		return err
	}
	if latest := ms[len(ms)-1].Version; newest < int64(latest) {
		return fmt.Errorf("database schema version %d is older than this allot's (%d): start allot serve (or any writing command) once to migrate it", newest, latest)
	}
	return nil
}
