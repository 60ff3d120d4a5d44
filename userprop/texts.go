package userprop

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"unsafe"
)

// Text names one of a user's optional profile texts: the String and Date
// properties with a field of their own that most users of a tenant leave
// unset or share (department, country, …). A User keeps them in one packed
// string instead of a string field each: ten string headers are 160 bytes
// of every user, set or not, which at a million users is 150 MB of the
// engine's memory; packed, a user pays 16 bytes plus its values.
type Text uint8

// The profile texts, in the order they are packed.
const (
	Department Text = iota
	JobTitle
	Country
	City
	CompanyName
	EmployeeID
	EmployeeHireDate // RFC 3339
	Mail
	GivenName
	Surname
	NTexts int = iota
)

// Texts is a value for every Text, indexed by Text ("" is unset).
type Texts [NTexts]string

// A packed profile (User.texts) is "" when every text is unset, else a
// 2-byte little-endian mask of the set texts followed by each set text in
// Text order as a uvarint length and its bytes. It is canonical: two users
// hold the same texts exactly when their packed strings are equal.

// Text returns the value of one profile text ("" when unset).
func (u *User) Text(k Text) string {
	p := u.texts
	if p == "" {
		return ""
	}
	mask := uint16(p[0]) | uint16(p[1])<<8
	if mask&(1<<k) == 0 {
		return ""
	}
	p = p[2:]
	for skip := bits.OnesCount16(mask & (1<<k - 1)); ; skip-- {
		n, w := uvarint(p)
		if skip == 0 {
			return p[w : w+n]
		}
		p = p[w+n:]
	}
}

// Texts returns every profile text.
func (u *User) Texts() Texts {
	var t Texts
	p := u.texts
	if p == "" {
		return t
	}
	mask := uint16(p[0]) | uint16(p[1])<<8
	p = p[2:]
	for k := range NTexts {
		if mask&(1<<k) != 0 {
			n, w := uvarint(p)
			t[k], p = p[w:w+n], p[w+n:]
		}
	}
	return t
}

// SetText sets one profile text ("" unsets it). It packs the profile
// anew: a caller that sets several sets them at once with SetTexts.
func (u *User) SetText(k Text, v string) {
	if u.Text(k) == v {
		return
	}
	t := u.Texts()
	t[k] = v
	u.SetTexts(&t)
}

// SetTexts sets every profile text.
func (u *User) SetTexts(t *Texts) {
	if *t == (Texts{}) {
		u.texts = ""
		return
	}
	n := 2
	for _, v := range t {
		if v != "" {
			n += uvarintLen(len(v)) + len(v)
		}
	}
	b := AppendTexts(make([]byte, 0, n), t)
	u.texts = unsafe.String(unsafe.SliceData(b), len(b)) // b is not written again
}

func uvarintLen(n int) int {
	w := 1
	for ; n >= 0x80; n >>= 7 {
		w++
	}
	return w
}

// AppendTexts appends the packed form of t to dst (nothing when every
// text is unset): for a caller that keeps the packed strings of many users
// in one block (SetPackedTexts).
func AppendTexts(dst []byte, t *Texts) []byte {
	var mask uint16
	for k, v := range t {
		if v != "" {
			mask |= 1 << k
		}
	}
	if mask == 0 {
		return dst
	}
	dst = binary.LittleEndian.AppendUint16(dst, mask)
	for _, v := range t {
		if v != "" {
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			dst = append(dst, v...)
		}
	}
	return dst
}

var errPacked = errors.New("userprop: not a packed profile")

// SetPackedTexts sets every profile text from p, a packed form that
// AppendTexts wrote. p is checked (an error changes nothing), and kept,
// not copied.
func (u *User) SetPackedTexts(p string) error {
	if p == "" {
		u.texts = ""
		return nil
	}
	if len(p) < 2 {
		return errPacked
	}
	mask := uint16(p[0]) | uint16(p[1])<<8
	if mask == 0 || mask>>NTexts != 0 {
		return errPacked
	}
	q := p[2:]
	for range bits.OnesCount16(mask) {
		n, w := uvarintChecked(q)
		if w <= 0 || n == 0 || n > len(q)-w {
			return errPacked
		}
		q = q[w+n:]
	}
	if q != "" {
		return errPacked
	}
	u.texts = p
	return nil
}

// PackedTexts is the user's packed profile (see SetPackedTexts).
func (u *User) PackedTexts() string { return u.texts }

// uvarint reads a length that AppendTexts wrote.
func uvarint(p string) (n, w int) {
	var x uint64
	var s uint
	for i := 0; i < len(p); i++ {
		b := p[i]
		if b < 0x80 {
			return int(x | uint64(b)<<s), i + 1
		}
		x |= uint64(b&0x7f) << s
		s += 7
	}
	return 0, len(p)
}

// uvarintChecked is uvarint for untrusted input: w ≤ 0 when p does not
// start with a canonical uvarint below 2³¹.
func uvarintChecked(p string) (n, w int) {
	var x uint64
	for i := 0; i < len(p) && i < 5; i++ {
		b := p[i]
		x |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			if (b == 0 && i > 0) || x >= 1<<31 {
				return 0, -1
			}
			return int(x), i + 1
		}
	}
	return 0, -1
}

// Profile texts by name, for the accessors below.

func (u *User) Department() string       { return u.Text(Department) }
func (u *User) JobTitle() string         { return u.Text(JobTitle) }
func (u *User) Country() string          { return u.Text(Country) }
func (u *User) City() string             { return u.Text(City) }
func (u *User) CompanyName() string      { return u.Text(CompanyName) }
func (u *User) EmployeeID() string       { return u.Text(EmployeeID) }
func (u *User) EmployeeHireDate() string { return u.Text(EmployeeHireDate) }
func (u *User) Mail() string             { return u.Text(Mail) }
func (u *User) GivenName() string        { return u.Text(GivenName) }
func (u *User) Surname() string          { return u.Text(Surname) }

// With returns a copy of u with the profile text k set to v: for building
// a user in an expression (u := userprop.User{ID: …}.With(userprop.Mail, m)).
func (u User) With(k Text, v string) User {
	u.SetText(k, v)
	return u
}
