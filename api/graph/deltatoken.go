package graph

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
)

// A delta state token ($skiptoken of an @odata.nextLink, $deltatoken of
// an @odata.deltaLink) is opaque to clients: base64url of
//
//	version(1) kind(1) phase(1) process(8) epoch(8) seq(8)
//	cursorSeq(8) len+cursorID len+select selectSet(1) mac(16)
//
// The MAC (HMAC-SHA-256, truncated to 16 bytes) covers the tenant's id and
// every byte before it, under a key drawn at random when the process
// starts: a token is bound to its tenant, and any change to it is
// detected. A token of an earlier process cannot be verified, and its
// change history is gone with that process (the directory index keeps it
// in memory), so it is answered with the resync answer, never with data.
type deltaToken struct {
	kind  byte // 'u' users, 'g' groups
	phase byte // 'i' initial round (walk by id), 'c' changes round (walk by change number), 'l' deltaLink
	proc  uint64
	epoch uint64 // the directory index's build (directory.Index.Epoch)
	// seq: in the initial round, the number the round started at; in a
	// changes round and in a deltaLink, the number the client is
	// synchronised to (changes after it are sent).
	seq uint64
	// The cursor: the last object sent (initial: its id; changes round:
	// its change key).
	curSeq uint64
	curID  string
	sel    []string // $select of the first request (nil: none)
	// memAfter (groups): the object at the cursor was sent with part of
	// its members@delta, up to this member id; the next page sends it
	// again with the members after it, then the objects after the cursor.
	memAfter string
}

const (
	deltaTokenVersion = 1
	macLen            = 16
)

// Process identity and key of the delta tokens (see deltaToken).
var deltaProc, deltaKey = func() (uint64, []byte) {
	b := make([]byte, 40)
	if _, err := rand.Read(b); err != nil {
		panic("graph: no randomness for the delta token key: " + err.Error())
	}
	return binary.BigEndian.Uint64(b[:8]) | 1, b[8:]
}()

func deltaMAC(tenantID string, payload []byte) []byte {
	m := hmac.New(sha256.New, deltaKey)
	m.Write([]byte(tenantID))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)[:macLen]
}

func (t *deltaToken) encode(tenantID string) string {
	b := []byte{deltaTokenVersion, t.kind, t.phase}
	b = binary.BigEndian.AppendUint64(b, t.proc)
	b = binary.BigEndian.AppendUint64(b, t.epoch)
	b = binary.BigEndian.AppendUint64(b, t.seq)
	b = binary.BigEndian.AppendUint64(b, t.curSeq)
	b = binary.AppendUvarint(b, uint64(len(t.curID)))
	b = append(b, t.curID...)
	sel := strings.Join(t.sel, ",")
	b = binary.AppendUvarint(b, uint64(len(sel)))
	b = append(b, sel...)
	if t.sel != nil {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	if t.memAfter != "" {
		b = binary.AppendUvarint(b, uint64(len(t.memAfter)))
		b = append(b, t.memAfter...)
	}
	b = append(b, deltaMAC(tenantID, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

var (
	errTokenInvalid = errors.New("invalid delta token")
	// errTokenStale: a well-formed token this process cannot serve.
	errTokenStale = errors.New("stale delta token")
)

// decodeDeltaToken reads a token: errTokenInvalid when it is not one of
// ours for this tenant (malformed, or changed: 400), errTokenStale when it
// was issued by an earlier process (resync).
func decodeDeltaToken(s, tenantID string) (*deltaToken, error) {
	if len(s) > 8192 {
		return nil, errTokenInvalid
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 3+8*4+2+1+macLen || b[0] != deltaTokenVersion {
		return nil, errTokenInvalid
	}
	payload, mac := b[:len(b)-macLen], b[len(b)-macLen:]
	t := &deltaToken{kind: b[1], phase: b[2]}
	p := b[3:]
	t.proc = binary.BigEndian.Uint64(p)
	t.epoch = binary.BigEndian.Uint64(p[8:])
	t.seq = binary.BigEndian.Uint64(p[16:])
	t.curSeq = binary.BigEndian.Uint64(p[24:])
	p = p[32 : len(p)-macLen]
	str := func() (string, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return "", false
		}
		v := string(p[k : k+int(n)])
		p = p[k+int(n):]
		return v, true
	}
	id, ok1 := str()
	sel, ok2 := str()
	if !ok1 || !ok2 || len(p) < 1 || p[0] > 1 {
		return nil, errTokenInvalid
	}
	hasSel := p[0] == 1
	p = p[1:]
	if len(p) > 0 { // memAfter (written only when set)
		m, ok := str()
		if !ok || m == "" || len(p) != 0 || b[1] != 'g' || b[2] == 'l' {
			return nil, errTokenInvalid
		}
		t.memAfter = m
	}
	if t.kind != 'u' && t.kind != 'g' || t.phase != 'i' && t.phase != 'c' && t.phase != 'l' {
		return nil, errTokenInvalid
	}
	t.curID = id
	if hasSel {
		t.sel = strings.Split(sel, ",")
	}
	if t.proc != deltaProc {
		return t, errTokenStale // t: what it says, unverified
	}
	if !hmac.Equal(mac, deltaMAC(tenantID, payload)) {
		return nil, errTokenInvalid
	}
	return t, nil
}
