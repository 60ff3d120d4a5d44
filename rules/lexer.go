package rules

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tokEOF    tokKind = iota
	tokLParen         // (
	tokRParen         // )
	tokLBrack         // [
	tokRBrack         // ]
	tokComma          // ,
	tokString         // "…", '…' or the documentation's `"…`" form; val is the unescaped text
	tokWord           // user.department, _, eq, true, null, system.now, p1d; val is the text
	tokOp             // -eq, -and …; val is the lower-cased name without the hyphen
	tokNumber         // a bare value starting with a digit or sign: 42, 2020-06-10T18:13:20Z
)

// token is one lexical element; pos and end are byte offsets into the rule.
type token struct {
	kind     tokKind
	pos, end int
	val      string
}

// isDash reports whether r starts an operator. Besides the ASCII hyphen it
// accepts the en dash, em dash and minus sign, because rules are often pasted
// from Microsoft's documentation, whose examples contain "–eq".
func isDash(r rune) bool {
	return r == '-' || r == '\u2013' || r == '\u2014' || r == '\u2212'
}

func isWordStart(r rune) bool {
	return r < utf8.RuneSelf && (r == '_' || r == '$' || 'a' <= r|0x20 && r|0x20 <= 'z')
}

func isWordChar(r rune) bool {
	return isWordStart(r) || ('0' <= r && r <= '9') || r == '.'
}

// punctuation returns the kind of a one-character token, tokEOF for others.
func punctuation(r rune) tokKind {
	switch r {
	case '(':
		return tokLParen
	case ')':
		return tokRParen
	case '[':
		return tokLBrack
	case ']':
		return tokRBrack
	case ',':
		return tokComma
	}
	return tokEOF
}

func isDigit(r rune) bool { return '0' <= r && r <= '9' }

// isDelimiter reports whether r ends a bare value.
func isDelimiter(r rune) bool {
	switch r {
	case '(', ')', '[', ']', ',', '"', '\'':
		return true
	}
	return unicode.IsSpace(r)
}

// lex splits src into tokens, ending with tokEOF. Lexical errors (an
// unterminated string, a stray character) stop lexing: the rest of the rule
// can't be read reliably.
func lex(src string) ([]token, *Error) {
	var toks []token
	i := 0
	for i < len(src) {
		r, n := utf8.DecodeRuneInString(src[i:])
		start := i
		switch {
		case unicode.IsSpace(r) || r == '\uFEFF': // a byte order mark pasted with the rule is space
			i += n
			continue
		case punctuation(r) != tokEOF:
			i++
			toks = append(toks, token{kind: punctuation(r), pos: start, end: i})
		case r == '"':
			val, end, ok := lexDoubleQuoted(src, i)
			if !ok {
				return nil, newError(src, start, "end of rule", "the string starting here has no closing \"")
			}
			i = end
			toks = append(toks, token{kind: tokString, pos: start, end: i, val: val})
		case r == '\'':
			val, end, ok := lexSingleQuoted(src, i)
			if !ok {
				return nil, newError(src, start, "end of rule", "the string starting here has no closing '")
			}
			i = end
			toks = append(toks, token{kind: tokString, pos: start, end: i, val: val})
		case r == '`':
			tok, err := lexBacktick(src, i)
			if err != nil {
				return nil, err
			}
			i = tok.end
			toks = append(toks, tok)
		case isDash(r) || r == '+':
			tok, err := lexSigned(src, i, r, n)
			if err != nil {
				return nil, err
			}
			i = tok.end
			toks = append(toks, tok)
		case isDigit(r):
			i = lexBare(src, i)
			toks = append(toks, token{kind: tokNumber, pos: start, end: i, val: src[start:i]})
		case isWordStart(r):
			for i < len(src) && isWordChar(rune(src[i])) {
				i++
			}
			toks = append(toks, token{kind: tokWord, pos: start, end: i, val: src[start:i]})
		case r == '\u201c' || r == '\u201d' || r == '\u2018' || r == '\u2019':
			return nil, newError(src, start, describeRune(r), "use straight quotes (\" or ') around strings, not typographic quotes")
		default:
			return nil, newError(src, start, describeRune(r), "unexpected character")
		}
	}
	toks = append(toks, token{kind: tokEOF, pos: len(src), end: len(src)})
	return toks, nil
}

// lexBacktick reads a bare value starting with a backtick: Microsoft's
// documentation writes a value that contains double quotes as `"Sales`",
// a bare value in which a backtick escapes the next character.
func lexBacktick(src string, i int) (token, *Error) {
	start := i
	if i+1 >= len(src) || src[i+1] != '"' {
		return token{}, newError(src, start, "`", "a backtick escapes a double quote inside a string, like \"say `\"hi`\"\"")
	}
	var b strings.Builder
	for i < len(src) {
		r, n := utf8.DecodeRuneInString(src[i:])
		if isDelimiter(r) && r != '"' {
			break
		}
		if r == '`' && i+1 < len(src) {
			_, n = utf8.DecodeRuneInString(src[i+1:])
			i++
		}
		b.WriteString(src[i : i+n])
		i += n
	}
	return token{kind: tokString, pos: start, end: i, val: b.String()}, nil
}

// lexSigned reads what starts with a dash (r, n bytes long) or a plus: an
// operator (-eq, in lower case) or a signed number.
func lexSigned(src string, i int, r rune, n int) (token, *Error) {
	start := i
	next, _ := utf8.DecodeRuneInString(src[i+n:])
	switch {
	case r != '+' && isWordStart(next) && next != '_' && next != '$':
		i += n
		for i < len(src) && isWordStart(rune(src[i])) && src[i] != '_' && src[i] != '$' {
			i++
		}
		return token{kind: tokOp, pos: start, end: i, val: strings.ToLower(src[start+n : i])}, nil
	case isDigit(next):
		i = lexBare(src, i+n)
		return token{kind: tokNumber, pos: start, end: i, val: src[start:i]}, nil
	}
	return token{}, newError(src, start, describeRune(r), "expected an operator like -eq (a hyphen followed by its name)")
}

// lexDoubleQuoted reads the "…" string starting at src[i]. A backtick
// followed by " or ` stands for that character; any other backtick is
// literal. It returns the unescaped text and the offset after the closing
// quote.
func lexDoubleQuoted(src string, i int) (string, int, bool) {
	var b strings.Builder
	for j := i + 1; j < len(src); j++ {
		c := src[j]
		switch {
		case c == '`' && j+1 < len(src) && (src[j+1] == '"' || src[j+1] == '`'):
			j++
			b.WriteByte(src[j])
		case c == '"':
			return b.String(), j + 1, true
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

// lexSingleQuoted reads the '…' string starting at src[i], where two single
// quotes stand for one.
func lexSingleQuoted(src string, i int) (string, int, bool) {
	var b strings.Builder
	for j := i + 1; j < len(src); j++ {
		c := src[j]
		if c == '\'' {
			if j+1 < len(src) && src[j+1] == '\'' {
				b.WriteByte('\'')
				j++
				continue
			}
			return b.String(), j + 1, true
		}
		b.WriteByte(c)
	}
	return "", 0, false
}

// lexBare returns the end of the bare value starting at src[i]: everything up
// to white space or a delimiter, so that 2020-06-10T18:13:20Z is one token.
func lexBare(src string, i int) int {
	for i < len(src) {
		r, n := utf8.DecodeRuneInString(src[i:])
		if isDelimiter(r) {
			break
		}
		i += n
	}
	return i
}

func describeRune(r rune) string {
	if r == utf8.RuneError {
		return "an invalid UTF-8 byte"
	}
	return strings.TrimSpace(string(r))
}
