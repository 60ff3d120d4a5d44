package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Backup writes a consistent copy of the database to path with VACUUM INTO,
// while the store stays online: it reads one snapshot and blocks no writer.
// The copy is written beside path, fsynced, then renamed to path, so path
// holds either nothing or a complete backup. path must not exist (the error
// then wraps fs.ErrExist) and its directory must.
func (s *Store) Backup(ctx context.Context, path string) error {
	if err := s.life.Enter(); err != nil {
		return err
	}
	defer s.life.Leave()

	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("store/sqlite: backup: %w", err)
	}
	if _, err := os.Lstat(abs); err == nil {
		return fmt.Errorf("store/sqlite: backup to %s: %w", abs, fs.ErrExist)
	}
	tmp := abs + ".partial"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store/sqlite: backup: %w", err)
	}

	// A connection of its own: readers are query_only, which VACUUM INTO
	// refuses, and the writer must stay free for commits.
	db, err := sql.Open("sqlite", dsn(s.path, connBackup))
	if err != nil {
		return fmt.Errorf("store/sqlite: backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store/sqlite: backup to %s: %w", abs, err)
	}
	// SQLite does not fsync the output of VACUUM INTO.
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store/sqlite: backup to %s: %w", abs, err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store/sqlite: backup to %s: %w", abs, err)
	}
	if err := syncFile(filepath.Dir(abs)); err != nil {
		return fmt.Errorf("store/sqlite: backup to %s: %w", abs, err)
	}
	return nil
}

// syncFile fsyncs a file or directory.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
