package statelog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"allot/store"
)

// Log is the log records after a base, folded: the last mutation of each
// key, in key order. Build it with Fold, in log order.
type Log struct {
	at   map[key]int
	muts []store.Mutation
}

type key struct {
	kind store.Kind
	id   string
}

// Fold adds a record's mutations (records must be folded in log order).
func (l *Log) Fold(record []byte) error {
	if l.at == nil {
		l.at = make(map[key]int)
	}
	return DecodeRecord(record, func(m store.Mutation) error {
		l.Add(m)
		return nil
	})
}

// Add folds one mutation.
func (l *Log) Add(m store.Mutation) {
	if l.at == nil {
		l.at = make(map[key]int)
	}
	k := key{m.Kind, m.ID}
	if i, ok := l.at[k]; ok {
		l.muts[i] = m
		return
	}
	l.at[k] = len(l.muts)
	l.muts = append(l.muts, m)
}

// Len is the number of keys the folded log touches.
func (l *Log) Len() int { return len(l.muts) }

// Get returns the folded log's last mutation of a key.
func (l *Log) Get(kind store.Kind, id string) (store.Mutation, bool) {
	i, ok := l.at[key{kind, id}]
	if !ok {
		return store.Mutation{}, false
	}
	return l.muts[i], true
}

func (l *Log) sorted() []store.Mutation {
	ms := slices.Clone(l.muts)
	slices.SortFunc(ms, func(a, b store.Mutation) int { return compare(a.Kind, a.ID, b.Kind, b.ID) })
	return ms
}

// Merge calls fn with every object of base (a stream in strictly increasing
// key order, such as a snapshot's parts or the legacy rows) with the folded
// log applied: in key order, a put replacing or adding an object, a delete
// removing it. base must call its argument once per object and stop at its
// first error.
func Merge(base func(func(store.Object) error) error, l *Log, fn func(store.Object) error) error {
	ms := l.sorted()
	i := 0
	var prev *store.Object
	var last store.Object
	err := base(func(o store.Object) error {
		if prev != nil && Compare(last, o) >= 0 {
			return fmt.Errorf("%w: base objects out of key order at %s %q", ErrCorrupt, o.Kind, o.ID)
		}
		last, prev = o, &last
		for i < len(ms) && compare(ms[i].Kind, ms[i].ID, o.Kind, o.ID) < 0 {
			if !ms[i].Delete {
				if err := fn(store.Object{Kind: ms[i].Kind, ID: ms[i].ID, Body: ms[i].Body}); err != nil {
					return err
				}
			}
			i++
		}
		if i < len(ms) && ms[i].Kind == o.Kind && ms[i].ID == o.ID {
			m := ms[i]
			i++
			if m.Delete {
				return nil
			}
			o.Body, o.Prepared = m.Body, nil // what was prepared is of the replaced body
		}
		return fn(o)
	})
	if err != nil {
		return err
	}
	for ; i < len(ms); i++ {
		if !ms[i].Delete {
			if err := fn(store.Object{Kind: ms[i].Kind, ID: ms[i].ID, Body: ms[i].Body}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Part is one encoded snapshot part and the key of its first object.
type Part struct {
	FirstKind store.Kind
	FirstID   string
	Data      []byte
	Objects   int
}

// Parts cuts a stream of objects in strictly increasing key order into
// snapshot parts. Add the objects, then call Flush; emit receives each part
// once it is complete.
//
// Parts keeps no object, key or body it was given: it copies what it keeps
// (the current part's first key, the last key added), so a caller may
// reuse an object's memory once Add returns.
type Parts struct {
	emit     func(Part) error
	buf      []byte
	n        int
	first    store.Object // its own copy of the key
	lastKind store.Kind   // its own copy
	lastID   []byte       // the last id added, a copy in a reused buffer
	total    int

	// With sealers > 0 (NewConcurrentParts), the parts being compressed,
	// in order, the buffers of compressed parts' payloads, free again, and
	// those of their blobs, free again once emit returned.
	sealers int
	pending []chan Part
	free    chan []byte
	sealed  chan []byte
}

// NewParts returns a part writer that hands each part to emit.
func NewParts(emit func(Part) error) *Parts { return &Parts{emit: emit} }

// NewConcurrentParts is NewParts with up to sealers parts compressed on
// goroutines of their own while the next ones are filled: the same parts,
// handed to emit in the same order, one at a time, on the goroutine that
// calls Add and Flush (emit is called from them). It is for a large
// stream with processors to spare, a bulk commit. A part's Data is valid
// only until emit returns: its memory then serves a later part, so emit
// must write it or copy it.
func NewConcurrentParts(emit func(Part) error, sealers int) *Parts {
	sealers = max(sealers, 1)
	return &Parts{emit: emit, sealers: sealers, free: make(chan []byte, sealers+1), sealed: make(chan []byte, 2*sealers+2)}
}

// ErrOrder is returned by Parts.Add for an object whose key is not greater
// than the previous one's.
var ErrOrder = fmt.Errorf("objects not in strictly increasing key order")

// Add appends an object to the current part.
func (p *Parts) Add(o store.Object) error {
	if o.Kind == "" || o.ID == "" {
		return fmt.Errorf("an object needs a kind and an id")
	}
	// lastID is only compared and formatted here, never kept.
	if lastID := unsafe.String(unsafe.SliceData(p.lastID), len(p.lastID)); p.total > 0 && compare(p.lastKind, lastID, o.Kind, o.ID) >= 0 {
		return fmt.Errorf("%w: %s %q after %s %q", ErrOrder, o.Kind, o.ID, p.lastKind, lastID)
	}
	if p.n == 0 {
		p.buf = append(p.buf[:0], make([]byte, partHead)...)
		p.first = store.Object{Kind: store.Kind(strings.Clone(string(o.Kind))), ID: strings.Clone(o.ID)}
	}
	p.buf = appendString(p.buf, string(o.Kind))
	p.buf = appendString(p.buf, o.ID)
	p.buf = appendBytes(p.buf, o.Body)
	p.n++
	p.total++
	if o.Kind != p.lastKind {
		p.lastKind = store.Kind(strings.Clone(string(o.Kind)))
	}
	p.lastID = append(p.lastID[:0], o.ID...)
	if p.n >= PartObjects || len(p.buf) >= PartBytes {
		return p.flush()
	}
	return nil
}

// Total is the number of objects added.
func (p *Parts) Total() int { return p.total }

// partHead is the room a part's buffer keeps in front of its objects: the
// blob's header and the count, which is known only at the end.
const partHead = 3 + binary.MaxVarintLen64

func (p *Parts) flush() error {
	if p.n == 0 {
		return nil
	}
	// The count goes right before the objects and the header before it, so
	// that the payload is never copied to put the count first.
	var cnt [binary.MaxVarintLen64]byte
	c := binary.PutUvarint(cnt[:], uint64(p.n))
	start := partHead - c - 3
	copy(p.buf[start+3:], cnt[:c])
	part := Part{FirstKind: p.first.Kind, FirstID: p.first.ID, Objects: p.n}
	p.n = 0
	if p.sealers > 0 {
		return p.sealConcurrently(part, p.buf, start)
	}
	part.Data = seal(tagPart, p.buf[start:], true)
	if part.Data[2] == 0 { // not compressed: seal returned the buffer, which the next part reuses
		part.Data = bytes.Clone(part.Data)
	}
	return p.emit(part)
}

// sealConcurrently compresses a part whose blob starts at buf[start:] on
// a goroutine, the buffer its own, and emits the parts that are done, in
// order; it waits for the oldest while sealers parts are in flight.
func (p *Parts) sealConcurrently(part Part, buf []byte, start int) error {
	select {
	case p.buf = <-p.free:
	default:
		p.buf = make([]byte, 0, cap(buf))
	}
	var out []byte
	select {
	case out = <-p.sealed:
	default:
	}
	done := make(chan Part, 1)
	go func() {
		part.Data = sealInto(parEncoder(), tagPart, buf[start:], out)
		if part.Data[2] != 0 { // compressed: the buffer is free for a next part
			select {
			case p.free <- buf[:0]:
			default:
			}
		}
		done <- part
	}()
	p.pending = append(p.pending, done)
	return p.emitSealed(false)
}

// emitSealed emits the compressed parts in order: those done, and with all
// or while more than sealers are in flight, waiting for them.
func (p *Parts) emitSealed(all bool) error {
	for len(p.pending) > 0 {
		var part Part
		if all || len(p.pending) > p.sealers {
			part = <-p.pending[0]
		} else {
			select {
			case part = <-p.pending[0]:
			default:
				return nil
			}
		}
		p.pending[0] = nil
		p.pending = p.pending[1:]
		if err := p.emit(part); err != nil {
			return err
		}
		if part.Data[2] != 0 { // compressed: emit is done with the blob's buffer
			select {
			case p.sealed <- part.Data[:0]:
			default:
			}
		}
	}
	return nil
}

// Flush emits the last, incomplete part (and, from NewConcurrentParts,
// every part still being compressed).
func (p *Parts) Flush() error {
	if err := p.flush(); err != nil {
		return err
	}
	return p.emitSealed(true)
}

// ErrExists is returned by MergeStream for a streamed key that cur has.
var ErrExists = fmt.Errorf("an object exists")

// ErrStream wraps the error the stream's next returned (errors.Unwrap gives
// it back as it was).
var ErrStream = fmt.Errorf("stream failed")

type streamError struct{ err error }

func (e streamError) Error() string        { return e.err.Error() }
func (e streamError) Unwrap() error        { return e.err }
func (e streamError) Is(target error) bool { return target == ErrStream }

// MergeStream adds to parts the objects of cur (in strictly increasing key
// order) merged with the objects next streams (in strictly increasing key
// order too, new keys only), until next returns an empty batch. A streamed
// key in cur fails with ErrExists, one out of order with ErrOrder, and an
// error of next is returned wrapped in a streamError that Is ErrStream.
func MergeStream(cur []store.Object, next func() ([]store.Object, error), parts *Parts) error {
	i := 0
	for {
		batch, err := next()
		if err != nil {
			return streamError{err}
		}
		if len(batch) == 0 {
			break
		}
		for _, o := range batch {
			for i < len(cur) && Compare(cur[i], o) < 0 {
				if err := parts.Add(cur[i]); err != nil {
					return err
				}
				i++
			}
			if i < len(cur) && Compare(cur[i], o) == 0 {
				return fmt.Errorf("%w: %s %q", ErrExists, o.Kind, o.ID)
			}
			if err := parts.Add(o); err != nil {
				return err
			}
		}
	}
	for ; i < len(cur); i++ {
		if err := parts.Add(cur[i]); err != nil {
			return err
		}
	}
	return nil
}
