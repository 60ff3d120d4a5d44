package usage

// A CSV record reader that does what encoding/csv's Reader does with
// Comma ',', no Comment, LazyQuotes and TrimLeadingSpace false,
// FieldsPerRecord -1 and ReuseRecord true — the same records, the same
// *csv.ParseError values, the same line numbers — except that it does not
// allocate a string per record: the fields returned alias the reader's
// buffer and are valid only until the next call. (encoding/csv allocates
// one string per record; on a 1,000,000-row report that was 200 MB of
// garbage and the largest allocation of the parse: BenchmarkReport1M.)
// The fields are unsafe.String views of a buffer the next read overwrites,
// so a caller copies what it keeps (ParseReport does:
// TestParsedReportKeepsNoFieldOfTheReusedBuffer fails on a kept alias).
//
// readLine and readRecord follow Go's encoding/csv/reader.go (BSD
// licence, The Go Authors) line by line with the options above fixed;
// TestCSVReaderMatchesEncodingCSV compares the two on generated and
// malformed inputs.

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"unicode/utf8"
	"unsafe"

	"allot"
)

type csvReader struct {
	r            *bufio.Reader
	numLine      int
	rawBuffer    []byte
	recordBuffer []byte
	fieldIndexes []int
	fields       []string
	recLine      int // first line of the last record
}

// maxCSVRecord is the longest record (a line, or the lines of one quoted
// field) a report may have: a longer one stops the read with EINVALID
// before it is held in memory (a 1 MB upload can expand to a 1 GiB field).
const maxCSVRecord = 1 << 20

// recordTooLong is the error of a record over maxCSVRecord.
func (r *csvReader) recordTooLong() error {
	return allot.Errorf(allot.EINVALID, "The report's line %d is longer than %d MiB: it is not a usage report.", r.numLine+1, maxCSVRecord>>20)
}

func newCSVReader(r io.Reader) *csvReader {
	return &csvReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// line returns the line on which the last record began.
func (r *csvReader) line() int { return r.recLine }

// readLine reads the next line (with the trailing endline). If EOF is hit
// without a trailing endline, it will be omitted. If some bytes were read,
// then the error is never io.EOF. The result is only valid until the next
// call to readLine.
func (r *csvReader) readLine() ([]byte, error) {
	line, err := r.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.rawBuffer = append(r.rawBuffer[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(r.rawBuffer) > maxCSVRecord {
				return nil, r.recordTooLong()
			}
			line, err = r.r.ReadSlice('\n')
			r.rawBuffer = append(r.rawBuffer, line...)
		}
		if len(r.rawBuffer) > maxCSVRecord {
			return nil, r.recordTooLong()
		}
		line = r.rawBuffer
	}
	readSize := len(line)
	if readSize > 0 && err == io.EOF {
		err = nil
		// For backwards compatibility, drop trailing \r before EOF.
		if line[readSize-1] == '\r' {
			line = line[:readSize-1]
		}
	}
	r.numLine++
	// Normalize \r\n to \n on all input lines.
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, err
}

func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

func nextRune(b []byte) rune {
	r, _ := utf8.DecodeRune(b)
	return r
}

// read returns the next record. The fields are valid until the next call.
// At the end of the input it returns io.EOF.
func (r *csvReader) read() ([]string, error) {
	// Read line (automatically skipping past empty lines).
	var line []byte
	var errRead error
	for errRead == nil {
		line, errRead = r.readLine()
		if errRead == nil && len(line) == lengthNL(line) {
			line = nil
			continue // Skip empty lines
		}
		break
	}
	if errRead == io.EOF {
		return nil, errRead
	}

	// Parse each field in the record.
	var err error
	const quoteLen = len(`"`)
	const commaLen = 1
	recLine := r.numLine // Starting line for record
	r.recLine = recLine
	r.recordBuffer = r.recordBuffer[:0]
	r.fieldIndexes = r.fieldIndexes[:0]
	col, posLine := 1, r.numLine
parseField:
	for {
		if len(line) == 0 || line[0] != '"' {
			// Non-quoted string field
			i := bytes.IndexByte(line, ',')
			field := line
			if i >= 0 {
				field = field[:i]
			} else {
				field = field[:len(field)-lengthNL(field)]
			}
			// Check to make sure a quote does not appear in field.
			if j := bytes.IndexByte(field, '"'); j >= 0 {
				err = &csv.ParseError{StartLine: recLine, Line: r.numLine, Column: col + j, Err: csv.ErrBareQuote}
				break parseField
			}
			r.recordBuffer = append(r.recordBuffer, field...)
			r.fieldIndexes = append(r.fieldIndexes, len(r.recordBuffer))
			if i >= 0 {
				line = line[i+commaLen:]
				col += i + commaLen
				continue parseField
			}
			break parseField
		} else {
			// Quoted string field
			line = line[quoteLen:]
			col += quoteLen
			for {
				i := bytes.IndexByte(line, '"')
				if i >= 0 {
					// Hit next quote.
					r.recordBuffer = append(r.recordBuffer, line[:i]...)
					line = line[i+quoteLen:]
					col += i + quoteLen
					switch rn := nextRune(line); {
					case rn == '"':
						// `""` sequence (append quote).
						r.recordBuffer = append(r.recordBuffer, '"')
						line = line[quoteLen:]
						col += quoteLen
					case rn == ',':
						// `",` sequence (end of field).
						line = line[commaLen:]
						col += commaLen
						r.fieldIndexes = append(r.fieldIndexes, len(r.recordBuffer))
						continue parseField
					case lengthNL(line) == len(line):
						// `"\n` sequence (end of line).
						r.fieldIndexes = append(r.fieldIndexes, len(r.recordBuffer))
						break parseField
					default:
						// `"*` sequence (invalid non-escaped quote).
						err = &csv.ParseError{StartLine: recLine, Line: r.numLine, Column: col - quoteLen, Err: csv.ErrQuote}
						break parseField
					}
				} else if len(line) > 0 {
					// Hit end of line (copy all data so far).
					r.recordBuffer = append(r.recordBuffer, line...)
					if errRead != nil {
						break parseField
					}
					if len(r.recordBuffer) > maxCSVRecord {
						return nil, r.recordTooLong()
					}
					col += len(line)
					line, errRead = r.readLine()
					if len(line) > 0 {
						posLine++
						col = 1
					}
					if errRead == io.EOF {
						errRead = nil
					}
				} else {
					// Abrupt end of file (EOF or error).
					if errRead == nil {
						err = &csv.ParseError{StartLine: recLine, Line: posLine, Column: col, Err: csv.ErrQuote}
						break parseField
					}
					r.fieldIndexes = append(r.fieldIndexes, len(r.recordBuffer))
					break parseField
				}
			}
		}
	}
	if err == nil {
		err = errRead
	}

	// The fields alias the record buffer (valid until the next read):
	// encoding/csv copies it into a new string here.
	var str string
	if len(r.recordBuffer) > 0 {
		str = unsafe.String(&r.recordBuffer[0], len(r.recordBuffer))
	}
	dst := r.fields[:0]
	var preIdx int
	for _, idx := range r.fieldIndexes {
		dst = append(dst, str[preIdx:idx])
		preIdx = idx
	}
	r.fields = dst
	return dst, err
}
