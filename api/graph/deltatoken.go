package graph

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"strings"

	"allot/internal/token64"
)

// A delta state token ($skiptoken of an @odata.nextLink, $deltatoken of
// an @odata.deltaLink) is opaque to clients: base64url of
//
//	version(1)=2 kind(1) phase(1) log(8) epoch(8) idx(8) cursorSeq(8)
//	len+cursorID len+select selectSet(1) [len+memAfter] check(16)
//
// Its position is a number of the tenant's change log (store.ChangeLog),
// which every process serving the tenant shares and which outlives a
// restart, so any process serves it — from its directory index when the
// token's hint (epoch, idx) names that index (the fast path), else from
// the change log (deltalog.go). check is SHA-256 of the tenant's id and
// every byte before it, truncated: a token edited, cut, or of another
// tenant is refused (400). It is a check, not a secret: a token grants
// nothing, the caller's authorisation to read the directory does, and a
// token made up by hand gets at most changes the caller may read anyway.
//
// A version-1 token (a process of an earlier version, bound to that
// process) is answered with the resync answer, never with data.
type deltaToken struct {
	kind byte // 'u' users, 'g' groups
	// phase: 'i' initial round (walk by id), 'c' changes round walked in
	// the directory index, 'r' changes round rebuilt from the change log
	// (both walk by change number, then id), 'l' deltaLink.
	phase byte
	// log is a number of the tenant's change log: in an initial round the
	// number it started at; in a changes round and in a deltaLink the
	// number the client is synchronised to (changes after it are sent).
	log uint64
	// epoch, idx: the fast path's hint — a build of the directory index
	// (directory.Index.Epoch) and its number that was paired with log
	// ('c': the index number the round sends changes after). 0, 0: none.
	epoch, idx uint64
	// The cursor: the last object sent ('c': its change key in the
	// index, curSeq and curID; 'r': the log number of its last change and
	// its id; 'i': its id).
	curSeq uint64
	curID  string
	sel    []string // $select of the first request (nil: none)
	// memAfter (groups): the object at the cursor was sent with part of
	// its members@delta, up to this member id; the next page sends it
	// again with the members after it, then the objects after the cursor.
	memAfter string
}

const (
	deltaTokenVersion = 2
	checkLen          = 16
	maxDeltaToken     = 8192
)

func deltaCheck(tenantID string, payload []byte) []byte {
	h := sha256.New()
	h.Write([]byte(tenantID))
	h.Write([]byte{0})
	h.Write(payload)
	return h.Sum(nil)[:checkLen]
}

func (t *deltaToken) encode(tenantID string) string {
	b := []byte{deltaTokenVersion, t.kind, t.phase}
	for _, v := range []uint64{t.log, t.epoch, t.idx, t.curSeq} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	b = appendLenStr(b, t.curID)
	b = appendLenStr(b, strings.Join(t.sel, ","))
	if t.sel != nil {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	if t.memAfter != "" {
		b = appendLenStr(b, t.memAfter)
	}
	b = append(b, deltaCheck(tenantID, b)...)
	return token64.Encode(b)
}

func appendLenStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var (
	errTokenInvalid = errors.New("invalid delta token")
	// errTokenStale: a well-formed token of an earlier version.
	errTokenStale = errors.New("stale delta token")
)

// tokenReader reads a token's length-prefixed strings.
type tokenReader struct {
	p  []byte
	ok bool
}

func (r *tokenReader) str() string {
	n, k := binary.Uvarint(r.p)
	if k <= 0 || n > uint64(len(r.p)-k) || k != len(binary.AppendUvarint(nil, n)) {
		r.ok = false
		return ""
	}
	v := string(r.p[k : k+int(n)])
	r.p = r.p[k+int(n):]
	return v
}

// decodeDeltaToken reads a token: errTokenInvalid when it is not one of
// ours for this tenant (malformed, edited, another tenant's: 400),
// errTokenStale with what it says (unverified) when it is a version-1
// token (resync).
func decodeDeltaToken(s, tenantID string) (*deltaToken, error) {
	if len(s) > maxDeltaToken {
		return nil, errTokenInvalid
	}
	b, err := token64.Decode(s)
	if err != nil || len(b) < 3 {
		return nil, errTokenInvalid
	}
	switch b[0] {
	case 1:
		return decodeV1(b)
	case deltaTokenVersion:
	default:
		return nil, errTokenInvalid
	}
	if len(b) < 3+8*4+2+1+checkLen {
		return nil, errTokenInvalid
	}
	payload, check := b[:len(b)-checkLen], b[len(b)-checkLen:]
	if subtle.ConstantTimeCompare(check, deltaCheck(tenantID, payload)) != 1 {
		return nil, errTokenInvalid
	}
	t := &deltaToken{kind: b[1], phase: b[2]}
	p := b[3:]
	for _, v := range []*uint64{&t.log, &t.epoch, &t.idx, &t.curSeq} {
		*v = binary.BigEndian.Uint64(p)
		p = p[8:]
	}
	r := &tokenReader{p: p[:len(p)-checkLen], ok: true}
	t.curID = r.str()
	sel := r.str()
	if !r.ok || len(r.p) < 1 || r.p[0] > 1 || r.p[0] == 0 && sel != "" {
		return nil, errTokenInvalid
	}
	if r.p[0] == 1 {
		t.sel = strings.Split(sel, ",")
	}
	r.p = r.p[1:]
	if len(r.p) > 0 { // memAfter (written only when set)
		t.memAfter = r.str()
		if !r.ok || t.memAfter == "" || len(r.p) != 0 {
			return nil, errTokenInvalid
		}
	}
	if !t.valid() {
		return nil, errTokenInvalid
	}
	return t, nil
}

// valid checks the fields of a token against its kind and phase (what
// encode writes for each).
func (t *deltaToken) valid() bool {
	switch {
	case t.kind != 'u' && t.kind != 'g',
		t.memAfter != "" && (t.kind != 'g' || t.phase == 'l'),
		(t.epoch == 0) != (t.idx == 0):
		return false
	}
	switch t.phase {
	case 'i':
		return t.curSeq == 0 && t.curID != ""
	case 'c':
		return t.epoch != 0 && t.curID != ""
	case 'r':
		return t.epoch == 0 && t.curSeq > t.log && t.curID != ""
	case 'l':
		return t.curSeq == 0 && t.curID == ""
	}
	return false
}

// decodeV1 reads what a version-1 token says (kind and $select, to start
// a new round with them): it was bound to the process that issued it.
//
//	1 kind phase process(8) epoch(8) seq(8) cursorSeq(8) len+cursorID len+select selectSet(1) … mac(16)
func decodeV1(b []byte) (*deltaToken, error) {
	if len(b) < 3+8*4+2+1+16 {
		return nil, errTokenInvalid
	}
	r := &tokenReader{p: b[3+32 : len(b)-16], ok: true}
	r.str()
	sel := r.str()
	if !r.ok || len(r.p) < 1 || r.p[0] > 1 || b[1] != 'u' && b[1] != 'g' {
		return nil, errTokenInvalid
	}
	t := &deltaToken{kind: b[1], phase: b[2]}
	if r.p[0] == 1 {
		t.sel = strings.Split(sel, ",")
	}
	return t, errTokenStale
}
