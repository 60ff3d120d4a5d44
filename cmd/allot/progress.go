package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// progress is a CLI progress bar on standard error. It is drawn only when
// its writer is a terminal: on a file or a pipe — a log — it stays
// invisible and writes nothing. A finished bar shows 100 % and ends its
// line; a bar that stops early (an error) ends its line too, so the error
// is printed on a line of its own; messages printed while it runs go on
// their own lines (Clear first).
type progress struct {
	*progressbar.ProgressBar
	w       io.Writer
	visible bool
}

// drawAlways draws bars on any writer (tests).
var drawAlways bool

// active is the bar being drawn, which main ends before printing an error.
var active struct {
	sync.Mutex
	p *progress
}

// newProgress is the one way CLI commands draw a progress bar on w (their
// standard error).
func newProgress(w io.Writer, max int64, opts ...progressbar.Option) *progress {
	p := &progress{w: w, visible: drawAlways || isTerminal(w)}
	opts = append([]progressbar.Option{progressbar.OptionSetWriter(w), progressbar.OptionSetVisibility(p.visible)}, opts...)
	p.ProgressBar = progressbar.NewOptions64(max, opts...)
	active.Lock()
	active.p = p
	active.Unlock()
	return p
}

// Done sets the bar to 100 % and ends its line.
func (p *progress) Done() {
	if p.IsFinished() {
		return
	}
	_ = p.Finish()
	p.endLine()
}

// Clear erases the bar's line, for a message on a line of its own; the bar
// is drawn again at its next change.
func (p *progress) Clear() {
	if p.visible && !p.IsFinished() {
		_ = p.ProgressBar.Clear()
	}
}

// Stop ends a bar that will not finish: its line ends where it stopped.
func (p *progress) Stop() {
	if !p.IsFinished() {
		_ = p.Exit()
		p.endLine()
	}
}

func (p *progress) endLine() {
	if p.visible {
		fmt.Fprintln(p.w)
	}
	active.Lock()
	if active.p == p {
		active.p = nil
	}
	active.Unlock()
}

// endProgress stops the bar being drawn, if any: main calls it before
// printing an error.
func endProgress() {
	active.Lock()
	p := active.p
	active.Unlock()
	if p != nil {
		p.Stop()
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
