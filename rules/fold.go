package rules

import (
	"unicode"
	"unicode/utf8"
)

// Rules compare strings case-insensitively using Unicode simple case folding,
// the same equivalence as strings.EqualFold: two runes are equal when one is
// in the other's unicode.SimpleFold orbit. The helpers below compare without
// allocating, and foldKey gives every string a canonical form such that
// strings.EqualFold(a, b) implies foldKey(a) == foldKey(b); the Index hashes on
// it.

// foldRune returns the canonical member of r's case-folding orbit: the
// lower-case ASCII letter when the orbit has one (so that ASCII text keys to
// its lower-case form), otherwise the orbit's smallest rune.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	if 'A' <= least && least <= 'Z' {
		least += 'a' - 'A'
	}
	return least
}

// appendFoldKey appends the canonical folded form of s to dst.
func appendFoldKey(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		dst = utf8.AppendRune(dst, foldRune(r))
		i += n
	}
	return dst
}

// foldKey returns the canonical folded form of s.
func foldKey(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return string(appendFoldKey(make([]byte, 0, len(s)), s))
		}
	}
	return s
}

// equalRuneFold reports whether a and b are equal under simple case folding.
func equalRuneFold(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		return 'A' <= a|0x20 && a|0x20 <= 'z' && a|0x20 == b|0x20
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s begins with prefix, ignoring case.
func hasPrefixFold(s, prefix string) bool {
	for len(prefix) > 0 {
		if len(s) == 0 {
			return false
		}
		if c1, c2 := s[0], prefix[0]; c1|c2 < utf8.RuneSelf {
			if c1 != c2 && !equalRuneFold(rune(c1), rune(c2)) {
				return false
			}
			s, prefix = s[1:], prefix[1:]
			continue
		}
		r1, n1 := utf8.DecodeRuneInString(s)
		r2, n2 := utf8.DecodeRuneInString(prefix)
		if !equalRuneFold(r1, r2) {
			return false
		}
		s, prefix = s[n1:], prefix[n2:]
	}
	return true
}

// hasSuffixFold reports whether s ends with suffix, ignoring case.
func hasSuffixFold(s, suffix string) bool {
	for len(suffix) > 0 {
		if len(s) == 0 {
			return false
		}
		if c1, c2 := s[len(s)-1], suffix[len(suffix)-1]; c1|c2 < utf8.RuneSelf {
			if c1 != c2 && !equalRuneFold(rune(c1), rune(c2)) {
				return false
			}
			s, suffix = s[:len(s)-1], suffix[:len(suffix)-1]
			continue
		}
		r1, n1 := utf8.DecodeLastRuneInString(s)
		r2, n2 := utf8.DecodeLastRuneInString(suffix)
		if !equalRuneFold(r1, r2) {
			return false
		}
		s, suffix = s[:len(s)-n1], suffix[:len(suffix)-n2]
	}
	return true
}

// containsFold reports whether sub occurs in s, ignoring case.
func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	for i := 0; i < len(s); {
		if hasPrefixFold(s[i:], sub) {
			return true
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return false
}
