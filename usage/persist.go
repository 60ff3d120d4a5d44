package usage

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"allot/store"
	"allot/tenant"
)

// How the aggregates are stored (tenant objects of these kinds):
//
//   - usageShard/NNNN: the users whose id hashes to shard NNNN (of
//     meta.Shards, a power of two growing with the users: about 256 users
//     per shard, at most maxShards), as of the last checkpoint that found
//     the shard changed.
//   - usageDelta/SEQ: the users one command changed, written since the last
//     checkpoint. Loading applies shards and deltas by each user's version
//     (the seq of the command that last changed it): the newest wins.
//   - usageMeta/state: seq, the pending deltas, the event-id ring head.
//   - usageReport/TYPE/DATE: an imported report (what makes re-imports
//     no-ops).
//   - usageEventIds/NNNN: a chunk of the event-id ring (idring.go).
//   - usageConcealedNames/XX: the concealed-name mapping, by the hash's
//     first byte.
//
// Why not one object per user: a store commits on the order of 10⁵ objects
// per second, so a 1,000,000-row report would take 10 s to persist; a
// command instead writes one delta object, or — at a checkpoint — the
// changed shards (at most maxShards objects). A checkpoint happens when
// the pending deltas hold more user records than half the users or
// there are maxDeltas of them, so the deltas hold at most about half the
// state again and the writes stay proportional to what changed.
const (
	extName = "usage"

	kindShard store.Kind = "usageShard"
	kindDelta store.Kind = "usageDelta"
	kindMeta  store.Kind = "usageMeta"
	kindRep   store.Kind = "usageReport" // id: report type + "/" + refresh date
	kindIDs   store.Kind = "usageEventIds"
	kindNames store.Kind = "usageConcealedNames"

	maxShards     = 4096
	usersPerShard = 256
	maxDeltas     = 256
	metaID        = "state"
)

// Extension is the usage aggregates as a tenant extension; a runtime that
// ingests or reports usage lists it in tenant.Options.Extensions.
var Extension = tenant.NewExtension(tenant.ExtensionType[*Aggregates]{
	Name:   extName,
	Kinds:  []store.Kind{kindShard, kindDelta, kindMeta, kindIDs, kindNames, kindRep},
	New:    newAggregates,
	Load:   (*Aggregates).load,
	Remove: (*Aggregates).remove,
	Clone:  (*Aggregates).clone,
})

// meta is the stored usageMeta/state object.
type meta struct {
	Seq     uint64           `json:"seq"`
	Shards  int              `json:"shards"`           // shard objects at the last checkpoint
	Deltas  []uint64         `json:"deltas,omitempty"` // seqs of the deltas since the last checkpoint
	Pending int              `json:"pendingUsers"`     // user records in those deltas
	IDHead  uint32           `json:"eventIdHead"`
	Reports []ImportedReport `json:"-"` // stored one object each (kindRep)
}

// ImportedReport is a usage report that was ingested; its report type and
// refresh date make a re-import a no-op.
type ImportedReport struct {
	Report            string    `json:"report"`
	ReportRefreshDate string    `json:"reportRefreshDate"`
	Rows              int       `json:"rows"`
	Accepted          int       `json:"accepted"`
	Unmatched         int       `json:"unmatched"`
	Rejected          int       `json:"rejected"`
	ImportedDateTime  time.Time `json:"importedDateTime"`
}

type blobBody struct {
	Seq   uint64 `json:"seq"`
	Users int    `json:"users"`
	Data  []byte `json:"data"`
}

type idsBody struct {
	IDs []byte `json:"ids"` // little-endian uint64 hashes
}

type namesBody struct {
	Names [][2]string `json:"names"` // [hash, userPrincipalName]
}

// shardOf is the fine shard of a user id (FNV-1a, 32 bits, modulo
// maxShards); with n shards (a power of two dividing maxShards) the user is
// stored in shard shardOf(id) % n.
func shardOf(id string) uint16 {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return uint16(h % maxShards)
}

// shardsFor is the number of shards for a number of users.
func shardsFor(users int) int {
	n := 1
	for n < maxShards && n*usersPerShard < users {
		n *= 2
	}
	return n
}

func (a *Aggregates) markDirty(id string) {
	s := shardOf(id)
	a.dirty[s/64] |= 1 << (s % 64)
}

// load adds one stored object, or replaces the one of its kind and id:
// at tenant load, and on the readers' copy for each object a committed
// change wrote (ExtensionType.Load).
func (a *Aggregates) load(o store.Object) error {
	switch o.Kind {
	case kindMeta:
		m := meta{Reports: a.meta.Reports} // reports are objects of their own
		if err := json.Unmarshal(o.Body, &m); err != nil {
			return err
		}
		a.meta = m
		a.ids.head = a.meta.IDHead % MaxEventIDs
		if len(m.Deltas) == 0 {
			// A checkpoint: every change is in the shards.
			a.dirty = [maxShards / 64]uint64{}
		}
		return nil
	case kindShard, kindDelta:
		var b blobBody
		if err := json.Unmarshal(o.Body, &b); err != nil {
			return err
		}
		delta := o.Kind == kindDelta
		return decodeBlob(b.Data, a.skus, func(u *userAgg) {
			if delta {
				a.markDirty(u.id)
			}
			i, ok := a.byID[u.id]
			if !ok {
				// The decoder's slices are scratch: copy them into the slabs.
				v := *u
				v.feats = append(a.feats.carve(len(u.feats)), u.feats...)
				v.acts = append(a.acts.carve(len(u.acts)), u.acts...)
				a.byID[u.id] = a.users.add(v)
				return
			}
			x := a.users.at(i)
			if x.ver > u.ver {
				return
			}
			// As a command does: a slice that fits is reused, one that
			// grew comes from the heap (so that outgrown ones are freed).
			feats, acts := x.feats, x.acts
			if cap(feats) < len(u.feats) {
				feats = make([]featUse, 0, len(u.feats)+2)
			}
			if cap(acts) < len(u.acts) {
				acts = make([]activation, 0, len(u.acts)+1)
			}
			*x = *u
			x.feats = append(feats[:0], u.feats...)
			x.acts = append(acts[:0], u.acts...)
		})
	case kindRep:
		var r ImportedReport
		if err := json.Unmarshal(o.Body, &r); err != nil {
			return err
		}
		if i := a.meta.report(r.Report, r.ReportRefreshDate); i >= 0 {
			a.meta.Reports[i] = r
		} else {
			a.meta.Reports = append(a.meta.Reports, r)
		}
		return nil
	case kindIDs:
		var b idsBody
		if err := json.Unmarshal(o.Body, &b); err != nil {
			return err
		}
		c, err := strconv.ParseUint(o.ID, 10, 32)
		if err != nil {
			return fmt.Errorf("bad event-id chunk %q", o.ID)
		}
		ids := make([]uint64, len(b.IDs)/8)
		for i := range ids {
			ids[i] = binary.LittleEndian.Uint64(b.IDs[8*i:])
		}
		a.ids.loadChunk(uint32(c), ids)
		return nil
	case kindNames:
		var b namesBody
		if err := json.Unmarshal(o.Body, &b); err != nil {
			return err
		}
		a.forgetNames(o.ID)
		for _, p := range b.Names {
			if h, ok := parseConcealed(p[0]); ok {
				a.names.set(h, p[1])
			}
		}
		return nil
	}
	return nil
}

// remove forgets a deleted object (ExtensionType.Remove): the mapping's
// bucket of a deleted concealed-names object. The other kinds are deleted
// when what they hold lives on elsewhere (deltas and shards replaced by a
// checkpoint), so memory keeps it.
func (a *Aggregates) remove(kind store.Kind, id string) {
	if kind == kindNames {
		a.forgetNames(id)
	}
}

// forgetNames drops the concealed names of one stored bucket (the hash's
// first byte, in hex).
func (a *Aggregates) forgetNames(bucket string) {
	if b, err := strconv.ParseUint(bucket, 16, 8); err == nil {
		a.names[b] = nil
	}
}

// batchState is the scratch of the running command.
type batchState struct {
	seq uint64
}

// begin starts a command that may change the aggregates.
func (a *Aggregates) begin() {
	a.batch.seq = a.meta.Seq + 1
	a.touched = a.touched[:0]
	a.ids.dirty = a.ids.dirty[:0]
}

// finish persists what the running command changed: the changed users (as
// a delta, or through a checkpoint), the event-id chunks written, and the
// meta object. The readers' copy loads these objects from the committed
// change (load).
func (a *Aggregates) finish(tx *tenant.Tx, metaChanged bool) error {
	if len(a.touched) == 0 && len(a.ids.dirty) == 0 && !metaChanged {
		return nil
	}
	seq := a.batch.seq
	a.meta.Seq = seq
	a.meta.IDHead = a.ids.head
	if len(a.touched) > 0 {
		for _, i := range a.touched {
			a.markDirty(a.users.at(i).id)
		}
		if len(a.meta.Deltas) >= maxDeltas || (a.meta.Pending+len(a.touched))*2 > a.users.len() || shardsFor(a.users.len()) != a.meta.Shards {
			if err := a.checkpoint(tx); err != nil {
				return err
			}
		} else {
			e := newEncoder(a.skus)
			e.users = make([]byte, 0, 64*len(a.touched))
			for _, i := range a.touched {
				e.add(a.users.at(i))
			}
			if err := tx.PersistRaw(kindDelta, seqID(seq), blobJSON(seq, e)); err != nil {
				return err
			}
			a.meta.Deltas = append(a.meta.Deltas, seq)
			a.meta.Pending += len(a.touched)
		}
	}
	for _, c := range a.ids.dirty {
		if err := tx.PersistRaw(kindIDs, strconv.Itoa(int(c)), idsJSON(a.ids.chunks[c])); err != nil {
			return err
		}
	}
	return tx.Persist(kindMeta, metaID, &a.meta)
}

// checkpoint writes every shard changed since the last checkpoint (all of
// them when the number of shards changes) and deletes the deltas.
func (a *Aggregates) checkpoint(tx *tenant.Tx) error {
	n := shardsFor(a.users.len())
	{
		// A shard is written when one of its fine shards changed (all of
		// them when the count changes), with every user it holds; a dirty
		// shard left without users is written empty.
		all := n != a.meta.Shards
		write := make([]bool, n)
		for f := 0; f < maxShards; f++ {
			if all || a.dirty[f/64]&(1<<(f%64)) != 0 {
				write[f%n] = true
			}
		}
		bodies := a.encodeShards(n, write)
		for s, body := range bodies {
			if body != nil {
				if err := tx.PersistRaw(kindShard, fmt.Sprintf("%04d", s), body); err != nil {
					return err
				}
			}
		}
		for s := n; s < a.meta.Shards; s++ {
			tx.Unpersist(kindShard, fmt.Sprintf("%04d", s))
		}
		for _, d := range a.meta.Deltas {
			tx.Unpersist(kindDelta, seqID(d))
		}
	}
	a.meta.Shards = n
	a.dirty = [maxShards / 64]uint64{}
	a.meta.Deltas = nil
	a.meta.Pending = 0
	return nil
}

// encodeShards encodes the users of the shards to write (write[s]) into
// their object bodies, on all processors: the command waits for the
// result, and each body depends only on its shard's users, so the output
// is the same however the work is scheduled.
func (a *Aggregates) encodeShards(n int, write []bool) [][]byte {
	// Bucket the users by shard first (one pass), then encode the buckets.
	counts := make([]int32, n+1)
	shard := make([]int32, a.users.len())
	for i := range shard {
		s := int32(int(shardOf(a.users.at(int32(i)).id)) % n)
		shard[i] = s
		counts[s+1]++
	}
	for s := 1; s <= n; s++ {
		counts[s] += counts[s-1]
	}
	order := make([]int32, len(shard))
	next := slices.Clone(counts[:n])
	for i, s := range shard {
		order[next[s]] = int32(i)
		next[s]++
	}
	bodies := make([][]byte, n)
	workers := min(runtime.GOMAXPROCS(0), 8)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := newEncoder(a.skus) // one per worker: its buffers serve every shard
			for s := w; s < n; s += workers {
				if !write[s] {
					continue
				}
				e.reset()
				for _, i := range order[counts[s]:counts[s+1]] {
					e.add(a.users.at(i))
				}
				bodies[s] = blobJSON(a.batch.seq, e)
			}
		}()
	}
	wg.Wait()
	return bodies
}

// idsJSON renders an idsBody (what json.Marshal would: the hashes as
// little-endian bytes in base64).
func idsJSON(ids []uint64) []byte {
	var raw [8 * idChunk]byte
	n := 0
	for _, h := range ids {
		binary.LittleEndian.PutUint64(raw[n:], h)
		n += 8
	}
	b := make([]byte, 0, base64.StdEncoding.EncodedLen(n)+10)
	b = append(b, `{"ids":"`...)
	b = base64.StdEncoding.AppendEncode(b, raw[:n])
	return append(b, `"}`...)
}

// blobJSON renders a blobBody (what json.Marshal would, without its
// reflection over a large byte slice); it is stored as it is
// (Tx.PersistRaw).
//
// The blob (header then users) is base64-encoded straight from the
// encoder's buffers into the body: its only allocation.
func blobJSON(seq uint64, e *encoder) []byte {
	head, users := e.header(), e.users
	enc := base64.StdEncoding
	b := make([]byte, 0, enc.EncodedLen(len(head)+len(users))+64)
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"users":`...)
	b = strconv.AppendInt(b, int64(e.n), 10)
	b = append(b, `,"data":"`...)
	// base64 of a concatenation is the concatenation of the parts' when
	// the first part's length is a multiple of 3: move up to 2 bytes of
	// users into the header.
	if k := (3 - len(head)%3) % 3; k <= len(users) {
		head = append(head, users[:k]...)
		e.head = head
		b = enc.AppendEncode(b, head)
		b = enc.AppendEncode(b, users[k:])
	} else {
		b = enc.AppendEncode(b, append(head, users...))
	}
	return append(b, `"}`...)
}

func seqID(seq uint64) string { return fmt.Sprintf("%016d", seq) }

// parseConcealed reads a concealed user name: 32 hexadecimal digits.
func parseConcealed(s string) ([16]byte, bool) {
	var h [16]byte
	if len(s) != 32 {
		return h, false
	}
	_, err := hex.Decode(h[:], []byte(s))
	return h, err == nil
}

func sortFeats(fs []featUse) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].f < fs[j-1].f; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

func sortActs(as []activation) {
	for i := 1; i < len(as); i++ {
		for j := i; j > 0 && as[j].sku < as[j-1].sku; j-- {
			as[j], as[j-1] = as[j-1], as[j]
		}
	}
}
