package usage

// Idempotency by event id. The aggregates are idempotent by themselves
// (first/last are min/max, days are a set), so a replayed event changes
// nothing anyway; the id ring makes re-sent events visible (counted as
// duplicates) and keeps any future counter exact.
//
// Bound: the most recent MaxEventIDs ids are remembered, as 64-bit FNV-1a
// hashes (a false duplicate needs a hash collision: odds about n²/2⁶⁵, 3·10⁻⁸
// at the bound). An id older than the bound is accepted again. Memory: 8
// bytes per remembered id in the ring plus 11–21 in the hash set; persisted in
// chunks of idChunk ids, only the chunks a batch wrote.

// MaxEventIDs is how many recent event ids are remembered for idempotency.
const MaxEventIDs = 1 << 20

const idChunk = 2048 // ids per persisted chunk

type idRing struct {
	chunks [MaxEventIDs / idChunk][]uint64 // allocated on first write
	head   uint32                          // next position to write
	set    idSet
	// stale: set does not index the chunks; rebuilt on first use.
	stale bool
	dirty []uint32 // chunks written by the running command
}

// seen reports whether h is remembered, and remembers it if not.
func (r *idRing) seen(h uint64) bool {
	if h == 0 {
		h = 1 // 0 marks an empty slot
	}
	if r.stale {
		r.rebuild()
	}
	if !r.set.insert(h) {
		return true
	}
	c, off := r.head/idChunk, r.head%idChunk
	if r.chunks[c] == nil {
		r.chunks[c] = make([]uint64, idChunk)
	}
	if old := r.chunks[c][off]; old != 0 {
		r.set.del(old)
	}
	r.chunks[c][off] = h
	if n := len(r.dirty); n == 0 || r.dirty[n-1] != c {
		r.dirty = append(r.dirty, c)
	}
	r.head = (r.head + 1) % MaxEventIDs
	return false
}

// rebuild indexes the chunks again.
func (r *idRing) rebuild() {
	r.set, r.stale = idSet{}, false
	for _, c := range r.chunks {
		for _, h := range c {
			if h != 0 {
				r.set.add(h)
			}
		}
	}
}

// loadChunk restores a persisted chunk.
func (r *idRing) loadChunk(c uint32, ids []uint64) {
	if c >= uint32(len(r.chunks)) {
		return
	}
	if r.stale {
		r.rebuild()
	}
	if r.chunks[c] == nil {
		r.chunks[c] = make([]uint64, idChunk)
	}
	for i, h := range ids {
		if i >= idChunk {
			break
		}
		if old := r.chunks[c][i]; old != 0 {
			r.set.del(old)
		}
		r.chunks[c][i] = h
		if h != 0 {
			r.set.add(h)
		}
	}
}

// idSet is an open-addressing hash set of non-zero uint64s (linear probing,
// backward-shift deletion: no tombstones, so it never degrades).
type idSet struct {
	slots []uint64
	n     int
}

func (s *idSet) pos(h uint64) uint64 { return (h * 0x9E3779B97F4A7C15 >> 32) & uint64(len(s.slots)-1) }

func (s *idSet) has(h uint64) bool {
	if len(s.slots) == 0 {
		return false
	}
	mask := uint64(len(s.slots) - 1)
	for i := s.pos(h); ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

// insert adds h and reports whether it was absent (one probe sequence
// for has and add).
func (s *idSet) insert(h uint64) bool {
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := s.pos(h); ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return false
		case 0:
			s.slots[i] = h
			s.n++
			return true
		}
	}
}

func (s *idSet) add(h uint64) { s.insert(h) }

func (s *idSet) del(h uint64) {
	if len(s.slots) == 0 {
		return
	}
	mask := uint64(len(s.slots) - 1)
	i := s.pos(h)
	for ; s.slots[i] != h; i = (i + 1) & mask {
		if s.slots[i] == 0 {
			return
		}
	}
	// Shift back the entries of the run after i that may live at i.
	for j := (i + 1) & mask; s.slots[j] != 0; j = (j + 1) & mask {
		home := s.pos(s.slots[j])
		// Move slots[j] to i unless its home lies cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = 0
	s.n--
}

func (s *idSet) grow() {
	old := s.slots
	size := 1024
	if len(old) > 0 {
		size = len(old) * 2
	}
	s.slots, s.n = make([]uint64, size), 0
	for _, h := range old {
		if h != 0 {
			s.add(h)
		}
	}
}

// fnv64 hashes an event id; kind separates the id spaces of feature events
// and sign-ins.
func fnv64(kind byte, b []byte) uint64 {
	h := uint64(14695981039346656037)
	h ^= uint64(kind)
	h *= 1099511628211
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
