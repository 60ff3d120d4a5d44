package tenant

import "errors"

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// chunked is an append-only list kept in chunks of fixed size, so that
// appending a million large records never copies the ones already there
// (a slice grown by append copies each record about twice on the way).
type chunked[T any] struct {
	chunks [][]T
	n      int
}

const chunkLen = 4096

func (c *chunked[T]) add(v T) {
	if c.n%chunkLen == 0 {
		c.chunks = append(c.chunks, make([]T, 0, chunkLen))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, v)
	c.n++
}

// drain yields pointers to the records in order and lets each chunk go
// once yielded: the list is empty afterwards (fn must not keep the pointer).
func (c *chunked[T]) drain(fn func(*T)) {
	for k, ch := range c.chunks {
		for i := range ch {
			fn(&ch[i])
		}
		c.chunks[k] = nil
	}
	c.chunks, c.n = nil, 0
}

// rec is a stored record decoded at load, with its id.
type rec[T any] struct {
	id string
	v  T
}
