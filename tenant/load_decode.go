package tenant

import (
	"fmt"
	"runtime"
	"strings"
	"sync"

	"allot/store"
)

// The bulk records of a load (users and license records: millions in a
// large tenant) are decoded off the goroutine that reads the store, in
// chunks, by as many workers as there are cores, while the reading goes
// on. The chunks keep the stored order, and so do the problems of records
// that cannot be decoded.

// decoders runs decoding jobs on a few goroutines; at most a few jobs wait,
// so the reading is held back rather than buffering the tenant twice.
type decoders struct {
	jobs chan func()
	wg   sync.WaitGroup
}

func (d *decoders) run(job func()) {
	if d.jobs == nil {
		n := max(1, runtime.GOMAXPROCS(0))
		d.jobs = make(chan func(), 2*n)
		for range n {
			d.wg.Go(func() {
				for j := range d.jobs {
					j()
				}
			})
		}
	}
	d.jobs <- job
}

// wait returns once every job has run; run may not be called after.
func (d *decoders) wait() {
	if d.jobs != nil {
		close(d.jobs)
		d.wg.Wait()
		d.jobs = nil
	}
}

// rawRec is a stored record not yet decoded.
type rawRec struct {
	id   string
	body []byte
}

// decodedChunk is a chunk of bulk records once decoded (recs and bad are
// set by its job, read after decoders.wait).
type decodedChunk[T any] struct {
	recs []rec[T]
	bad  []Problem
}

// bulk collects the stored records of one kind, decoded in the background
// a chunk at a time.
type bulk[T any] struct {
	kind   store.Kind
	decode func([]byte) (T, error) // a stored body, binary or JSON
	// newDecode, when set, makes the decode function of each chunk
	// instead (one that keeps state across the chunk's records).
	newDecode func() func([]byte) (T, error)
	// keyed, when set, tells whether a decoded record's own fields give
	// the id it is stored under, and keyOf gives that id: such a record
	// keeps no id of its own (rec.id is ""; read it with id), and one
	// that does not keeps a copy. The ids the store gives are views of a
	// snapshot part's buffer (statelog.DecodePart), and a million of them
	// held every part of users and license records until the engine was
	// filled (~220 MB at a million users).
	keyed  func(v T, id string) bool
	keyOf  func(v T) string
	raw    []rawRec
	chunks []*decodedChunk[T]
	// open is the last chunk while it takes records decoded already
	// (addPrepared); nil once full or once raw records follow.
	open *decodedChunk[T]
	n    int // records taken
}

// id is the id r is stored under.
func (b *bulk[T]) id(r *rec[T]) string {
	if r.id == "" && b.keyOf != nil {
		return b.keyOf(r.v)
	}
	return r.id
}

// add takes one stored record, which was not prepared (a record of the
// log after the snapshot, or a row of the legacy layout: their bodies are
// the store's copies, kept until decoded); a full chunk goes to the
// decoders. Its id is copied: it may be a view of a snapshot part's
// memory, which a load reuses (a record of the log that replaces a
// snapshot's has the snapshot's id).
func (b *bulk[T]) add(d *decoders, id string, body []byte) {
	if b.raw == nil {
		b.raw = make([]rawRec, 0, chunkLen)
	}
	b.raw = append(b.raw, rawRec{strings.Clone(id), body})
	b.n++
	if len(b.raw) == chunkLen {
		b.send(d)
	}
}

// addPrepared takes one stored record that the store's goroutines decoded
// (store.LoadOptions.NewPrepare): p is the record (a T) or the error that
// decoding it gave. It keeps no view of id: a record whose own fields give
// its id keeps none, another keeps a copy.
func (b *bulk[T]) addPrepared(d *decoders, id string, p any) {
	b.n++
	b.send(d) // the raw records taken before this one, in order
	if b.open == nil || len(b.open.recs) == chunkLen {
		b.open = &decodedChunk[T]{recs: make([]rec[T], 0, chunkLen)}
		b.chunks = append(b.chunks, b.open)
	}
	switch v := p.(type) {
	case T:
		b.file(b.open, id, v, nil, strings.Clone)
	case error:
		var zero T
		b.file(b.open, id, zero, v, strings.Clone)
	default:
		b.open.bad = append(b.open.bad, deleteProblem(b.kind, id, fmt.Sprintf("the stored record was prepared as a %T", p)))
	}
}

// file adds a decoded record to c, or the problem of one that could not be
// decoded (err). A record whose own fields give the id it is stored under
// keeps no id; another keeps own(id) (a copy, when id is a view of the
// store's memory).
func (b *bulk[T]) file(c *decodedChunk[T], id string, v T, err error, own func(string) string) {
	switch {
	case err != nil:
		c.bad = append(c.bad, deleteProblem(b.kind, id, "the stored record cannot be decoded: "+err.Error()))
	case b.keyed != nil && b.keyed(v, id):
		c.recs = append(c.recs, rec[T]{"", v})
	default:
		c.recs = append(c.recs, rec[T]{own(id), v})
	}
}

// send hands the records taken so far to the decoders.
func (b *bulk[T]) send(d *decoders) {
	if len(b.raw) == 0 {
		return
	}
	b.open = nil // records taken after these go to a chunk after theirs
	raw := b.raw
	b.raw = nil
	c := &decodedChunk[T]{}
	b.chunks = append(b.chunks, c)
	decode := b.decode
	if b.newDecode != nil {
		decode = b.newDecode()
	}
	d.run(func() {
		c.recs = make([]rec[T], 0, len(raw))
		for _, r := range raw {
			v, err := decode(r.body)
			b.file(c, r.id, v, err, func(id string) string { return id }) // add's copy
		}
	})
}

// problems returns the records that could not be decoded, in stored
// order; call after decoders.wait.
func (b *bulk[T]) problems() []Problem {
	var out []Problem
	for _, c := range b.chunks {
		out = append(out, c.bad...)
	}
	return out
}

// drain yields the decoded records in stored order and lets each chunk go
// once yielded (fn must not keep the pointer); call after decoders.wait.
func (b *bulk[T]) drain(fn func(*rec[T])) {
	for k, c := range b.chunks {
		for i := range c.recs {
			fn(&c.recs[i])
		}
		b.chunks[k] = nil
	}
	b.chunks = nil
}
