package usage

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// The stored form of users' aggregates: a compact binary blob (base64 in
// the object's JSON body). Layout, all integers unsigned varints unless
// said otherwise:
//
//	blob    = version(byte=2) nfeat {string} nsku {string} nusers {user}
//	string  = len bytes
//	user    = id ver flags [signin] [mailbox] nfeat {feat} nact {act}
//	id      = 1 16-bytes (a lower-case GUID) | 0 string
//	signin  = first last-first interactive anchorΔ(zigzag) lo hi
//	mailbox = storage storageDay holdDay rtype(byte) flags(byte)
//	feat    = dictIndex first last-first anchorΔ(zigzag) lo hi evidence
//	act     = dictIndex held at-held
//
// anchorΔ is the DaySet anchor minus the day of `last`. Features and SKUs
// are named by key through the blob's dictionaries, so process-local
// interning never reaches the store. evidence (Evidence bits) is new in
// version 2; version 1 blobs are read with no evidence.

const blobVersion = 2

const (
	recSignIn  = 1 << 0
	recMailbox = 1 << 1
)

// encoder encodes users into a blob. It can be reused (reset) for the
// next blob: its buffers are kept.
type encoder struct {
	skuTab  *skuTable // what the SKU indexes mean
	users   []byte
	n       int
	feats   []featureIdx // the blob's feature dictionary
	featPos []uint32     // by featureIdx: 1 + position in feats; 0: absent
	skus    []skuIdx     // the blob's SKU dictionary
	skuPos  []uint32     // by skuIdx: 1 + position in skus
	head    []byte       // scratch of blob
}

func newEncoder(skus *skuTable) *encoder { return &encoder{skuTab: skus} }

// reset empties the encoder for the next blob, keeping its buffers.
func (e *encoder) reset() {
	for _, f := range e.feats {
		e.featPos[f] = 0
	}
	for _, s := range e.skus {
		e.skuPos[s] = 0
	}
	e.users, e.n, e.feats, e.skus = e.users[:0], 0, e.feats[:0], e.skus[:0]
}

func (e *encoder) feat(f featureIdx) uint32 { return intern(&e.featPos, &e.feats, f, 64) }

func (e *encoder) sku(s skuIdx) uint32 { return intern(&e.skuPos, &e.skus, s, 16) }

// intern returns v's position in *list, appending it if absent; *pos maps
// a value to 1 + its position (0: absent) and grows by pad beyond v.
func intern[T featureIdx | skuIdx](pos *[]uint32, list *[]T, v T, pad int) uint32 {
	if int(v) >= len(*pos) {
		*pos = append(*pos, make([]uint32, int(v)+1-len(*pos)+pad)...)
	}
	if p := (*pos)[v]; p != 0 {
		return p - 1
	}
	*list = append(*list, v)
	(*pos)[v] = uint32(len(*list))
	return uint32(len(*list) - 1)
}

func (e *encoder) add(u *userAgg) {
	b := e.users
	if g, ok := guidBytes(u.id); ok {
		b = append(b, 1)
		b = append(b, g[:]...)
	} else {
		b = append(b, 0)
		b = appendString(b, u.id)
	}
	b = binary.AppendUvarint(b, u.ver)
	var flags byte
	if u.signIn.first != 0 {
		flags |= recSignIn
	}
	if u.mbx != (mailbox{}) {
		flags |= recMailbox
	}
	b = append(b, flags)
	if flags&recSignIn != 0 {
		s := &u.signIn
		b = binary.AppendUvarint(b, uint64(s.first))
		b = binary.AppendUvarint(b, uint64(s.last-s.first))
		b = binary.AppendUvarint(b, uint64(s.interactive))
		b = binary.AppendVarint(b, int64(s.anchor)-int64(s.last.day()))
		b = binary.AppendUvarint(b, s.lo)
		b = binary.AppendUvarint(b, s.hi)
	}
	if flags&recMailbox != 0 {
		m := &u.mbx
		b = binary.AppendUvarint(b, uint64(m.storage))
		b = binary.AppendUvarint(b, uint64(uint32(m.storageDay)))
		b = binary.AppendUvarint(b, uint64(uint32(m.holdDay)))
		b = append(b, m.rtype, m.flags)
	}
	b = binary.AppendUvarint(b, uint64(len(u.feats)))
	for i := range u.feats {
		f := &u.feats[i]
		b = binary.AppendUvarint(b, uint64(e.feat(f.f)))
		b = binary.AppendUvarint(b, uint64(f.first))
		b = binary.AppendUvarint(b, uint64(f.last-f.first))
		b = binary.AppendVarint(b, int64(f.anchor)-int64(f.last.day()))
		b = binary.AppendUvarint(b, f.lo)
		b = binary.AppendUvarint(b, f.hi)
		b = binary.AppendUvarint(b, uint64(f.src))
	}
	b = binary.AppendUvarint(b, uint64(len(u.acts)))
	for _, a := range u.acts {
		b = binary.AppendUvarint(b, uint64(e.sku(a.sku)))
		b = binary.AppendUvarint(b, uint64(a.held))
		b = binary.AppendUvarint(b, uint64(a.at-a.held))
	}
	e.users = b
	e.n++
}

// header returns what precedes the users in the blob: the version, the
// dictionaries and the number of users (in a buffer of the encoder).
func (e *encoder) header() []byte {
	b := append(e.head[:0], blobVersion)
	b = binary.AppendUvarint(b, uint64(len(e.feats)))
	for _, f := range e.feats {
		b = appendString(b, f.info().key)
	}
	b = binary.AppendUvarint(b, uint64(len(e.skus)))
	for _, s := range e.skus {
		b = appendString(b, e.skuTab.id(s))
	}
	b = binary.AppendUvarint(b, uint64(e.n))
	e.head = b
	return b
}

// blob returns the encoded users with their dictionaries (a new slice).
func (e *encoder) blob() []byte {
	h := e.header()
	b := make([]byte, 0, len(h)+len(e.users))
	return append(append(b, h...), e.users...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// guidBytes packs a canonical lower-case GUID.
func guidBytes(s string) ([16]byte, bool) {
	var g [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	var h [32]byte
	n := 0
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return g, false
		}
		h[n] = c
		n++
	}
	if _, err := hex.Decode(g[:], h[:]); err != nil {
		return g, false
	}
	return g, true
}

func guidString(g []byte) string {
	var b [36]byte
	hex.Encode(b[0:8], g[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], g[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], g[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], g[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], g[10:16])
	return string(b[:])
}

var errCorrupt = errors.New("corrupt usage blob")

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte1() byte {
	v := d.bytes(1)
	if v == nil {
		return 0
	}
	return v[0]
}

func (d *decoder) u32() uint32 {
	v := d.uvarint()
	if v > 1<<32-1 {
		d.err = errCorrupt
	}
	return uint32(v)
}

// decodeBlob calls fn for every user of a blob; the user's slices are
// reused for the next one (fn copies what it keeps). Features and SKUs that
// are no longer known are dropped from the user.
func decodeBlob(blob []byte, skuTab *skuTable, fn func(u *userAgg)) error {
	d := &decoder{b: blob}
	version := d.byte1()
	if version != 1 && version != blobVersion {
		return fmt.Errorf("usage blob: unknown version")
	}
	feats := make([]featureIdx, d.uvarint()%(1<<20))
	for i := range feats {
		key := string(d.bytes(d.uvarint()))
		feats[i], _ = featureByKey(key) // 0: unknown, dropped below
	}
	skus := make([]skuIdx, d.uvarint()%(1<<20))
	for i := range skus {
		var err error
		if skus[i], err = skuTab.intern(string(d.bytes(d.uvarint()))); err != nil {
			return err
		}
	}
	n := d.uvarint()
	var u userAgg
	var fbuf []featUse
	var abuf []activation
	for k := uint64(0); k < n && d.err == nil; k++ {
		u = userAgg{feats: fbuf[:0], acts: abuf[:0]}
		if d.byte1() == 1 {
			if g := d.bytes(16); len(g) == 16 {
				u.id = guidString(g)
			}
		} else {
			u.id = string(d.bytes(d.uvarint()))
		}
		u.ver = d.uvarint()
		flags := d.byte1()
		if flags&recSignIn != 0 {
			s := &u.signIn
			s.first = stamp(d.u32())
			s.last = s.first + stamp(d.u32())
			s.interactive = stamp(d.u32())
			s.anchor = Day(int64(s.last.day()) + d.varint())
			s.lo, s.hi = d.uvarint(), d.uvarint()
		}
		if flags&recMailbox != 0 {
			m := &u.mbx
			m.storage = int64(d.uvarint() & (1<<63 - 1))
			m.storageDay = Day(int32(d.u32()))
			m.holdDay = Day(int32(d.u32()))
			m.rtype, m.flags = d.byte1(), d.byte1()
			if int(m.rtype) >= len(recipientTypes) {
				m.rtype = uint8(len(recipientTypes) - 1)
			}
		}
		nf := d.uvarint()
		for j := uint64(0); j < nf && d.err == nil; j++ {
			fi := d.uvarint()
			f := featUse{first: stamp(d.u32())}
			f.last = f.first + stamp(d.u32())
			f.anchor = Day(int64(f.last.day()) + d.varint())
			f.lo, f.hi = d.uvarint(), d.uvarint()
			if version >= 2 {
				f.src = Evidence(d.uvarint()) & evidenceKnown
			}
			if fi < uint64(len(feats)) && feats[fi] != 0 {
				f.f = feats[fi]
				u.feats = append(u.feats, f)
			}
		}
		sortFeats(u.feats)
		na := d.uvarint()
		for j := uint64(0); j < na && d.err == nil; j++ {
			si := d.uvarint()
			a := activation{held: stamp(d.u32())}
			a.at = a.held + stamp(d.u32())
			if si < uint64(len(skus)) {
				a.sku = skus[si]
				u.acts = append(u.acts, a)
			}
		}
		sortActs(u.acts)
		fbuf, abuf = u.feats, u.acts
		if d.err == nil {
			fn(&u)
		}
	}
	return d.err
}
