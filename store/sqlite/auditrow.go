package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"allot/audit"
)

// The audit log on SQLite keeps the entries of one tenant committed together
// as one row of audit_rows (docs/STORAGE.md, "The audit log on SQLite"): a
// commit of 64 membership changes writes one row and one key instead of 128
// rows and 128 keys. The row's data is this encoding, version 1:
//
//	row    = 'a' version(1) flags(0) uvarint(n) entry{n}
//	entry  = seq at actor action user group sku why detail
//	seq    = the first entry's: varint; later ones: uvarint(seq - previous seq), at least 1
//	at     = varint(microseconds since the Unix epoch - the previous entry's; the first's minus 0)
//	string = uvarint h: h even: h/2 bytes follow, a string the row has not had yet
//	         (or the empty string, h = 0); h odd: the (h-1)/2-th such string of the row
//
// Entries are in strictly increasing seq order. The encoding is canonical:
// the decoder refuses a non-minimal varint, a string written out again
// that a reference would name, an unknown version or flags, truncation and
// trailing bytes (FuzzDecodeAuditRow), so encode(decode(b)) == b.

const (
	auditRowTag     = 'a'
	auditRowVersion = 1
	// auditRowMax is the most entries a row holds: a larger commit writes
	// several rows, so that reading one entry never decodes a huge row.
	auditRowMax = 256
)

// auditRow is one decoded row: its tenant's entries in seq order.
type auditRow []audit.Entry

// encodeAuditRow encodes es, which must be in strictly increasing Seq order
// (TenantID is not stored: it is the row's column).
func encodeAuditRow(es []audit.Entry) []byte {
	b := make([]byte, 0, 64+len(es)*64)
	b = append(b, auditRowTag, auditRowVersion, 0)
	b = binary.AppendUvarint(b, uint64(len(es)))
	table := map[string]int{}
	str := func(s string) {
		if s == "" {
			b = append(b, 0)
			return
		}
		if k, ok := table[s]; ok {
			b = binary.AppendUvarint(b, uint64(2*k+1))
			return
		}
		table[s] = len(table)
		b = binary.AppendUvarint(b, uint64(2*len(s)))
		b = append(b, s...)
	}
	var prevSeq, prevAt int64
	for i, e := range es {
		if i == 0 {
			b = binary.AppendVarint(b, e.Seq)
		} else {
			b = binary.AppendUvarint(b, uint64(e.Seq-prevSeq))
		}
		at := micros(e.At)
		b = binary.AppendVarint(b, at-prevAt)
		prevSeq, prevAt = e.Seq, at
		for _, s := range [...]string{e.Actor, e.Action, e.UserID, e.GroupID, e.SKUID, e.Why, e.Detail} {
			str(s)
		}
	}
	return b
}

var errAuditRow = errors.New("store/sqlite: malformed audit row")

// auditRowReader decodes one row's bytes.
type auditRowReader struct {
	b     []byte // what is left to decode: a suffix of the row
	src   string // a copy of the whole row, which decoded strings are cut from
	table []string
	seen  map[string]bool
}

func (r *auditRowReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n != uvarintLen(v) {
		return 0, errAuditRow
	}
	r.b = r.b[n:]
	return v, nil
}

func (r *auditRowReader) varint() (int64, error) {
	v, n := binary.Varint(r.b)
	if n <= 0 || n != uvarintLen(uint64(v)<<1^uint64(v>>63)) {
		return 0, errAuditRow
	}
	r.b = r.b[n:]
	return v, nil
}

// uvarintLen is the length of v's minimal uvarint encoding (what
// binary.AppendUvarint writes), for the decoder's canonical check without
// an allocation per number.
func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

func (r *auditRowReader) str() (string, error) {
	h, err := r.uvarint()
	if err != nil {
		return "", err
	}
	if h%2 == 1 {
		k := (h - 1) / 2
		if k >= uint64(len(r.table)) {
			return "", errAuditRow
		}
		return r.table[k], nil
	}
	n := h / 2
	if n == 0 {
		return "", nil
	}
	if n > uint64(len(r.b)) {
		return "", errAuditRow
	}
	at := len(r.src) - len(r.b)
	s := r.src[at : at+int(n)] // of the row's copy: the caller may reuse b
	r.b = r.b[n:]
	if r.seen[s] {
		return "", errAuditRow // a repeat is written as a reference
	}
	r.seen[s] = true
	r.table = append(r.table, s)
	return s, nil
}

// decodeAuditRow decodes a row of tenantID. Decoded strings never alias
// b: they are cut from one copy of it (one allocation for the row's
// strings, which an entry's string keeps alive).
func decodeAuditRow(tenantID string, b []byte) (auditRow, error) {
	if len(b) < 3 || b[0] != auditRowTag {
		return nil, errAuditRow
	}
	if b[1] != auditRowVersion || b[2] != 0 {
		return nil, fmt.Errorf("store/sqlite: audit row version %d flags %d: unknown", b[1], b[2])
	}
	r := &auditRowReader{b: b[3:], src: string(b[3:]), seen: map[string]bool{}}
	n, err := r.uvarint()
	if err != nil || n == 0 || n > uint64(len(r.b))/9 {
		return nil, errAuditRow // an entry is at least 9 bytes
	}
	es := make(auditRow, n)
	var prevSeq, prevAt int64
	for i := range es {
		e := &es[i]
		e.TenantID = tenantID
		if i == 0 {
			if e.Seq, err = r.varint(); err != nil {
				return nil, err
			}
		} else {
			d, err := r.uvarint()
			if err != nil || d == 0 || d > uint64(1<<63-1-prevSeq) {
				return nil, errAuditRow
			}
			e.Seq = prevSeq + int64(d)
		}
		d, err := r.varint()
		if err != nil {
			return nil, err
		}
		at := prevAt + d
		if (d > 0 && at < prevAt) || (d < 0 && at > prevAt) {
			return nil, errAuditRow
		}
		e.At = fromMicros(at)
		prevSeq, prevAt = e.Seq, at
		for _, p := range [...]*string{&e.Actor, &e.Action, &e.UserID, &e.GroupID, &e.SKUID, &e.Why, &e.Detail} {
			if *p, err = r.str(); err != nil {
				return nil, err
			}
		}
	}
	if len(r.b) != 0 {
		return nil, errAuditRow
	}
	return es, nil
}
