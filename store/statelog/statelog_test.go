package statelog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"allot/store"
)

func randomMutations(rnd *rand.Rand, n int) []store.Mutation {
	var ms []store.Mutation
	for i := range n {
		m := store.Mutation{Kind: store.Kind(fmt.Sprint("k", rnd.IntN(3))), ID: fmt.Sprint("id", rnd.IntN(50))}
		if rnd.IntN(4) == 0 {
			m.Delete = true
		} else {
			m.Body = bytes.Repeat([]byte{byte(i)}, rnd.IntN(300)) // large enough, sometimes, to compress
			if rnd.IntN(5) == 0 {
				m.Body = []byte{}
			}
		}
		ms = append(ms, m)
	}
	return ms
}

// A record decodes to its mutations, in order, compressed or not.
func TestRecordRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 200} {
		ms := randomMutations(rnd, n)
		var got []store.Mutation
		if err := DecodeRecord(EncodeRecord(ms), func(m store.Mutation) error {
			got = append(got, m)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ms) {
			t.Fatalf("%d mutations decoded, want %d", len(got), len(ms))
		}
		for i := range ms {
			if got[i].Kind != ms[i].Kind || got[i].ID != ms[i].ID || got[i].Delete != ms[i].Delete || !bytes.Equal(got[i].Body, ms[i].Body) {
				t.Fatalf("mutation %d = %+v, want %+v", i, got[i], ms[i])
			}
		}
	}
}

// Merge applies the folded log to the base in key order; Parts cut the
// result into parts that decode back to it; a part refuses keys out of
// order.
func TestMergeAndPartsEqualAModel(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for round := range 20 {
		model := map[[2]string][]byte{}
		var baseObjs []store.Object
		for i := range rnd.IntN(400) {
			o := store.Object{Kind: store.Kind(fmt.Sprint("k", rnd.IntN(3))), ID: fmt.Sprintf("id%03d", i), Body: []byte(fmt.Sprint(i))}
			baseObjs = append(baseObjs, o)
		}
		slices.SortFunc(baseObjs, Compare)
		baseObjs = slices.CompactFunc(baseObjs, func(a, b store.Object) bool { return Compare(a, b) == 0 })
		for _, o := range baseObjs {
			model[[2]string{string(o.Kind), o.ID}] = o.Body
		}
		var l Log
		for range rnd.IntN(5) {
			ms := randomMutations(rnd, rnd.IntN(30))
			if err := l.Fold(EncodeRecord(ms)); err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if m.Delete {
					delete(model, [2]string{string(m.Kind), m.ID})
				} else {
					model[[2]string{string(m.Kind), m.ID}] = m.Body
				}
			}
		}
		var blobs []Part
		parts := NewParts(func(p Part) error { blobs = append(blobs, p); return nil })
		err := Merge(func(fn func(store.Object) error) error {
			for _, o := range baseObjs {
				if err := fn(o); err != nil {
					return err
				}
			}
			return nil
		}, &l, parts.Add)
		if err != nil {
			t.Fatal(err)
		}
		if err := parts.Flush(); err != nil {
			t.Fatal(err)
		}
		got := map[[2]string][]byte{}
		var all []store.Object
		for _, p := range blobs {
			if err := DecodePart(p.Data, func(o store.Object) error {
				got[[2]string{string(o.Kind), o.ID}] = o.Body
				all = append(all, o)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.IsSortedFunc(all, Compare) || len(all) != len(model) {
			t.Fatalf("round %d: %d objects (sorted: %v), want %d", round, len(all), slices.IsSortedFunc(all, Compare), len(model))
		}
		for k, v := range model {
			if !bytes.Equal(got[k], v) {
				t.Fatalf("round %d: %v = %q, want %q", round, k, got[k], v)
			}
		}
	}
	p := NewParts(func(Part) error { return nil })
	if err := p.Add(store.Object{Kind: "b", ID: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(store.Object{Kind: "a", ID: "2"}); !errors.Is(err, ErrOrder) {
		t.Fatalf("out of order: %v, want ErrOrder", err)
	}
}

// Parts of many objects stay within the bounds and compress.
func TestPartsAreBoundedAndCompressed(t *testing.T) {
	var blobs []Part
	parts := NewParts(func(p Part) error { blobs = append(blobs, p); return nil })
	for i := range 3*PartObjects + 5 {
		if err := parts.Add(store.Object{Kind: "user", ID: fmt.Sprintf("%08d", i), Body: []byte(`{"displayName":"A user"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := parts.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(blobs) != 4 || blobs[3].Objects != 5 || blobs[1].FirstID != fmt.Sprintf("%08d", PartObjects) {
		t.Fatalf("%d parts, last with %d objects", len(blobs), blobs[len(blobs)-1].Objects)
	}
	if blobs[0].Data[2] != flagZstd {
		t.Fatal("a large part is not compressed")
	}
}

// Decoding never panics and never accepts trailing bytes; whatever decodes
// encodes back to the same mutations.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(EncodeRecord(randomMutations(rand.New(rand.NewPCG(1, 1)), 5)))
	f.Add(EncodeRecord(randomMutations(rand.New(rand.NewPCG(1, 1)), 200)))
	f.Add([]byte{tagRecord, version, 0, 1, 0, 1, 'k', 1, 'i', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var ms []store.Mutation
		if err := DecodeRecord(b, func(m store.Mutation) error {
			ms = append(ms, m)
			return nil
		}); err != nil {
			return
		}
		var again []store.Mutation
		if err := DecodeRecord(EncodeRecord(ms), func(m store.Mutation) error {
			again = append(again, m)
			return nil
		}); err != nil || len(again) != len(ms) {
			t.Fatalf("re-encoded record: %v, %d mutations, want %d", err, len(again), len(ms))
		}
	})
}

func FuzzDecodePart(f *testing.F) {
	var blobs [][]byte
	parts := NewParts(func(p Part) error { blobs = append(blobs, p.Data); return nil })
	for i := range 50 {
		_ = parts.Add(store.Object{Kind: "user", ID: fmt.Sprintf("%04d", i), Body: []byte("{}")})
	}
	_ = parts.Flush()
	f.Add(blobs[0])
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = DecodePart(b, func(store.Object) error { return nil })
	})
}

// Parts emitted one after another keep their bytes: a part too small to
// compress is its writer's buffer until copied, and the writer reuses the
// buffer for the next part.
func TestSmallPartsKeepTheirBytes(t *testing.T) {
	var parts []Part
	p := NewParts(func(x Part) error { parts = append(parts, x); return nil })
	var want [][]store.Object
	for i := range 4 {
		var objs []store.Object
		for j := range 3 {
			o := store.Object{Kind: "k", ID: fmt.Sprintf("id%d-%d", i, j), Body: []byte{byte(i), byte(j)}}
			objs = append(objs, o)
			if err := p.Add(o); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Flush(); err != nil {
			t.Fatal(err)
		}
		want = append(want, objs)
	}
	for i, part := range parts {
		if part.Data[2] != 0 {
			t.Fatalf("part %d was compressed; the test needs parts under compressMin", i)
		}
		var got []store.Object
		if err := DecodePart(part.Data, func(o store.Object) error { got = append(got, o); return nil }); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if !slices.EqualFunc(got, want[i], func(a, b store.Object) bool {
			return a.Kind == b.Kind && a.ID == b.ID && bytes.Equal(a.Body, b.Body)
		}) {
			t.Fatalf("part %d decodes to %v, want %v", i, got, want[i])
		}
	}
}

// Parts compressed concurrently are the parts of NewParts, byte for byte
// and in order, large and small (a part too small to compress is its
// buffer; the buffers of compressed ones are reused), with one sealer or
// several; an error of emit is returned and ends the stream.
func TestConcurrentPartsAreTheSameParts(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	var objs []store.Object
	for i := range 12*PartObjects + 17 {
		body := make([]byte, rnd.IntN(200))
		for j := range body {
			body[j] = byte('a' + rnd.IntN(4)) // compressible, not uniformly
		}
		objs = append(objs, store.Object{Kind: "user", ID: fmt.Sprintf("%08d", i), Body: body})
	}
	// Flushed at i%1000 == 0 and 20: parts of 20 objects, too small to
	// compress, between parts of 980.
	write := func(p *Parts, flushes bool) {
		for i, o := range objs {
			if err := p.Add(o); err != nil {
				t.Fatal(err)
			}
			if flushes && (i%1000 == 0 || i%1000 == 20) {
				if err := p.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := p.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for _, flushes := range []bool{false, true} {
		var want []Part
		write(NewParts(func(p Part) error { want = append(want, p); return nil }), flushes)
		for _, sealers := range []int{1, 3} {
			var got []Part
			write(NewConcurrentParts(func(p Part) error {
				p.Data = bytes.Clone(p.Data) // valid only until emit returns
				got = append(got, p)
				return nil
			}, sealers), flushes)
			if len(got) != len(want) {
				t.Fatalf("%d sealers: %d parts, want %d", sealers, len(got), len(want))
			}
			for i := range want {
				if got[i].FirstKind != want[i].FirstKind || got[i].FirstID != want[i].FirstID || got[i].Objects != want[i].Objects || !bytes.Equal(got[i].Data, want[i].Data) {
					t.Fatalf("%d sealers, flushes %v: part %d differs", sealers, flushes, i)
				}
			}
		}
		small := slices.ContainsFunc(want[:len(want)-1], func(p Part) bool { return p.Data[2] == 0 })
		if !slices.ContainsFunc(want, func(p Part) bool { return p.Data[2] == flagZstd }) || flushes != small {
			t.Fatal("the test needs compressed parts, and with flushes small ones")
		}
	}
	full := errors.New("disk full")
	calls := 0
	p := NewConcurrentParts(func(Part) error { calls++; return full }, 2)
	var err error
	for _, o := range objs {
		if err = p.Add(o); err != nil {
			break
		}
	}
	if err == nil {
		err = p.Flush()
	}
	if !errors.Is(err, full) || calls != 1 {
		t.Fatalf("emit failing: %v after %d calls, want the error after 1", err, calls)
	}
}

// Parts keeps no key it was given: an object's memory may be overwritten
// once Add returns (a bulk commit reuses its batches' keys), and the parts,
// their first keys and the order check are those of the objects as added.
func TestPartsCopyTheKeysTheyKeep(t *testing.T) {
	var objs []store.Object
	for i := range 3*PartObjects + 5 {
		objs = append(objs, store.Object{Kind: "user", ID: fmt.Sprintf("id%08d", i), Body: []byte("b")})
	}
	for _, concurrent := range []bool{false, true} {
		var got []Part
		emit := func(p Part) error { p.Data = bytes.Clone(p.Data); got = append(got, p); return nil }
		p := NewParts(emit)
		if concurrent {
			p = NewConcurrentParts(emit, 2)
		}
		kind, id := []byte("user"), make([]byte, 10)
		for _, o := range objs {
			copy(id, o.ID)
			if err := p.Add(store.Object{Kind: store.Kind(unsafe.String(&kind[0], len(kind))), ID: unsafe.String(&id[0], len(id)), Body: o.Body}); err != nil {
				t.Fatalf("concurrent %v: %v", concurrent, err)
			}
			copy(kind, "zzzz") // the caller's memory serves another object
			copy(id, "zzzzzzzzzz")
			copy(kind, "user")
		}
		if err := p.Flush(); err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 {
			t.Fatalf("concurrent %v: %d parts, want 4", concurrent, len(got))
		}
		for i, part := range got {
			if w := objs[i*PartObjects]; part.FirstKind != w.Kind || part.FirstID != w.ID {
				t.Fatalf("concurrent %v: part %d starts at %s %q, want %s %q", concurrent, i, part.FirstKind, part.FirstID, w.Kind, w.ID)
			}
			n := 0
			if err := DecodePart(part.Data, func(o store.Object) error {
				if w := objs[i*PartObjects+n]; o.ID != w.ID {
					t.Fatalf("concurrent %v: part %d object %d is %q, want %q", concurrent, i, n, o.ID, w.ID)
				}
				n++
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A part's ids and bodies are the decoder's own, never views of the
// blob it was given: overwriting the blob after DecodePart changes none
// of them, compressed or not.
func TestDecodedPartDoesNotAliasTheBlob(t *testing.T) {
	for _, n := range []int{3, 2000} { // under and over compressMin
		var parts []Part
		p := NewParts(func(part Part) error { parts = append(parts, part); return nil })
		var want []store.Object
		for i := range n {
			o := store.Object{Kind: "user", ID: fmt.Sprintf("id%06d", i), Body: []byte(fmt.Sprintf("body %d", i))}
			want = append(want, o)
			if err := p.Add(o); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Flush(); err != nil {
			t.Fatal(err)
		}
		if len(parts) != 1 {
			t.Fatalf("%d objects made %d parts, want 1", n, len(parts))
		}
		var got []store.Object
		if err := DecodePart(parts[0].Data, func(o store.Object) error { got = append(got, o); return nil }); err != nil {
			t.Fatal(err)
		}
		for i := range parts[0].Data {
			parts[0].Data[i] = 'x'
		}
		if !slices.EqualFunc(got, want, func(a, b store.Object) bool {
			return a.Kind == b.Kind && a.ID == b.ID && bytes.Equal(a.Body, b.Body)
		}) {
			t.Fatalf("%d objects: after the blob was overwritten the decoded objects changed", n)
		}
	}
}

// reusingTx is a Tx whose Parts passes every part in one buffer of its
// own, overwritten once fn returns, as a backend may (Tx.Parts).
type reusingTx struct {
	Tx    // only Parts is called
	parts [][]byte
}

func (r reusingTx) Parts(_ context.Context, _ string, _ int64, fn func([]byte) error) error {
	var buf []byte
	for _, p := range r.parts {
		buf = append(buf[:0], p...)
		if err := fn(buf); err != nil {
			return err
		}
		for i := range buf {
			buf[i] = 'x'
		}
	}
	return nil
}

// userParts encodes n parts' worth of users (PartObjects each) as snapshot
// parts, and returns the parts and the objects in them.
func userParts(t *testing.T, n int) ([][]byte, []store.Object) {
	t.Helper()
	var parts [][]byte
	p := NewParts(func(part Part) error { parts = append(parts, part.Data); return nil })
	var objs []store.Object
	for i := range n * PartObjects {
		o := store.Object{Kind: "user", ID: fmt.Sprintf("id%07d", i), Body: []byte(fmt.Sprintf("body of user %d", i))}
		objs = append(objs, o)
		if err := p.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(parts) < n {
		t.Fatalf("%d parts, want at least %d", len(parts), n)
	}
	return parts, objs
}

// Base reads a snapshot whose backend reuses its buffer for every part
// (and overwrites it once passed): every object comes out as stored, in
// order, whichever worker decodes which part.
func TestBaseCopiesThePartsTheBackendReuses(t *testing.T) {
	parts, want := userParts(t, 3)
	var got []store.Object
	err := Base(context.Background(), reusingTx{parts: parts}, "t", Head{Snap: 1})(func(o store.Object) error {
		got = append(got, store.Object{Kind: o.Kind, ID: o.ID, Body: bytes.Clone(o.Body)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, func(a, b store.Object) bool {
		return a.Kind == b.Kind && a.ID == b.ID && bytes.Equal(a.Body, b.Body)
	}) {
		t.Fatalf("Base gave %d objects, not the %d stored (or not as stored)", len(got), len(want))
	}
}

// A transient load (store.LoadOptions) has each object prepared by the
// decoding goroutines and reuses a part's payload once the consumer has
// taken the part after it: a consumer that copies what it keeps sees every
// object as stored, a view kept against the contract sees the poison, and
// an object whose body a later log record replaces is not prepared (what
// was prepared is of the body replaced). Without Transient nothing is
// reused.
func TestTransientBasePreparesAndReusesThePayloads(t *testing.T) {
	parts, want := userParts(t, 20)
	replaced := want[5*PartObjects+3] // in the sixth part
	var l Log
	l.Add(store.Mutation{Kind: replaced.Kind, ID: replaced.ID, Body: []byte("a later body")})
	defer PoisonReused(PoisonReused(true))
	prepare := func() func(*store.Object) {
		return func(o *store.Object) { o.Prepared = "prepared " + string(o.Body) }
	}
	for _, transient := range []bool{true, false} {
		type seen struct {
			id, view, body, prepared string
		}
		var got []seen
		opts := store.LoadOptions{NewPrepare: prepare, Transient: transient}
		err := Merge(Base(context.Background(), reusingTx{parts: parts}, "t", Head{Snap: 1}, opts), &l, func(o store.Object) error {
			prep, _ := o.Prepared.(string)
			got = append(got, seen{strings.Clone(o.ID), o.ID, string(o.Body), prep})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("transient %v: %d objects, want %d", transient, len(got), len(want))
		}
		poisoned := 0
		for i, g := range got {
			w := want[i]
			wantBody, wantPrep := string(w.Body), "prepared "+string(w.Body)
			if w.ID == replaced.ID {
				wantBody, wantPrep = "a later body", ""
			}
			if g.id != w.ID || g.body != wantBody || g.prepared != wantPrep {
				t.Fatalf("transient %v: object %d is %q %q prepared %q, want %q %q prepared %q", transient, i, g.id, g.body, g.prepared, w.ID, wantBody, wantPrep)
			}
			if g.view != g.id {
				poisoned++
			}
		}
		switch {
		case transient && poisoned < len(want)/2:
			t.Fatalf("a transient load reused %d of %d objects' memory; want most (every part but the last two)", poisoned, len(want))
		case !transient && poisoned != 0:
			t.Fatalf("a load that is not transient reused %d objects' memory", poisoned)
		}
	}
}
