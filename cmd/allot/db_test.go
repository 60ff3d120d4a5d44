package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"allot/store/sqlite"
)

// Every CLI command with a --db flag, except those that create their
// database on purpose (allot serve, allot bench import), refuses a SQLite
// file that does not exist — run without --db in an empty folder, it says so,
// fails and creates nothing.
func TestCommandsRefuseAMissingDatabaseAndCreateNothing(t *testing.T) {
	resetFlags(t)
	dir := t.TempDir()
	t.Chdir(dir)
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			p := append(append([]string{}, path...), sub.Name())
			if sub.Runnable() && sub.LocalFlags().Lookup("db") != nil && sub.Annotations["allot/creates-database"] == "" {
				paths = append(paths, p)
			}
			walk(sub, p)
		}
	}
	walk(rootCmd, nil)
	for _, want := range [][]string{{"token", "create"}, {"doctor"}, {"report", "position"}, {"import", "tenant"}} {
		found := false
		for _, p := range paths {
			found = found || strings.Join(p, " ") == strings.Join(want, " ")
		}
		if !found {
			t.Fatalf("allot %s is not among the commands checked: %v", strings.Join(want, " "), paths)
		}
	}
	for _, p := range paths {
		sub, _, err := rootCmd.Find(p)
		if err != nil {
			t.Fatal(err)
		}
		args := append(append([]string{}, p...), "--tenant", "11111111-1111-4111-8111-111111111111")
		if sub.Flags().Lookup("tenant") == nil {
			args = p
		}
		// The command needs arguments (allot explain two); the database is
		// checked first.
		var extra []string
		for sub.Args != nil && sub.Args(sub, extra) != nil && len(extra) < 3 {
			extra = append(extra, "input.csv")
		}
		args = append(args, extra...)
		var out, errOut bytes.Buffer
		rootCmd.SetOut(&out)
		rootCmd.SetErr(&errOut)
		rootCmd.SetArgs(args)
		_, err = rootCmd.ExecuteC()
		if err == nil || err.Error() != "no allot database at allot.db; pass --db or start allot serve first" {
			t.Errorf("allot %s without --db: %v (want the missing database refused)\n%s", strings.Join(args, " "), err, out.String())
		}
		if out.Len() > 0 || errOut.Len() > 0 {
			t.Errorf("allot %s wrote output before failing:\n%s%s", strings.Join(args, " "), out.String(), errOut.String())
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) > 0 {
			t.Fatalf("allot %s created %s", strings.Join(args, " "), entries[0].Name())
		}
	}
}

// openStore and openStoreReadOnly themselves refuse a missing SQLite file
// (also when a caller passes its own path) and create nothing.
func TestOpenStoreRefusesAMissingDatabaseFile(t *testing.T) {
	db := filepath.Join(t.TempDir(), "nothing-here.db")
	for name, open := range map[string]func(context.Context, string) (interface{ Close() error }, error){
		"openStore": func(ctx context.Context, db string) (interface{ Close() error }, error) { return openStore(ctx, db) },
		"openStoreReadOnly": func(ctx context.Context, db string) (interface{ Close() error }, error) {
			return openStoreReadOnly(ctx, db)
		},
	} {
		st, err := open(context.Background(), db)
		if err == nil {
			st.Close()
			t.Fatalf("%s opened a missing database", name)
		}
		if !strings.Contains(err.Error(), "no allot database at "+db+"; pass --db or start allot serve first") {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := os.Stat(db); !os.IsNotExist(err) {
			t.Fatalf("%s created %s", name, db)
		}
	}
	// serve creates the database on purpose.
	st, err := createStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("createStore did not create the database: %v", err)
	}
}

// allot doctor on a database without tenants says so instead of printing
// nothing.
func TestDoctorSaysWhenTheDatabaseHoldsNoTenants(t *testing.T) {
	db := filepath.Join(t.TempDir(), "allot.db")
	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "the database holds no tenants: nothing to check\n"},
		{[]string{"--json"}, "[]\n"},
	} {
		cmd := newDoctorCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(append([]string{"--db", db}, tc.args...))
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.want {
			t.Fatalf("allot doctor %v printed %q, want %q", tc.args, out.String(), tc.want)
		}
	}
}

// resetFlags puts every flag of the global command tree back to its default,
// so that tests running rootCmd do not see each other's flags.
func resetFlags(t *testing.T) {
	t.Helper()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				_ = sv.Replace(nil)
			} else if err := f.Value.Set(f.DefValue); err != nil {
				t.Fatalf("%s --%s: %v", c.CommandPath(), f.Name, err)
			}
			f.Changed = false
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(rootCmd)
	t.Cleanup(func() {
		walk(rootCmd)
		rootCmd.SetOut(nil)
		rootCmd.SetErr(nil)
		rootCmd.SetArgs(nil)
	})
}
