package tenant

import (
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
	n      int // records taken
}

// id is the id r is stored under.
func (b *bulk[T]) id(r *rec[T]) string {
	if r.id == "" && b.keyOf != nil {
		return b.keyOf(r.v)
	}
	return r.id
}

// add takes one stored record; a full chunk goes to the decoders.
func (b *bulk[T]) add(d *decoders, id string, body []byte) {
	if b.raw == nil {
		b.raw = make([]rawRec, 0, chunkLen)
	}
	b.raw = append(b.raw, rawRec{id, body})
	b.n++
	if len(b.raw) == chunkLen {
		b.send(d)
	}
}

// send hands the records taken so far to the decoders.
func (b *bulk[T]) send(d *decoders) {
	if len(b.raw) == 0 {
		return
	}
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
			if err != nil {
				c.bad = append(c.bad, deleteProblem(b.kind, strings.Clone(r.id), "the stored record cannot be decoded: "+err.Error()))
				continue
			}
			id := r.id
			if b.keyed != nil {
				if b.keyed(v, id) {
					id = ""
				} else {
					id = strings.Clone(id)
				}
			}
			c.recs = append(c.recs, rec[T]{id, v})
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
