package bundle

import (
	"errors"
	"fmt"
	"io"
)

// Size limits of a bundle. A bundle comes from an administrator's upload
// (POST /allot/v1/tenants/{id}/import) as often as from a file on disk, so
// nothing about its size is trusted: a .zip entry's declared sizes are never
// used to allocate, every entry is read through a counter of the bytes it
// actually yields, and the reading stops with EINVALID as soon as a limit is
// passed. Nothing is imported from a bundle that fails to read.
const (
	// MaxZipEntries is the most entries (files and folders) a .zip bundle
	// may hold; a bundle has eight files.
	MaxZipEntries = 256
	// MaxUncompressed is the most bytes all files of a bundle may hold
	// together once uncompressed (a tenant of a million users with their
	// memberships is well under 1 GiB).
	MaxUncompressed = 4 << 30
	// MaxRatio is the most a .zip entry may expand: its uncompressed bytes
	// may be at most MaxRatio times its compressed bytes plus ratioSlack.
	// CSV compresses about 5 to 20 times; 100 leaves room and stops
	// decompression bombs (deflate reaches about 1,000).
	MaxRatio   = 100
	ratioSlack = 1 << 20
	// MaxRecord is the longest one CSV record (a line, or several lines of
	// one quoted field) may be.
	MaxRecord = 1 << 20
)

// uncompressedBudget is MaxUncompressed (tests lower it).
var uncompressedBudget int64 = MaxUncompressed

// sizeError is a size limit error; the message says which.
type sizeError struct{ msg string }

func (e *sizeError) Error() string { return e.msg }

// budget is what is left of MaxUncompressed (uncompressedBudget) while a bundle is read.
type budget struct{ left int64 }

// countedFile is one bundle file read through its limits: the bundle's
// remaining budget, the entry's own cap (the compression ratio), and the
// record length (reset by the table after each record).
type countedFile struct {
	r      io.Reader
	name   string
	b      *budget
	limit  int64 // the most this entry may yield; 0: no cap of its own
	read   int64 // bytes the entry yielded so far
	record int64 // bytes since the table's last record
	err    error
}

func (c *countedFile) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	c.b.left -= int64(n)
	c.record += int64(n)
	c.read += int64(n)
	switch {
	case c.b.left < 0:
		c.err = &sizeError{fmt.Sprintf("the bundle's files hold more than %s uncompressed", sizeText(uncompressedBudget))}
	case c.limit > 0 && c.read > c.limit:
		c.err = &sizeError{fmt.Sprintf("%s expands more than %d times: it is not a bundle file", c.name, MaxRatio)}
	case c.record > MaxRecord+readBuffer:
		c.err = &sizeError{fmt.Sprintf("a record is longer than %s", sizeText(MaxRecord))}
	}
	if c.err != nil {
		return n, c.err
	}
	return n, err
}

// newRecord tells the counter that a record ended.
func (c *countedFile) newRecord() { c.record = 0 }

// isSizeError reports whether err is a size limit error.
func isSizeError(err error) bool {
	var se *sizeError
	return errors.As(err, &se)
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
