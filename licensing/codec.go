package licensing

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
	"unsafe"

	"allot/internal/blocks"
	"allot/userprop"
)

// The binary record format: the stored bodies of the engine's records
// (User, Group, LicenseSource, License), smaller and several times
// faster to write and read than their JSON. docs/STORAGE.md describes it
// too; the two descriptions and the code change together.
//
// A body is the format byte BinaryFormat (0x01; a JSON body starts with
// '{' or white space, so readers tell the two apart by the first byte)
// followed by one record:
//
//	record  = bitmap field*     one field per bit set, in bit order
//	bitmap  = uvarint           bit i set: field i is present (see below)
//
// A field is present when its value is not the zero value: a string is
// not "", a bool is true (a bool has no payload: the bit is its value), a
// time is not the zero time, a list marked "≥1" has elements. A list
// marked "nil/empty" is present when it is not nil, so that nil and empty
// stay apart where JSON keeps them apart (`"disabledPlans":[]` vs null).
// Values:
//
//	uvarint, varint  encoding/binary's (varint zig-zag), minimal length
//	string   uvarint h, then: h even: h/2 raw bytes;
//	                          h = 1:  16 bytes, a GUID written in its
//	                                  canonical form (lower-case hex
//	                                  8-4-4-4-12) and read back as that;
//	                          h = 3+2k: word k of the dictionary (words)
//	list     uvarint n, then n elements
//	map      uvarint n ≥ 1, then n (key string, value string), keys in
//	         strictly increasing byte order
//	time     flags byte (bits: 1 seconds, 2 nanoseconds, 4 UTC offset),
//	         then the varints flagged: seconds − previous seconds,
//	         nanoseconds − previous nanoseconds, the UTC offset in seconds.
//	         "previous" is the record's previous time (2025-01-01T00:00:00Z
//	         before its first), so the times of one record — often equal —
//	         take one byte each after the first. A time with offset 0 reads
//	         back in UTC; another offset in time.Local when that is Local's
//	         offset at the time, else in an unnamed fixed zone (what
//	         time.Time's JSON does). An Instant is a time with offset 0.
//
// Fields, by bit:
//
//	User           0 ID, 1 UserPrincipalName, 2 DisplayName, 3 AccountEnabled,
//	               4 UserType, 5 UsageLocation, 6 Kind, 7 CreatedAt, 8 Mail,
//	               9 GivenName, 10 Surname, 11 Department, 12 JobTitle,
//	               13 Country, 14 City, 15 CompanyName, 16 EmployeeID,
//	               17 EmployeeHireDate, 18 ProxyAddresses (list ≥1),
//	               19 OtherMails (list ≥1), 20 Attributes (map)
//	Group          0 ID, 1 DisplayName, 2 MailEnabled, 3 SecurityEnabled,
//	               4 CreatedAt, 5 Description, 6 MailNickname,
//	               7 GroupTypes (list ≥1), 8 MembershipRule,
//	               9 MembershipRuleProcessingState, 10 AssignmentMode
//	LicenseSource  0 SKUID, 1 AllotmentID, 2 DisabledPlans (list nil/empty),
//	               3 AssignedAt
//	License        0 UserID, 1 SKUID, 2 Claimed, 3 Since, 4 Held,
//	               5 HeldSince, 6 Sources (list nil/empty of SourceState),
//	               7 AllotmentID, 8 Retained (list ≥1 of SourceState),
//	               9 GrantedAt
//	SourceState    (a record without format byte) 0 State, 1 Error,
//	               2 LastUpdated, 3 AssignedAt, 4 AppliesSince,
//	               5 DisabledPlans (list nil/empty), 6 AssignedByGroup,
//	               7 AllotmentID, 8 KeptReason, 9 KeptReplacedBy (list ≥1);
//	               KeptState is non-nil when bit 8 or 9 is set
//
// The encoding is canonical: a value has exactly one encoding, and the
// decoders refuse any other (a non-minimal varint, a present field with
// the zero value, a raw string that is a dictionary word or a canonical
// GUID, unsorted map keys, unknown bits, trailing bytes), so that
// encode(decode(b)) == b for every body that decodes. Every value
// round-trips exactly, including strings that are not UTF-8 (JSON
// replaces those) and times JSON cannot write (years outside 0–9999);
// zone names and monotonic clock readings are dropped, as in JSON.
// Decoded strings never alias the body (the caller may reuse it): a
// record's raw strings share one copy of it, GUIDs and dictionary words
// are strings of their own.
//
// A change of the format — a field added, a dictionary word added, a
// field's encoding changed — is a new format byte, and the decoders keep
// reading the old ones. TestBinaryCodecKnowsEveryField fails when one of
// these types gains a field the codec does not write.

// BinaryFormat is the first byte of a body in the binary record format
// (version 1).
const BinaryFormat byte = 0x01

// IsBinary reports whether a stored body is in the binary record format;
// bodies written before it are JSON.
func IsBinary(body []byte) bool { return len(body) > 0 && body[0] == BinaryFormat }

// words is the dictionary of format 1: the engine's vocabulary, written as
// one byte. Frozen: changing it is a new format.
var words = [...]string{
	"Active", "ActiveWithError", "Disabled", "Error", // the source states (SourceStatus)
	"None", "CountViolation", "MutuallyExclusiveViolation", "DependencyViolation", // the source errors (SourceErrorCode)
	"ProhibitedInUsageLocationViolation", "UniquenessViolation", "Other",
	ModePerProduct, ModeAllOrNone,
	KindPerson, KindSharedMailbox, KindServiceAccount, KindRoom,
	"Member", "Guest",
	KeptForDependency, KeptForReplacement,
	"DynamicMembership", "Unified", "On", "Paused",
}

// wordsByLen lists the indexes of the words of each length (all are
// shorter than its length).
var wordsByLen = func() (t [40][]uint8) {
	for i, w := range words {
		t[len(w)] = append(t[len(w)], uint8(i))
	}
	return t
}()

// wordOf is the index of the dictionary word s (a string, or bytes of a
// body being decoded), without hashing s: the words are few, and most
// strings a record holds have no word's length or differ from it at once.
func wordOf[S ~string | ~[]byte](s S) (int, bool) {
	if len(s) >= len(wordsByLen) {
		return 0, false
	}
	for _, k := range wordsByLen[len(s)] {
		if words[k] == string(s) {
			return int(k), true
		}
	}
	return 0, false
}

// timeBase is the "previous time" before a record's first (2025-01-01).
const timeBase = 1735689600

// zeroUnix is the zero time's Unix seconds.
var zeroUnix = time.Time{}.Unix()

// Bits of the records' fields (see the format above).
const (
	userID = 1 << iota
	userUPN
	userDisplayName
	userAccountEnabled
	userUserType
	userUsageLocation
	userKind
	userCreatedAt
	userMail
	userGivenName
	userSurname
	userDepartment
	userJobTitle
	userCountry
	userCity
	userCompanyName
	userEmployeeID
	userEmployeeHireDate
	userProxyAddresses
	userOtherMails
	userAttributes
	userBits = 1<<iota - 1

	// userTexts is the bits of the profile texts (userprop.Text).
	userTexts = userMail | userGivenName | userSurname | userDepartment | userJobTitle | userCountry | userCity |
		userCompanyName | userEmployeeID | userEmployeeHireDate
)

const (
	groupID = 1 << iota
	groupDisplayName
	groupMailEnabled
	groupSecurityEnabled
	groupCreatedAt
	groupDescription
	groupMailNickname
	groupGroupTypes
	groupMembershipRule
	groupMembershipRuleProcessingState
	groupAssignmentMode
	groupBits = 1<<iota - 1
)

const (
	lsSKUID = 1 << iota
	lsAllotmentID
	lsDisabledPlans
	lsAssignedAt
	lsBits = 1<<iota - 1
)

const (
	licUserID = 1 << iota
	licSKUID
	licClaimed
	licSince
	licHeld
	licHeldSince
	licSources
	licAllotmentID
	licRetained
	licGrantedAt
	licBits = 1<<iota - 1
)

const (
	ssState = 1 << iota
	ssError
	ssLastUpdated
	ssAssignedAt
	ssAppliesSince
	ssDisabledPlans
	ssAssignedByGroup
	ssAllotmentID
	ssKept
	ssReplacedBy
	ssBits = 1<<iota - 1
)

// AppendUserBinary appends u's binary body to dst.
func AppendUserBinary(dst []byte, u *User) []byte {
	var m uint64
	set := func(bit uint64, on bool) {
		if on {
			m |= bit
		}
	}
	set(userID, u.ID != "")
	set(userUPN, u.UserPrincipalName != "")
	set(userDisplayName, u.DisplayName != "")
	set(userAccountEnabled, u.AccountEnabled)
	set(userUserType, u.UserType != "")
	set(userUsageLocation, u.UsageLocation != "")
	set(userKind, u.Kind != "")
	set(userCreatedAt, !isZeroTime(u.CreatedAt))
	t := u.Texts()
	set(userMail, t[userprop.Mail] != "")
	set(userGivenName, t[userprop.GivenName] != "")
	set(userSurname, t[userprop.Surname] != "")
	set(userDepartment, t[userprop.Department] != "")
	set(userJobTitle, t[userprop.JobTitle] != "")
	set(userCountry, t[userprop.Country] != "")
	set(userCity, t[userprop.City] != "")
	set(userCompanyName, t[userprop.CompanyName] != "")
	set(userEmployeeID, t[userprop.EmployeeID] != "")
	set(userEmployeeHireDate, t[userprop.EmployeeHireDate] != "")
	proxy, other := u.ProxyAddresses(), u.OtherMails()
	set(userProxyAddresses, len(proxy) > 0)
	set(userOtherMails, len(other) > 0)
	set(userAttributes, len(u.Attributes) > 0)
	e := encoder{b: append(dst, BinaryFormat), sec: timeBase}
	e.uvarint(m)
	e.strIf(m&userID, u.ID)
	e.strIf(m&userUPN, u.UserPrincipalName)
	e.strIf(m&userDisplayName, u.DisplayName)
	e.strIf(m&userUserType, u.UserType)
	e.strIf(m&userUsageLocation, u.UsageLocation)
	e.strIf(m&userKind, u.Kind)
	if m&userCreatedAt != 0 {
		e.time(u.CreatedAt)
	}
	e.strIf(m&userMail, t[userprop.Mail])
	e.strIf(m&userGivenName, t[userprop.GivenName])
	e.strIf(m&userSurname, t[userprop.Surname])
	e.strIf(m&userDepartment, t[userprop.Department])
	e.strIf(m&userJobTitle, t[userprop.JobTitle])
	e.strIf(m&userCountry, t[userprop.Country])
	e.strIf(m&userCity, t[userprop.City])
	e.strIf(m&userCompanyName, t[userprop.CompanyName])
	e.strIf(m&userEmployeeID, t[userprop.EmployeeID])
	e.strIf(m&userEmployeeHireDate, t[userprop.EmployeeHireDate])
	e.strsIf(m&userProxyAddresses, proxy)
	e.strsIf(m&userOtherMails, other)
	if m&userAttributes != 0 {
		e.strMap(u.Attributes)
	}
	return e.b
}

// DecodeUser decodes a binary user body (AppendUserBinary).
func DecodeUser(b []byte) (User, error) {
	var u User
	err := decodeUserInto(b, &u)
	return u, err
}

// decodeUserInto is DecodeUser into *u, which must be the zero User (a
// User is large: decoded in place, it is not copied into the record that
// keeps it). On an error *u is the zero User.
func decodeUserInto(b []byte, u *User) error { return decodeUserBlocks(b, u, nil, nil) }

// decodeUserBlocks is decodeUserInto with the record's text and GUIDs
// carved from the blocks texts and guids when they are not nil (a
// UserDecoder's: blockText, blockGUID).
func decodeUserBlocks(b []byte, u *User, texts, guids *[]byte) error {
	d, err := newDecoder(b)
	if err != nil {
		return fmt.Errorf("user: %w", err)
	}
	d.texts, d.guids = texts, guids
	m := d.bitmap(userBits)
	u.ID = d.strIf(m & userID)
	u.UserPrincipalName = d.strIf(m & userUPN)
	u.DisplayName = d.strIf(m & userDisplayName)
	u.AccountEnabled = m&userAccountEnabled != 0
	u.UserType = d.strIf(m & userUserType)
	u.UsageLocation = d.strIf(m & userUsageLocation)
	u.Kind = d.strIf(m & userKind)
	if m&userCreatedAt != 0 {
		u.CreatedAt = d.time()
	}
	if m&userTexts != 0 {
		var t userprop.Texts
		t[userprop.Mail] = d.strIf(m & userMail)
		t[userprop.GivenName] = d.strIf(m & userGivenName)
		t[userprop.Surname] = d.strIf(m & userSurname)
		t[userprop.Department] = d.strIf(m & userDepartment)
		t[userprop.JobTitle] = d.strIf(m & userJobTitle)
		t[userprop.Country] = d.strIf(m & userCountry)
		t[userprop.City] = d.strIf(m & userCity)
		t[userprop.CompanyName] = d.strIf(m & userCompanyName)
		t[userprop.EmployeeID] = d.strIf(m & userEmployeeID)
		t[userprop.EmployeeHireDate] = d.strIf(m & userEmployeeHireDate)
		// The packed profile is carved from the decoder's block, as the
		// record's other strings are (a user costs no allocation of its
		// own for it).
		var buf [256]byte
		if err := u.SetPackedTexts(blocks.Text(texts, userprop.AppendTexts(buf[:0], &t))); err != nil {
			d.fail(err)
		}
	}
	if m&(userProxyAddresses|userOtherMails) != 0 {
		var proxy, other []string
		if m&userProxyAddresses != 0 {
			proxy = d.strs(1)
		}
		if m&userOtherMails != 0 {
			other = d.strs(1)
		}
		u.SetLists(proxy, other)
	}
	if m&userAttributes != 0 {
		u.Attributes = d.strMap()
	}
	if err := d.finish(); err != nil {
		*u = User{}
		return fmt.Errorf("user: %w", err)
	}
	return nil
}

// AppendGroupBinary appends g's binary body to dst.
func AppendGroupBinary(dst []byte, g *Group) []byte {
	var m uint64
	set := func(bit uint64, on bool) {
		if on {
			m |= bit
		}
	}
	set(groupID, g.ID != "")
	set(groupDisplayName, g.DisplayName != "")
	set(groupMailEnabled, g.MailEnabled)
	set(groupSecurityEnabled, g.SecurityEnabled)
	set(groupCreatedAt, !isZeroTime(g.CreatedAt))
	set(groupDescription, g.Description != "")
	set(groupMailNickname, g.MailNickname != "")
	set(groupGroupTypes, len(g.GroupTypes) > 0)
	set(groupMembershipRule, g.MembershipRule != "")
	set(groupMembershipRuleProcessingState, g.MembershipRuleProcessingState != "")
	set(groupAssignmentMode, g.AssignmentMode != "")
	e := encoder{b: append(dst, BinaryFormat), sec: timeBase}
	e.uvarint(m)
	e.strIf(m&groupID, g.ID)
	e.strIf(m&groupDisplayName, g.DisplayName)
	if m&groupCreatedAt != 0 {
		e.time(g.CreatedAt)
	}
	e.strIf(m&groupDescription, g.Description)
	e.strIf(m&groupMailNickname, g.MailNickname)
	e.strsIf(m&groupGroupTypes, g.GroupTypes)
	e.strIf(m&groupMembershipRule, g.MembershipRule)
	e.strIf(m&groupMembershipRuleProcessingState, g.MembershipRuleProcessingState)
	e.strIf(m&groupAssignmentMode, g.AssignmentMode)
	return e.b
}

// DecodeGroup decodes a binary group body (AppendGroupBinary).
func DecodeGroup(b []byte) (Group, error) {
	var g Group
	d, err := newDecoder(b)
	if err != nil {
		return g, fmt.Errorf("group: %w", err)
	}
	m := d.bitmap(groupBits)
	g.ID = d.strIf(m & groupID)
	g.DisplayName = d.strIf(m & groupDisplayName)
	g.MailEnabled = m&groupMailEnabled != 0
	g.SecurityEnabled = m&groupSecurityEnabled != 0
	if m&groupCreatedAt != 0 {
		g.CreatedAt = d.time()
	}
	g.Description = d.strIf(m & groupDescription)
	g.MailNickname = d.strIf(m & groupMailNickname)
	if m&groupGroupTypes != 0 {
		g.GroupTypes = d.strs(1)
	}
	g.MembershipRule = d.strIf(m & groupMembershipRule)
	g.MembershipRuleProcessingState = d.strIf(m & groupMembershipRuleProcessingState)
	g.AssignmentMode = d.strIf(m & groupAssignmentMode)
	if err := d.finish(); err != nil {
		return Group{}, fmt.Errorf("group: %w", err)
	}
	return g, nil
}

// AppendLicenseSourceBinary appends s's binary body to dst.
func AppendLicenseSourceBinary(dst []byte, s *LicenseSource) []byte {
	var m uint64
	if s.SKUID != "" {
		m |= lsSKUID
	}
	if s.AllotmentID != "" {
		m |= lsAllotmentID
	}
	if s.DisabledPlans != nil {
		m |= lsDisabledPlans
	}
	if !isZeroTime(s.AssignedAt) {
		m |= lsAssignedAt
	}
	e := encoder{b: append(dst, BinaryFormat), sec: timeBase}
	e.uvarint(m)
	e.strIf(m&lsSKUID, s.SKUID)
	e.strIf(m&lsAllotmentID, s.AllotmentID)
	e.strsIf(m&lsDisabledPlans, s.DisabledPlans)
	if m&lsAssignedAt != 0 {
		e.time(s.AssignedAt)
	}
	return e.b
}

// DecodeLicenseSource decodes a binary license source body
// (AppendLicenseSourceBinary).
func DecodeLicenseSource(b []byte) (LicenseSource, error) {
	var s LicenseSource
	d, err := newDecoder(b)
	if err != nil {
		return s, fmt.Errorf("license source: %w", err)
	}
	m := d.bitmap(lsBits)
	s.SKUID = d.strIf(m & lsSKUID)
	s.AllotmentID = d.strIf(m & lsAllotmentID)
	if m&lsDisabledPlans != 0 {
		s.DisabledPlans = d.strs(0)
	}
	if m&lsAssignedAt != 0 {
		s.AssignedAt = d.time()
	}
	if err := d.finish(); err != nil {
		return LicenseSource{}, fmt.Errorf("license source: %w", err)
	}
	return s, nil
}

// AppendLicenseBinary appends l's binary body to dst.
func AppendLicenseBinary(dst []byte, l *License) []byte {
	var m uint64
	set := func(bit uint64, on bool) {
		if on {
			m |= bit
		}
	}
	set(licUserID, l.UserID != "")
	set(licSKUID, l.SKUID != "")
	set(licClaimed, l.Claimed)
	set(licSince, !l.Since.IsZero())
	set(licHeld, l.Held)
	set(licHeldSince, !l.HeldSince.IsZero())
	set(licSources, l.Sources != nil)
	set(licAllotmentID, l.AllotmentID != "")
	set(licRetained, len(l.Retained()) > 0)
	set(licGrantedAt, !l.GrantedAt.IsZero())
	e := encoder{b: append(dst, BinaryFormat), sec: timeBase}
	e.uvarint(m)
	e.strIf(m&licUserID, l.UserID)
	e.strIf(m&licSKUID, l.SKUID)
	if m&licSince != 0 {
		e.instant(l.Since)
	}
	if m&licHeldSince != 0 {
		e.instant(l.HeldSince)
	}
	if m&licSources != 0 {
		e.sourceStates(l.Sources)
	}
	e.strIf(m&licAllotmentID, l.AllotmentID)
	if m&licRetained != 0 {
		e.sourceStates(l.Retained())
	}
	if m&licGrantedAt != 0 {
		e.instant(l.GrantedAt)
	}
	return e.b
}

// DecodeLicense decodes a binary license body (AppendLicenseBinary).
func DecodeLicense(b []byte) (License, error) {
	l, _, err := decodeLicense(b)
	return l, err
}

// decodeLicense is DecodeLicense, and how many of the record's dates were
// written with a UTC offset (not canonical any more: AppendLicenseBinary
// writes them in UTC).
func decodeLicense(b []byte) (License, int, error) { return decodeLicenseShared(b, nil) }

// decodeLicenseShared is decodeLicense taking the strings of the GUIDs
// that repeat across records (product, allotment, a source's group and
// allotment) from shared, and keeping new ones there (nil: none).
func decodeLicenseShared(b []byte, shared map[[16]byte]string) (License, int, error) {
	var l License
	offsets, err := decodeLicenseInto(b, shared, nil, nil, &l.UserID, &l.SKUID, &l.AllotmentID, &l.LicenseState)
	return l, offsets, err
}

// decodeLicenseInto is decodeLicenseShared into the ids and *l, which
// must be zero (decoded in place, not copied into the record that keeps
// it), with the user's id written into the block userIDs when not nil
// (blockStrIf). On an error they are zero.
func decodeLicenseInto(b []byte, shared map[[16]byte]string, userIDs *[]byte, states *[]SourceState, userID, skuID, allotmentID *string, l *LicenseState) (int, error) {
	d, err := newDecoder(b)
	if err != nil {
		return 0, fmt.Errorf("license: %w", err)
	}
	d.shared, d.states = shared, states
	m := d.bitmap(licBits)
	*userID = d.blockStrIf(m&licUserID, userIDs)
	*skuID = d.sharedStrIf(m & licSKUID)
	l.Claimed = m&licClaimed != 0
	if m&licSince != 0 {
		l.Since = d.instantUTC()
	}
	l.Held = m&licHeld != 0
	if m&licHeldSince != 0 {
		l.HeldSince = d.instantUTC()
	}
	if m&licSources != 0 {
		l.Sources = d.sourceStates(0)
	}
	*allotmentID = d.sharedStrIf(m & licAllotmentID)
	if m&licRetained != 0 {
		l.KeptSources = &KeptSources{Kept: d.sourceStates(1)}
	}
	if m&licGrantedAt != 0 {
		l.GrantedAt = d.instantUTC()
	}
	if err := d.finish(); err != nil {
		*userID, *skuID, *allotmentID, *l = "", "", "", LicenseState{}
		return 0, fmt.Errorf("license: %w", err)
	}
	return d.offsets, nil
}

// isZeroTime reports whether t is absent from a body: the zero time in
// UTC (what the zero time.Time reads back as from JSON too).
func isZeroTime(t time.Time) bool {
	if !t.IsZero() {
		return false
	}
	_, off := t.Zone()
	return off == 0
}

// encoder appends a record to b.
type encoder struct {
	b    []byte
	sec  int64 // the previous time of the record
	nsec int64
}

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }

func (e *encoder) varint(v int64) { e.b = binary.AppendVarint(e.b, v) }

func (e *encoder) str(s string) {
	if len(s) == 36 {
		if g, ok := parseGUID(s); ok {
			e.b = append(e.b, 1)
			e.b = append(e.b, g[:]...)
			return
		}
	}
	if k, ok := wordOf(s); ok {
		e.uvarint(uint64(3 + 2*k))
		return
	}
	e.uvarint(uint64(len(s)) << 1)
	e.b = append(e.b, s...)
}

func (e *encoder) strIf(bit uint64, s string) {
	if bit != 0 {
		e.str(s)
	}
}

func (e *encoder) strsIf(bit uint64, ss []string) {
	if bit == 0 {
		return
	}
	e.uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func (e *encoder) strMap(m map[string]string) {
	var buf [16]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.uvarint(uint64(len(keys)))
	for _, k := range keys {
		e.str(k)
		e.str(m[k])
	}
}

func (e *encoder) time(t time.Time) {
	_, off := t.Zone()
	e.moment(t.Unix(), int64(t.Nanosecond()), off)
}

func (e *encoder) instant(i Instant) {
	t := i.Time()
	e.moment(t.Unix(), int64(t.Nanosecond()), 0)
}

func (e *encoder) moment(sec, nsec int64, off int) {
	ds, dn := sec-e.sec, nsec-e.nsec
	var flags byte
	if ds != 0 {
		flags |= 1
	}
	if dn != 0 {
		flags |= 2
	}
	if off != 0 {
		flags |= 4
	}
	e.b = append(e.b, flags)
	if ds != 0 {
		e.varint(ds)
	}
	if dn != 0 {
		e.varint(dn)
	}
	if off != 0 {
		e.varint(int64(off))
	}
	e.sec, e.nsec = sec, nsec
}

func (e *encoder) sourceStates(ss []SourceState) {
	e.uvarint(uint64(len(ss)))
	for i := range ss {
		e.sourceState(&ss[i])
	}
}

func (e *encoder) sourceState(s *SourceState) {
	var m uint64
	set := func(bit uint64, on bool) {
		if on {
			m |= bit
		}
	}
	set(ssState, s.State != StateUnset)
	set(ssError, s.Error != ErrUnset)
	set(ssLastUpdated, !s.LastUpdated.IsZero())
	set(ssAssignedAt, !s.AssignedAt.IsZero())
	set(ssAppliesSince, s.AppliesSince != 0)
	set(ssDisabledPlans, s.DisabledPlans != nil)
	set(ssAssignedByGroup, s.AssignedByGroup != "")
	set(ssKept, s.KeptReason() != "")
	set(ssReplacedBy, len(s.KeptReplacedBy()) > 0)
	e.uvarint(m)
	e.strIf(m&ssState, s.State.String())
	e.strIf(m&ssError, s.Error.String())
	if m&ssLastUpdated != 0 {
		e.instant(s.LastUpdated)
	}
	if m&ssAssignedAt != 0 {
		e.instant(s.AssignedAt)
	}
	if m&ssAppliesSince != 0 {
		e.instant(s.AppliesSince)
	}
	e.strsIf(m&ssDisabledPlans, s.DisabledPlans)
	e.strIf(m&ssAssignedByGroup, s.AssignedByGroup)
	e.strIf(m&ssKept, s.KeptReason())
	e.strsIf(m&ssReplacedBy, s.KeptReplacedBy())
}

// errTruncated is a body that ends inside a value.
var errTruncated = errors.New("truncated body")

// decoder reads a record from b. The first error sticks: later reads
// return zero values, and finish reports it.
type decoder struct {
	b    []byte
	i    int
	err  error
	sec  int64 // the previous time of the record
	nsec int64
	// text is a copy of the body, made for the record's first raw string:
	// its raw strings are parts of it (one allocation instead of one per
	// string, and none of them aliases the body).
	text string
	// offsets counts what a record holds in a legacy form, which encodes
	// anew differently: Instants read from times written with a UTC
	// offset (instantUTC), and source states that name their allotment.
	offsets int
	// shared, when set, keeps the strings of GUIDs read by sharedStrIf
	// (a LicenseDecoder's, across its records).
	shared map[[16]byte]string
	// guids, when set, is the block the GUIDs read by blockStrIf are
	// written into (blockGUID).
	guids *[]byte
	// texts, when set, is the block the record's text copy is carved from
	// (blockText) instead of an allocation of its own.
	texts *[]byte
	// states, when set, is the block the record's lists of source states
	// are carved from (sourceStates) instead of an allocation each: at a
	// million users a load's license records hold 2.7 million of them,
	// 46 % of the objects the collector marks once the tenant is loaded.
	states *[]SourceState
}

// stateBlock is how many source states a block of decoder.states holds.
const stateBlock = 512

// blockText copies the body into d.texts, a block shared by the records
// of one decoder (blocks.Text), and returns the copy.
func (d *decoder) blockText() string { return blocks.Text(d.texts, d.b) }

func newDecoder(b []byte) (decoder, error) {
	if len(b) == 0 {
		return decoder{}, errors.New("empty body")
	}
	if b[0] != BinaryFormat {
		return decoder{}, fmt.Errorf("body format %#02x is not the binary format %#02x", b[0], BinaryFormat)
	}
	return decoder{b: b, i: 1, sec: timeBase}, nil
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("byte %d: %w", d.i, err)
	}
	d.i = len(d.b)
}

func (d *decoder) finish() error {
	if d.err != nil {
		return d.err
	}
	if d.i != len(d.b) {
		return fmt.Errorf("%d trailing bytes after the record", len(d.b)-d.i)
	}
	return nil
}

func (d *decoder) left() int { return len(d.b) - d.i }

func (d *decoder) byte() byte {
	if d.i >= len(d.b) {
		d.fail(errTruncated)
		return 0
	}
	c := d.b[d.i]
	d.i++
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.i:])
	switch {
	case n == 0:
		d.fail(errTruncated)
		return 0
	case n < 0:
		d.fail(errors.New("varint overflows 64 bits"))
		return 0
	case n > 1 && d.b[d.i+n-1] == 0:
		d.fail(errors.New("varint is not minimal"))
		return 0
	}
	d.i += n
	return v
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) bitmap(known uint64) uint64 {
	m := d.uvarint()
	if m&^known != 0 {
		d.fail(fmt.Errorf("unknown fields %#x", m&^known))
		return 0
	}
	return m
}

// count reads a list's length, at least min; every element takes a byte
// or more, so a count beyond the body's end is refused before anything
// is allocated.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(d.left()) {
		d.fail(fmt.Errorf("list of %d elements exceeds the body", n))
		return 0
	}
	if int(n) < min {
		d.fail(errors.New("empty list written as present"))
		return 0
	}
	return int(n)
}

func (d *decoder) str() string { return d.strShared(false) }

// maxSharedGUIDs bounds a decoder's shared GUID strings (products,
// allotments and groups: a tenant's groups are the most).
const maxSharedGUIDs = 1 << 16

// strShared reads a string; with share, a GUID's string is taken from and
// kept in d.shared (when set) instead of a new one per record.
func (d *decoder) strShared(share bool) string {
	h := d.uvarint()
	if d.err != nil {
		return ""
	}
	switch {
	case h&1 == 0:
		n := h >> 1
		if n > uint64(d.left()) {
			d.fail(errTruncated)
			return ""
		}
		raw := d.b[d.i : d.i+int(n)]
		if _, ok := wordOf(raw); ok {
			d.fail(fmt.Errorf("dictionary word %q written raw", raw))
			return ""
		}
		if _, ok := parseGUID(raw); ok {
			d.fail(fmt.Errorf("GUID %q written raw", raw))
			return ""
		}
		if n == 0 {
			return ""
		}
		if d.text == "" {
			d.text = d.blockText() // a copy: the body may be reused
		}
		s := d.text[d.i : d.i+int(n)]
		d.i += int(n)
		return s
	case h == 1:
		if d.left() < 16 {
			d.fail(errTruncated)
			return ""
		}
		raw := d.b[d.i : d.i+16]
		d.i += 16
		if d.guids != nil {
			return d.blockGUID(raw)
		}
		if !share || d.shared == nil {
			return formatGUID(raw)
		}
		g := [16]byte(raw)
		if s, ok := d.shared[g]; ok {
			return s
		}
		s := formatGUID(raw)
		if len(d.shared) < maxSharedGUIDs {
			d.shared[g] = s
		}
		return s
	default:
		k := (h - 3) / 2
		if k >= uint64(len(words)) {
			d.fail(fmt.Errorf("no dictionary word %d", k))
			return ""
		}
		return words[k]
	}
}

// strIf reads a present string field: not "".
func (d *decoder) strIf(bit uint64) string { return d.strIfShared(bit, false) }

// sharedStrIf is strIf for a field whose values repeat across records (a
// product, an allotment, a group): see strShared.
func (d *decoder) sharedStrIf(bit uint64) string { return d.strIfShared(bit, true) }

// blockStrIf is strIf with a GUID's string written into the block guids
// (when not nil): for a field whose strings are garbage once the record is
// loaded (a license record's user, which the engine replaces by its user's
// id), so that they cost one allocation per block, not one each.
func (d *decoder) blockStrIf(bit uint64, guids *[]byte) string {
	d.guids = guids
	s := d.strIf(bit)
	d.guids = nil
	return s
}

func (d *decoder) strIfShared(bit uint64, share bool) string {
	if bit == 0 {
		return ""
	}
	s := d.strShared(share)
	if s == "" && d.err == nil {
		d.fail(errors.New("empty string written as present"))
	}
	return s
}

// status reads a present source state: one of SourceStatus's words.
func (d *decoder) status(bit uint64) SourceStatus {
	w := d.strIf(bit)
	v, ok := ParseSourceStatus(w)
	if !ok && d.err == nil {
		d.fail(fmt.Errorf("unknown source state %q", w))
	}
	return v
}

// errorCode reads a present source error: one of SourceErrorCode's words.
func (d *decoder) errorCode(bit uint64) SourceErrorCode {
	w := d.strIf(bit)
	v, ok := ParseSourceErrorCode(w)
	if !ok && d.err == nil {
		d.fail(fmt.Errorf("unknown source error %q", w))
	}
	return v
}

// strs reads a list of strings of at least min elements; the list is
// never nil.
func (d *decoder) strs(min int) []string { return d.strsShared(min, false) }

// sharedStrs is strs with each GUID's string shared as strShared does.
func (d *decoder) sharedStrs(min int) []string { return d.strsShared(min, true) }

func (d *decoder) strsShared(min int, share bool) []string {
	n := d.count(min)
	if d.err != nil {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.strShared(share)
	}
	return ss
}

func (d *decoder) strMap() map[string]string {
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	m := make(map[string]string, n)
	prev := ""
	for i := range n {
		k := d.str()
		v := d.str()
		if d.err != nil {
			return nil
		}
		if i > 0 && k <= prev {
			d.fail(errors.New("map keys out of order"))
			return nil
		}
		m[k], prev = v, k
	}
	return m
}

func (d *decoder) moment() (sec, nsec int64, off int) {
	flags := d.byte()
	if flags&^7 != 0 {
		d.fail(fmt.Errorf("unknown time flags %#x", flags))
	}
	sec, nsec = d.sec, d.nsec
	if flags&1 != 0 {
		ds := d.varint()
		if ds == 0 && d.err == nil {
			d.fail(errors.New("time: zero seconds written"))
		}
		sec += ds
	}
	if flags&2 != 0 {
		dn := d.varint()
		if dn == 0 && d.err == nil {
			d.fail(errors.New("time: zero nanoseconds written"))
		}
		nsec += dn
		if (nsec < 0 || nsec >= 1e9) && d.err == nil {
			d.fail(fmt.Errorf("time: nanoseconds %d out of range", nsec))
		}
	}
	if flags&4 != 0 {
		o := d.varint()
		if (o == 0 || int64(int(o)) != o) && d.err == nil {
			d.fail(fmt.Errorf("time: offset %d", o))
		}
		off = int(o)
	}
	d.sec, d.nsec = sec, nsec
	return sec, nsec, off
}

// time reads a present time: not the zero time.
func (d *decoder) time() time.Time {
	sec, nsec, off := d.moment()
	return d.timeOf(sec, nsec, off)
}

// timeOf is the time read as sec, nsec and off by moment.
func (d *decoder) timeOf(sec, nsec int64, off int) time.Time {
	if d.err != nil {
		return time.Time{}
	}
	t := time.Unix(sec, nsec)
	if off == 0 {
		if sec == zeroUnix && nsec == 0 {
			d.fail(errors.New("zero time written as present"))
			return time.Time{}
		}
		return t.UTC()
	}
	if _, lo := t.Zone(); lo == off {
		return t // time.Local, as time.Time's UnmarshalJSON reads it
	}
	return t.In(time.FixedZone("", off))
}

// instant reads a present Instant: not zero, in the years it holds.
func (d *decoder) instant() Instant {
	sec, nsec, off := d.moment()
	if d.err != nil {
		return 0
	}
	t := time.Unix(sec, nsec)
	i := InstantOf(t)
	if off != 0 || i == 0 || !i.Time().Equal(t) {
		d.fail(errors.New("instant out of range"))
		return 0
	}
	return i
}

// instantSafeSec bounds the Unix seconds whose nanoseconds an int64
// holds with room to spare (±9.2e9 s is its limit: the years 1678–2262).
const instantSafeSec = 9e9

// instantUTC reads a present time into an Instant, in UTC whatever
// offset it was written with (records written while these fields were
// time.Time kept the offset of the time they were given).
func (d *decoder) instantUTC() Instant {
	sec, nsec, off := d.moment()
	// The usual time, written in UTC and well inside Instant's years, is
	// read without a time.Time (a load reads millions): what InstantIn
	// of timeOf's time gives. (The zero time, refused as present, is far
	// outside those years: timeOf refuses it.)
	if d.err == nil && off == 0 && nsec >= 0 && nsec < 1e9 && sec > -instantSafeSec && sec < instantSafeSec {
		return Instant(uint64(sec*1e9+nsec) ^ instantBias)
	}
	t := d.timeOf(sec, nsec, off)
	if d.err != nil {
		return 0
	}
	if _, off := t.Zone(); off != 0 {
		d.offsets++
	}
	i, ok := InstantIn(t)
	if !ok {
		d.fail(errors.New("instant out of range"))
		return 0
	}
	return i
}

func (d *decoder) sourceStates(min int) []SourceState {
	n := d.count(min)
	if d.err != nil {
		return nil
	}
	var ss []SourceState
	if d.states != nil && n > 0 && n <= stateBlock/8 { // an empty list stays a list, not nil
		ss = blocks.Carve(d.states, n, stateBlock) // capacity n: an append copies it out
	} else {
		ss = make([]SourceState, n)
	}
	for i := range ss {
		d.sourceState(&ss[i])
	}
	return ss
}

func (d *decoder) sourceState(s *SourceState) {
	m := d.bitmap(ssBits)
	s.State = d.status(m & ssState)
	s.Error = d.errorCode(m & ssError)
	if m&ssLastUpdated != 0 {
		s.LastUpdated = d.instantUTC()
	}
	if m&ssAssignedAt != 0 {
		s.AssignedAt = d.instantUTC()
	}
	if m&ssAppliesSince != 0 {
		s.AppliesSince = d.instant()
	}
	if m&ssDisabledPlans != 0 {
		s.DisabledPlans = d.sharedStrs(0) // plans repeat across records: one string each per decoder
	}
	s.AssignedByGroup = d.sharedStrIf(m & ssAssignedByGroup)
	if m&ssAllotmentID != 0 {
		// Records written before a state's allotment was its record's
		// name it: read and dropped (the record names the same one),
		// so such a record encodes anew without it.
		d.sharedStrIf(m & ssAllotmentID)
		d.offsets++
	}
	if m&(ssKept|ssReplacedBy) != 0 {
		k := &KeptState{Kept: d.strIf(m & ssKept)}
		if m&ssReplacedBy != 0 {
			k.ReplacedBy = d.strs(1)
		}
		s.KeptState = k
	}
}

// parseGUID parses a GUID in canonical form: lower-case hex, 8-4-4-4-12.
func parseGUID[S ~string | ~[]byte](s S) (g [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	bad := byte(0)
	for j, i := range guidHex {
		hi, lo := unhexTable[s[i]], unhexTable[s[i+1]]
		bad |= hi | lo
		g[j] = hi<<4 | lo
	}
	if bad > 15 { // a byte that is not a lower-case hex digit
		return [16]byte{}, false
	}
	return g, true
}

// unhexTable is unhex of every byte.
var unhexTable = func() (t [256]byte) {
	for c := range t {
		t[c] = unhex(byte(c))
	}
	return t
}()

// guidHex is where the 16 bytes of a GUID are in its text.
var guidHex = [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return 255
}

// formatGUID writes 16 bytes as a canonical GUID.
func formatGUID(g []byte) string {
	var buf [36]byte
	putGUID(&buf, g)
	return string(buf[:])
}

// putGUID writes 16 bytes as a canonical GUID into buf.
func putGUID(buf *[36]byte, g []byte) {
	const hex = "0123456789abcdef"
	j := 0
	for i, c := range g {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			buf[j] = '-'
			j++
		}
		buf[j], buf[j+1] = hex[c>>4], hex[c&15]
		j += 2
	}
}

// guidBlock is the GUIDs in a block of GUID strings (decoder.guids).
const guidBlock = 512

// blockGUID is formatGUID into d.guids, a block shared by the strings of
// a decoder's records: one allocation per guidBlock GUIDs. A block is
// never written where a string was made of it, so the strings are
// immutable; a kept string keeps its whole block.
func (d *decoder) blockGUID(g []byte) string {
	b := blocks.Carve(d.guids, 36, 36*guidBlock)
	putGUID((*[36]byte)(b), g)
	return unsafe.String(&b[0], 36)
}
