// Package statelog is how a tenant's objects are laid out in a database, the
// same on every backend: a log of changes — one record per committed
// store.Change that has mutations, numbered per tenant from 1 — on top of a
// snapshot: the tenant's objects as of one log number, in key order (kind,
// then id, byte order), cut into compressed parts. The objects as of the
// log's last number are the snapshot's, with every later record's mutations
// applied in order (Merge).
//
// A backend stores the bytes this package makes and gives them back: a
// record's bytes per (tenant, seq), a snapshot's parts per (tenant, seq,
// part) with the first key of each part. Compaction folds the log into a new
// snapshot in the background (Merge, then Parts); a bulk commit writes its
// objects as a new snapshot at once. Databases of earlier versions kept one
// row per object: such rows are the base of a tenant until its first
// snapshot, and the snapshot's commit deletes them.
//
// # Format (version 1)
//
// Both kinds of blob start with a tag byte, a version byte and a flags byte
// (bit 0: the rest is one zstd frame). The payload is uvarint n, then n
// entries. A record's entry is an op byte (0 put, 1 delete), kind, id and,
// for a put, body; a part's entry is kind, id, body. Strings and bodies are
// a uvarint length and the bytes. A part's entries are in strictly
// increasing key order.
package statelog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/klauspost/compress/zstd"

	"allot/store"
)

const (
	tagRecord = 'c'
	tagPart   = 'p'
	version   = 1

	flagZstd = 1

	opPut    = 0
	opDelete = 1
)

// compressMin is the payload size from which a record is compressed: a
// small commit's record is written as it is (compressing it would cost more
// than the bytes it saves on a path whose latency matters).
const compressMin = 8 << 10

// PartObjects and PartBytes bound a snapshot part: a part ends when it has
// PartObjects objects or PartBytes bytes of payload, whichever comes first.
const (
	PartObjects = 8192
	PartBytes   = 1 << 20
)

// MaxBlob is the largest payload a blob may decode to. Larger claims are
// refused (a corrupt or hostile length cannot make a load allocate more).
const MaxBlob = 1 << 30

var (
	encOnce sync.Once
	enc     *zstd.Encoder
	dec     *zstd.Decoder

	parOnce sync.Once
	parEnc  *zstd.Encoder // enc's settings, for several goroutines at once
)

// parEncoder is the encoder of the parts that several goroutines compress
// at once (NewConcurrentParts): enc's settings, so the same bytes, with as
// many encoders as processors.
func parEncoder() *zstd.Encoder {
	parOnce.Do(func() {
		var err error
		parEnc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithLowerEncoderMem(true))
		if err != nil {
			panic(err)
		}
	})
	return parEnc
}

func codecs() (*zstd.Encoder, *zstd.Decoder) {
	encOnce.Do(func() {
		var err error
		enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
		if err != nil {
			panic(err)
		}
		dec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(MaxBlob))
		if err != nil {
			panic(err)
		}
	})
	return enc, dec
}

// ErrCorrupt is wrapped by every error about bytes that are not a valid blob.
var ErrCorrupt = errors.New("statelog: corrupt blob")

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// seal puts the header in front of payload (which starts after 3 reserved
// bytes) and compresses it when asked and worth it.
func seal(tag byte, buf []byte, compress bool) []byte {
	if !compress {
		buf[0], buf[1], buf[2] = tag, version, 0
		return buf
	}
	e, _ := codecs()
	return sealInto(e, tag, buf, nil)
}

// sealInto is seal, compressing with the encoder e when worth it: a
// compressed blob is written in out's memory (nil: new memory) as far as
// it fits. The blob is the same whatever out is.
func sealInto(e *zstd.Encoder, tag byte, buf, out []byte) []byte {
	buf[0], buf[1], buf[2] = tag, version, 0
	if len(buf)-3 < compressMin {
		return buf
	}
	if out == nil {
		out = make([]byte, 0, 3+len(buf)/3)
	}
	out = append(out[:0], tag, version, flagZstd)
	return e.EncodeAll(buf[3:], out)
}

// open checks a blob's header and returns its payload, decompressed, in a
// buffer of its own (never aliasing b).
func open(tag byte, b []byte) ([]byte, error) { return openInto(tag, b, nil) }

// openInto is open with the payload written in into's memory as far as it
// fits (nil: new memory); into must not alias b.
func openInto(tag byte, b, into []byte) ([]byte, error) {
	if len(b) < 3 || b[0] != tag {
		return nil, corrupt("not a %c blob", tag)
	}
	if b[1] != version {
		return nil, corrupt("version %d of a %c blob is not known to this version of allot", b[1], tag)
	}
	switch b[2] {
	case 0:
		return append(into[:0], b[3:]...), nil
	case flagZstd:
		_, d := codecs()
		out, err := d.DecodeAll(b[3:], into[:0])
		if err != nil {
			return nil, corrupt("%v", err)
		}
		return out, nil
	}
	return nil, corrupt("unknown flags %#x", b[2])
}

// reader reads a payload. Strings and bodies it returns are copies only
// where said: see bytes.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = corrupt("bad length")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bytes returns the next length-prefixed bytes, aliasing the payload (the
// payload is this package's own buffer, never a caller's).
func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = corrupt("length %d beyond the end", n)
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) byte1() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = corrupt("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// kinds interns kind strings: a tenant has a handful.
type kinds map[string]store.Kind

func (k kinds) of(b []byte) store.Kind {
	if s, ok := k[string(b)]; ok {
		return s
	}
	s := store.Kind(b)
	k[string(s)] = s
	return s
}

// EncodeRecord returns the record of one change's mutations.
func EncodeRecord(muts []store.Mutation) []byte {
	n := 3 + binary.MaxVarintLen64
	for _, m := range muts {
		n += 1 + 3*binary.MaxVarintLen64 + len(m.Kind) + len(m.ID) + len(m.Body)
	}
	buf := make([]byte, 3, n)
	buf = binary.AppendUvarint(buf, uint64(len(muts)))
	for _, m := range muts {
		if m.Delete {
			buf = append(buf, opDelete)
			buf = appendString(buf, string(m.Kind))
			buf = appendString(buf, m.ID)
			continue
		}
		buf = append(buf, opPut)
		buf = appendString(buf, string(m.Kind))
		buf = appendString(buf, m.ID)
		buf = appendBytes(buf, m.Body)
	}
	return seal(tagRecord, buf, true)
}

// DecodeRecord calls fn with each mutation of a record, in order. Bodies
// are not shared with b.
func DecodeRecord(b []byte, fn func(store.Mutation) error) error {
	p, err := open(tagRecord, b)
	if err != nil {
		return err
	}
	r := &reader{b: p}
	n := r.uvarint()
	ks := kinds{}
	for i := uint64(0); i < n && r.err == nil; i++ {
		op := r.byte1()
		kind, id := r.bytes(), r.bytes()
		m := store.Mutation{Kind: ks.of(kind), ID: string(id)}
		switch op {
		case opPut:
			m.Body = r.bytes()
		case opDelete:
			m.Delete = true
		default:
			if r.err == nil {
				r.err = corrupt("unknown op %d", op)
			}
		}
		if r.err != nil {
			break
		}
		if m.Kind == "" || m.ID == "" {
			return corrupt("a mutation without a kind or an id")
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return corrupt("%d bytes after the last mutation", len(r.b))
	}
	return nil
}

// partEntry is an object of a part being decoded, its kind and id still
// bytes of the payload.
type partEntry struct{ kind, id, body []byte }

// partEntries are DecodePart's lists of entries, reused: a part has up to
// PartObjects of them.
var partEntries = sync.Pool{New: func() any { return new([]partEntry) }}

// DecodePart calls fn with each object of a snapshot part, in key order.
// Bodies and ids are not shared with b: they are parts of one buffer of
// the part's own, which nothing writes (so a kept id or body holds that
// buffer alive).
func DecodePart(b []byte, fn func(store.Object) error) error {
	_, err := decodePartInto(b, nil, fn)
	return err
}

// decodePartInto is DecodePart with the payload decompressed into into's
// memory as far as it fits (nil: new memory); it returns the payload,
// which the objects view.
func decodePartInto(b, into []byte, fn func(store.Object) error) ([]byte, error) {
	p, err := openInto(tagPart, b, into)
	if err != nil {
		return nil, err
	}
	r := &reader{b: p}
	n := r.uvarint()
	if r.err != nil {
		return nil, r.err
	}
	// Each object's id is a string view of the payload, as its body is a
	// slice of it: the payload is this package's own buffer, written once
	// by open and never again (unless a load that asked for it reuses it,
	// store.LoadOptions.Transient), so the views are immutable. A large load
	// decodes millions of ids; copying them (one string per part) was a
	// third of its decoding's allocations. The entries are read first, so
	// that a corrupt part yields no object.
	esp := partEntries.Get().(*[]partEntry)
	defer func() { clear(*esp); partEntries.Put(esp) }()
	es := (*esp)[:0]
	for i := uint64(0); i < n && r.err == nil; i++ {
		kind, id, body := r.bytes(), r.bytes(), r.bytes()
		if r.err != nil {
			break
		}
		es = append(es, partEntry{kind, id, body})
	}
	*esp = es
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, corrupt("%d bytes after the last object", len(r.b))
	}
	ks := kinds{}
	var prevKind store.Kind
	var prevID string
	for i, e := range es {
		o := store.Object{Kind: ks.of(e.kind), ID: unsafe.String(unsafe.SliceData(e.id), len(e.id)), Body: e.body}
		if o.Kind == "" || o.ID == "" {
			return nil, corrupt("an object without a kind or an id")
		}
		if i > 0 && compare(prevKind, prevID, o.Kind, o.ID) >= 0 {
			return nil, corrupt("objects out of key order at %s %q", o.Kind, o.ID)
		}
		prevKind, prevID = o.Kind, o.ID
		if err := fn(o); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// compare orders keys: kind, then id, byte order.
func compare(ak store.Kind, aid string, bk store.Kind, bid string) int {
	switch {
	case ak < bk:
		return -1
	case ak > bk:
		return 1
	case aid < bid:
		return -1
	case aid > bid:
		return 1
	}
	return 0
}

// Compare orders two objects by key: kind, then id, byte order.
func Compare(a, b store.Object) int { return compare(a.Kind, a.ID, b.Kind, b.ID) }
