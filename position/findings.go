package position

import (
	"slices"
	"strconv"
	"time"

	"allot/usage"
)

// Findings are kept compact while a position is computed and until it is
// written: pointer-free records (frec, erec) that index per-worker tables
// of users, groups, fixes, texts and feature names. A position of a
// million users holds about a million findings; as Finding values they
// would weigh 600 MB of pointers for the garbage collector to trace. They
// are materialised one at a time when written (EachFinding).

// frec is one finding.
type frec struct {
	id    uint64
	user  int32 // part.users; -1 none
	sku   int32 // part.m.skus; -1 none
	group int32 // part.groups; -1 none
	fix   int32 // part.fixes
	ev    int32 // first evidence in part.evs
	nev   int32
}

// erec is one piece of evidence, in 16 bytes (a million findings carry
// about five million): its time is seconds since lastEpoch, or — for a time
// with a fraction of a second or out of range — an index in the part's
// spilled times.
type erec struct {
	last   uint32 // 0: none; else see part.setLast
	detail int32  // part.texts; -1 none
	feat   uint32 // part.names index+1 (bits 0–19; 0 none), usage.Evidence (20–31)
	meta   uint32 // req+1 (bits 0–19), active days (20–27), source (28–30), last spilled (31)
}

const (
	noTime    = -1 << 63
	lastEpoch = 946684800 - 1 // Unix seconds of erec.last 0 (2000-01-01 less a second)
	reqBits   = 20
	maxReqs   = 1<<reqBits - 1
	spilled   = 1 << 31
)

// mkErec makes evidence without a time.
func mkErec(source uint8, feat, detail int32, days int) erec {
	if feat+1 > maxReqs {
		panic("position: too many feature names")
	}
	return erec{detail: detail, feat: uint32(feat + 1), meta: uint32(min(max(days, 0), 255))<<reqBits | uint32(source)<<28}
}

func (e *erec) featIx() int32 { return int32(e.feat&maxReqs) - 1 }

// seen is where the use was seen (0: not known).
func (e *erec) seen() usage.Evidence { return usage.Evidence(e.feat >> reqBits) }

func (e *erec) setSeen(s usage.Evidence) { e.feat = e.feat&maxReqs | uint32(s&0xfff)<<reqBits }

func (e *erec) req() int32    { return int32(e.meta&maxReqs) - 1 }
func (e *erec) days() int     { return int(e.meta >> reqBits & 255) }
func (e *erec) source() uint8 { return uint8(e.meta >> 28 & 7) }

// setReq sets the requirement whose plans the evidence names (-1: none).
// A tenant's requirements number one per feature, plan or mailbox fact
// used, a few thousand at most.
func (e *erec) setReq(q int32) {
	if q+1 > maxReqs {
		panic("position: too many requirements")
	}
	e.meta = e.meta&^maxReqs | uint32(q+1)
}

// setLast sets the evidence's time (UnixNano; noTime for none).
func (p *part) setLast(e *erec, ns int64) {
	e.meta &^= spilled
	if ns == noTime {
		e.last = 0
		return
	}
	if sec := ns / 1e9; ns%1e9 == 0 && sec > lastEpoch && sec-lastEpoch <= 1<<32-1 {
		e.last = uint32(sec - lastEpoch)
		return
	}
	e.last, e.meta = uint32(len(p.spill)), e.meta|spilled
	p.spill = append(p.spill, ns)
}

// lastTime returns the evidence's time; false for none.
func (p *part) lastTime(e *erec) (time.Time, bool) {
	switch {
	case e.meta&spilled != 0:
		return time.Unix(0, p.spill[e.last]).UTC(), true
	case e.last == 0:
		return time.Time{}, false
	}
	return time.Unix(lastEpoch+int64(e.last), 0).UTC(), true
}

var sources = []string{SourceReport, SourceEvent, SourceSignIn, SourceMailbox, SourceLicense, SourceTrend, SourceDirectory}

func sourceIx(s string) uint8 {
	for i, x := range sources {
		if x == s {
			return uint8(i)
		}
	}
	return 0
}

type userRef struct{ id, upn string }

// chunks is an append-only list kept in fixed-size chunks: growing it
// never copies (a million findings would otherwise be copied and their
// memory faulted in twice over).
type chunks[T any] struct {
	c [][]T
	n int
}

const chunkBits = 14

// firstChunk is the first chunk's capacity: it grows (by copying, 8
// times at a time) to a full chunk, so that a small position allocates
// little.
const firstChunk = 64

// add appends vs, contiguous within one chunk, and returns the index of
// the first (indexes encode chunk<<chunkBits | offset). A chunk holds at
// most 1<<chunkBits elements (len(vs) must not exceed it).
func (c *chunks[T]) add(vs ...T) int32 {
	last := len(c.c) - 1
	if last < 0 || len(c.c[last])+len(vs) > 1<<chunkBits {
		n := 1 << chunkBits
		if last < 0 {
			n = firstChunk
		}
		c.c = append(c.c, make([]T, 0, max(n, len(vs))))
		last++
	}
	if k := c.c[last]; len(k)+len(vs) > cap(k) {
		c.c[last] = append(make([]T, 0, min(max(8*cap(k), len(k)+len(vs)), 1<<chunkBits)), k...)
	}
	i := int32(last<<chunkBits | len(c.c[last]))
	c.c[last] = append(c.c[last], vs...)
	c.n += len(vs)
	return i
}

func (c *chunks[T]) at(i int32) *T { return &c.c[i>>chunkBits][i&(1<<chunkBits-1)] }

// each calls fn for the elements at positions lo…hi-1 (in order of
// addition) until fn returns false. Positions are the list's length at
// some time: valid for a list grown one element at a time (every chunk but
// the last full), as the findings of a kind are.
func (c *chunks[T]) each(lo, hi int, fn func(*T) bool) bool {
	for i := lo; i < hi; i++ {
		if !fn(&c.c[i>>chunkBits][i&(1<<chunkBits-1)]) {
			return false
		}
	}
	return true
}

// part is the findings of one worker.
type part struct {
	m      *model
	byKind []chunks[frec] // by kind index (Kinds order)
	users  chunks[userRef]
	lastU  string // the user last added
	lastUI int32
	groups []string
	grpIx  map[string]int32
	fixes  chunks[Fix] // in chunks: a large position has a fix for one user in a few, never copied
	evs    chunks[erec]
	texts  []string
	txtIx  map[string]int32
	names  []string
	nameIx map[string]int32
	spill  []int64 // evidence times erec.last cannot hold (UnixNano)
	// dropped counts the findings of each kind tombstoned (nev −1: a cover
	// finding replaced, see caps.go); they are skipped.
	dropped []int
	// The evidence ranges (materialise): the position's last day, its
	// window, and the idle evidence text of the long window.
	asOf     usage.Day
	window   int
	idleLong string
}

func newPart(m *model) *part {
	return &part{m: m, byKind: make([]chunks[frec], len(Kinds)), dropped: make([]int, len(Kinds)), grpIx: map[string]int32{}, txtIx: map[string]int32{}, nameIx: map[string]int32{}}
}

func kindIx(kind string) int {
	for i, k := range Kinds {
		if k == kind {
			return i
		}
	}
	panic("position: unknown finding kind " + kind)
}

// text interns a string of the part's texts.
func (p *part) text(s string) int32 {
	if s == "" {
		return -1
	}
	if i, ok := p.txtIx[s]; ok {
		return i
	}
	i := int32(len(p.texts))
	p.texts = append(p.texts, s)
	p.txtIx[s] = i
	return i
}

// name interns a feature name.
func (p *part) name(s string) int32 {
	if s == "" {
		return -1
	}
	if i, ok := p.nameIx[s]; ok {
		return i
	}
	i := int32(len(p.names))
	p.names = append(p.names, s)
	p.nameIx[s] = i
	return i
}

func (p *part) group(id string) int32 {
	if id == "" {
		return -1
	}
	if i, ok := p.grpIx[id]; ok {
		return i
	}
	i := int32(len(p.groups))
	p.groups = append(p.groups, id)
	p.grpIx[id] = i
	return i
}

// user returns the index of a user (the current one is added once).
func (p *part) user(id, upn string) int32 {
	if p.users.n == 0 || p.lastU != id {
		p.lastUI = p.users.add(userRef{id, upn})
		p.lastU = id
	}
	return p.lastUI
}

// release drops the indexes that only adding findings needs.
func (p *part) release() { p.grpIx, p.txtIx, p.nameIx = nil, nil, nil }

// count returns the findings of the part (less those dropped).
func (p *part) count() int {
	n := 0
	for k, fs := range p.byKind {
		n += fs.n - p.dropped[k]
	}
	return n
}

// findings is a position's findings: segments in user order.
type findings struct {
	segs []segment
	n    int
}

// segment is the findings of one chunk of users: by kind, a range of the
// findings of the part (the worker) that took the chunk. A worker takes
// its chunks one after another, so a chunk's findings of a kind are
// contiguous in its part.
type segment struct {
	p      *part
	lo, hi []int32 // by kind index
}

// start begins the segment at the end of p's findings.
func (s *segment) start(p *part) {
	s.p = p
	s.lo = make([]int32, 2*len(p.byKind))
	s.lo, s.hi = s.lo[:len(p.byKind)], s.lo[len(p.byKind):]
	for k := range p.byKind {
		s.lo[k] = int32(p.byKind[k].n)
	}
}

// end closes the segment at the end of its part's findings.
func (s *segment) end() {
	for k := range s.p.byKind {
		s.hi[k] = int32(s.p.byKind[k].n)
	}
}

// head fills f from a record but for its evidence (none) and what is
// derived from it (basis, range, on leave); f's evidence slice is kept
// for reuse.
func (p *part) head(kind int, r *frec, f *Finding) {
	*f = Finding{ID: hexID(r.id), Kind: Kinds[kind], Title: kindTitles[Kinds[kind]], Evidence: f.Evidence[:0], Fix: *p.fixes.at(r.fix)}
	if r.user >= 0 {
		u := p.users.at(r.user)
		f.UserID, f.UserPrincipalName = u.id, u.upn
	}
	if r.sku >= 0 {
		s := p.m.skus[r.sku].sku
		f.SKUID, f.SKUPartNumber, f.SKUDisplayName = s.ID, s.PartNumber, s.DisplayName
	}
	if r.group >= 0 {
		f.GroupID = p.groups[r.group]
	}
}

// materialise fills f from a record (f's evidence slice is reused).
func (p *part) materialise(kind int, r *frec, f *Finding) {
	p.head(kind, r, f)
	for j := int32(0); j < r.nev; j++ {
		e := p.evs.at(r.ev + j)
		ev := Evidence{Source: sources[e.source()], ActiveDays: e.days()}
		if i := e.featIx(); i >= 0 {
			ev.Feature = p.names[i]
		}
		if seen := e.seen(); seen != 0 {
			ev.Sources = seen.Sources()
		}
		if q := e.req(); q >= 0 {
			ev.ServicePlans = p.m.reqs[q].planNames
		}
		if e.detail >= 0 {
			ev.Detail = p.texts[e.detail]
		}
		if t, ok := p.lastTime(e); ok {
			ev.Last = &t
		}
		f.Evidence = append(f.Evidence, ev)
	}
	p.basis(f)
}

// basis fills in what a finding rests on and the days its evidence covers
// (Finding.Basis, EvidenceFrom, EvidenceTo).
func (p *part) basis(f *Finding) {
	from, to := p.asOf, p.asOf
	switch f.Kind {
	case UnderLicensed, OverAssigned, ServiceAccount, SharedMailbox, Idle:
		f.Basis = BasisUsage
		days := p.window
		for i := range f.Evidence {
			e := &f.Evidence[i]
			if e.Detail == p.idleLong && p.idleLong != "" {
				days = IdleLongDays
			}
			if e.Source == SourceDirectory {
				f.OnLeave = true
			}
		}
		from = p.asOf - usage.Day(days) + 1
	case NeverActivated:
		// The evidence's time is the grant: nothing was used since.
		f.Basis = BasisGrant
		if len(f.Evidence) > 0 && f.Evidence[0].Last != nil {
			from = usage.DayOf(*f.Evidence[0].Last)
			f.Evidence[0].Last = nil
		}
		for i := range f.Evidence {
			f.OnLeave = f.OnLeave || f.Evidence[i].Source == SourceDirectory
		}
	case SeatsRunningOut:
		f.Basis = BasisTrend
		from = p.asOf - RunOutDays + 1
	default:
		f.Basis = BasisLicense
	}
	if from > to {
		from = to
	}
	f.EvidenceFrom, f.EvidenceTo = from.String(), to.String()
}

func hexID(id uint64) string { return strconv.FormatUint(id, 16) }

// FindingCount returns the number of findings.
func (p *Position) FindingCount() int {
	if p.compact != nil {
		return p.compact.n
	}
	return len(p.Findings)
}

// EachFinding calls fn with every finding, grouped by kind (in Kinds
// order), users in directory order, until fn returns false. For a computed
// position fn gets a value reused for the next call: copy what it keeps.
func (p *Position) EachFinding(fn func(f *Finding) bool) { p.eachFinding(nil, false, fn) }

// EachFix is EachFinding for callers that act on the fixes: only the
// findings of the kinds given (every kind when none), without their
// evidence — Evidence is empty, and Basis, EvidenceFrom, EvidenceTo and
// OnLeave are not set (they derive from it) — which is most of the cost
// of going through a large position.
func (p *Position) EachFix(kinds []string, fn func(f *Finding) bool) {
	p.eachFinding(kinds, true, fn)
}

func (p *Position) eachFinding(kinds []string, brief bool, fn func(f *Finding) bool) {
	want := func(k string) bool { return len(kinds) == 0 || slices.Contains(kinds, k) }
	if p.compact == nil {
		for i := range p.Findings {
			if !want(p.Findings[i].Kind) {
				continue
			}
			f := &p.Findings[i]
			if brief {
				head := *f
				head.Evidence, head.Basis, head.EvidenceFrom, head.EvidenceTo, head.OnLeave = nil, "", "", "", false
				f = &head
			}
			if !fn(f) {
				return
			}
		}
		return
	}
	var f Finding
	for k := range Kinds {
		if !want(Kinds[k]) {
			continue
		}
		for _, sg := range p.compact.segs {
			pt := sg.p
			if pt == nil || sg.lo[k] == sg.hi[k] {
				continue
			}
			more := pt.byKind[k].each(int(sg.lo[k]), int(sg.hi[k]), func(r *frec) bool {
				if r.nev < 0 {
					return true // dropped
				}
				if brief {
					pt.head(k, r, &f)
				} else {
					pt.materialise(k, r, &f)
				}
				if !fn(&f) {
					return false
				}
				f.Evidence = nil // the caller may keep the slice
				return true
			})
			if !more {
				return
			}
		}
	}
}

// AllFindings returns every finding as values (convenient for small
// positions and tests; a large position is better written with
// EachFinding, WriteJSON, WriteCSV).
func (p *Position) AllFindings() []Finding {
	out := make([]Finding, 0, p.FindingCount())
	p.EachFinding(func(f *Finding) bool {
		out = append(out, *f)
		return true
	})
	return out
}
