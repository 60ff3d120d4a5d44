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

// Exit codes that scripts can trust (docs/CLI.md lists them).
const (
	exitOK       = 0
	exitFailure  = 1 // the operation failed
	exitUsage    = 2 // the command line was wrong
	exitRejected = 3 // the command ran, but input lines were rejected (its output lists them)
)

// rejectedError ends a command that ran but rejected some of its input
// (exit code 3); its output already listed the lines.
type rejectedError struct{ n int }

func (e rejectedError) Error() string {
	if e.n == 1 {
		return "1 input line was rejected (listed above); the rest was imported"
	}
	return fmt.Sprintf("%d input lines were rejected (listed above); the rest was imported", e.n)
}

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
		endProgress()
		if err != errSilent {
			fmt.Fprintln(os.Stderr, "allot:", cliMessage(err))
		}
		var ue usageError
		var re rejectedError
		switch {
		case errors.As(err, &ue) || isCobraUsage(err):
			os.Exit(exitUsage)
		case errors.As(err, &re):
			os.Exit(exitRejected)
		}
		os.Exit(exitFailure)
	}
}

// cliMessage is err's message for a person: without the package prefixes
// the stores put on their errors for the logs ("store/sqlite: …"), which
// say nothing a person can act on.
func cliMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{"store/sqlite: ", "store/postgres: ", "store: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return msg
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
