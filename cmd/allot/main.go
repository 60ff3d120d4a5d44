// Command allot is the single binary of allot: the server, the CLI over the
// same runtime, and the benchmarks. One file per subcommand.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes that scripts can trust.
const (
	exitOK      = 0
	exitFailure = 1 // the operation failed
	exitUsage   = 2 // the command line was wrong
)

// usageError marks an error in the command line (exit code 2).
type usageError struct{ error }

// errSilent fails a command whose output already said why (exit code 1).
var errSilent = errors.New("")

// quietLogger discards the runtime's logs in CLI commands.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

var rootCmd = &cobra.Command{
	Use:           "allot",
	Short:         "allot: license provisioning and license position",
	SilenceUsage:  true,
	SilenceErrors: true,
	// Every CLI command except allot serve works on an existing database.
	PersistentPreRunE: requireDatabaseFlag,
}

func main() {
	rootCmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	if c, err := rootCmd.ExecuteC(); err != nil {
		if c != nil {
			err = explainInUse(c.CommandPath(), err)
		}
		if err != errSilent {
			fmt.Fprintln(os.Stderr, "allot:", err)
		}
		var ue usageError
		if errors.As(err, &ue) || isCobraUsage(err) {
			os.Exit(exitUsage)
		}
		os.Exit(exitFailure)
	}
}

// isCobraUsage recognises cobra's own argument errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "accepts ", "requires at least", "requires at most", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
