package usage

import (
	"bytes"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner is a small JSON reader over a byte slice, enough for streams of
// flat objects: it reads strings (unescaping into scratch buffers only when
// they contain escapes), literals and numbers, and skips nested values. It
// never panics on any input and always advances or stops.
type scanner struct {
	b    []byte
	i    int
	line int // line of position i, from 1
}

type syntaxError struct {
	line int
	msg  string
}

func (e *syntaxError) Error() string { return e.msg }

func (s *scanner) errf(format string, args ...any) error {
	return &syntaxError{line: s.line, msg: fmt.Sprintf(format, args...)}
}

// ws skips whitespace and returns the next byte (0 at the end).
func (s *scanner) ws() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case '\n':
			s.line++
			s.i++
		case ' ', '\t', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// expect consumes byte c after whitespace.
func (s *scanner) expect(c byte) error {
	if s.ws() != c || s.i >= len(s.b) {
		if s.i >= len(s.b) {
			return s.errf("expected %q, found the end of the input", c)
		}
		return s.errf("expected %q, found %q", c, s.b[s.i])
	}
	s.i++
	return nil
}

// str reads a string at the current position. The result aliases the
// input when the string has no escapes, scratch otherwise.
func (s *scanner) str(scratch *[]byte) ([]byte, error) {
	if s.ws() != '"' {
		return nil, s.errf("expected a string")
	}
	s.i++
	start := s.i
	// Find the closing quote fast, then check what lies before it.
	end := bytes.IndexByte(s.b[start:], '"')
	if end < 0 {
		end = len(s.b) - start
	}
	for j, c := range s.b[start : start+end] {
		if c == '\\' {
			s.i = start + j
			return s.strEscaped(start, scratch)
		}
		if c < 0x20 {
			s.i = start + j
			return nil, s.errf("control character in a string")
		}
	}
	s.i = start + end
	if s.i >= len(s.b) {
		return nil, s.errf("unterminated string")
	}
	s.i++
	return s.b[start : start+end], nil
}

func (s *scanner) strEscaped(start int, scratch *[]byte) ([]byte, error) {
	out := append((*scratch)[:0], s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			*scratch = out
			return out, nil
		case c < 0x20:
			return nil, s.errf("control character in a string")
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			break
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return nil, s.errf("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					s.i += 2
					r2, ok = s.hex4()
					if !ok {
						return nil, s.errf("invalid \\u escape")
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, s.errf("invalid escape \\%c", e)
		}
	}
	return nil, s.errf("unterminated string")
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	s.i += 4
	return r, true
}

// literal reads true, false or null; it returns the byte that starts it.
func (s *scanner) literal() (byte, error) {
	for _, w := range []string{"true", "false", "null"} {
		if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
			s.i += len(w)
			return w[0], nil
		}
	}
	return 0, s.errf("invalid value")
}

// maxDepth bounds the nesting skip accepts.
const maxDepth = 512

// skip skips one value of any kind. Nested values are walked with an
// explicit stack, so depth cannot exhaust the goroutine's stack.
func (s *scanner) skip() error {
	var stack []byte // '{' or '[' of the open containers
	var scratch []byte
	for {
		// One value.
		c := s.ws()
		switch {
		case s.i >= len(s.b):
			return s.errf("unexpected end of input")
		case c == '{' || c == '[':
			s.i++
			if len(stack) >= maxDepth {
				return s.errf("nesting deeper than %d", maxDepth)
			}
			if n := s.ws(); (c == '{' && n == '}') || (c == '[' && n == ']') {
				s.i++
				break
			}
			stack = append(stack, c)
			if c == '{' {
				if err := s.key(&scratch); err != nil {
					return err
				}
			}
			continue
		case c == '"':
			if _, err := s.str(&scratch); err != nil {
				return err
			}
		case c == 't' || c == 'f' || c == 'n':
			if _, err := s.literal(); err != nil {
				return err
			}
		case c == '-' || ('0' <= c && c <= '9'):
			s.number()
		default:
			return s.errf("invalid character %q", c)
		}
		var done bool
		var err error
		if stack, done, err = s.afterValue(stack, &scratch); err != nil || done {
			return err
		}
	}
}

// afterValue closes the containers a value ends and moves to the next
// member or element; done: the outermost value has ended. It returns the
// containers still open.
func (s *scanner) afterValue(stack []byte, scratch *[]byte) (open []byte, done bool, err error) {
	for {
		if len(stack) == 0 {
			return stack, true, nil
		}
		top := stack[len(stack)-1]
		c := s.ws()
		if c == ',' {
			s.i++
			if top == '{' {
				if err := s.key(scratch); err != nil {
					return stack, false, err
				}
			}
			return stack, false, nil
		}
		if (top == '{' && c == '}') || (top == '[' && c == ']') {
			s.i++
			stack = stack[:len(stack)-1]
			continue
		}
		return stack, false, s.errf("expected ',' or a closing bracket")
	}
}

// key reads an object key and the colon after it.
func (s *scanner) key(scratch *[]byte) error {
	if _, err := s.str(scratch); err != nil {
		return err
	}
	return s.expect(':')
}

// number skips a number (validation is loose: the field is ignored).
func (s *scanner) number() {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' || ('0' <= c && c <= '9'):
			s.i++
		default:
			return
		}
	}
}

// toLineEnd moves past the next newline (resynchronising a JSON-lines
// stream after a bad line).
func (s *scanner) toLineEnd() {
	for s.i < len(s.b) {
		c := s.b[s.i]
		s.i++
		if c == '\n' {
			s.line++
			return
		}
	}
}
