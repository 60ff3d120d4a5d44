package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"
)

func init() {
	var db string
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of a SQLite database",
		Long: `Write a consistent copy of the SQLite database to FILE (SQLite's VACUUM INTO
through the store: one snapshot of the last commit; FILE holds either
nothing or a complete backup). FILE must not exist. It reads the database
and works while allot serve runs on it: the copy is the last commit at the
moment it starts. Restore by stopping allot and
putting the copy in the database's place (or start allot serve with
--db FILE).

PostgreSQL databases are backed up with PostgreSQL's own tools: pg_dump
(or your provider's snapshots); allot backup says so and exits 1.`,
		Example: `  allot backup --db allot.db allot-$(date +%F).db`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if isPostgres(db) {
				return fmt.Errorf("allot backup copies SQLite databases only; back up PostgreSQL with pg_dump, e.g. pg_dump --format=custom --file=%s %q", args[0], db)
			}
			ctx := cmd.Context()
			// Read-only: the copy is taken beside a running server.
			st, err := openStoreReadOnly(ctx, db)
			if err != nil {
				return fmt.Errorf("opening database: %w", err)
			}
			defer st.Close()
			if err := st.Backup(ctx, args[0]); err != nil {
				if errors.Is(err, fs.ErrExist) {
					return fmt.Errorf("%s exists already; give a new file name (allot backup never overwrites)", args[0])
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote a backup of %s to %s\n", db, args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", defaultDB, "SQLite file path (postgres:// URLs: use pg_dump)")
	rootCmd.AddCommand(cmd)
}
