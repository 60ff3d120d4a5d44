package main

import (
	"io"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// newProgress is the one way CLI commands draw a progress bar on w (their
// standard error). The bar is drawn only when w is a terminal: on a file or
// a pipe — a log — it stays invisible and writes nothing.
func newProgress(w io.Writer, max int64, opts ...progressbar.Option) *progressbar.ProgressBar {
	opts = append([]progressbar.Option{progressbar.OptionSetWriter(w), progressbar.OptionSetVisibility(isTerminal(w))}, opts...)
	return progressbar.NewOptions64(max, opts...)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
