package usage

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"allot"
)

// csvRecords reads everything with both readers and describes the result:
// per record its line and fields, or the error.
func csvRecords(t *testing.T, input string, ours bool) []string {
	t.Helper()
	var out []string
	if ours {
		r := newCSVReader(strings.NewReader(input))
		for {
			rec, err := r.read()
			if errors.Is(err, io.EOF) {
				return out
			}
			out = append(out, describeRecord(r.line(), rec, err))
		}
	}
	r := csv.NewReader(strings.NewReader(input))
	r.ReuseRecord = true
	r.FieldsPerRecord = -1
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		line := 0
		if err == nil || len(rec) > 0 {
			line, _ = r.FieldPos(0)
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line = pe.StartLine
		}
		out = append(out, describeRecord(line, rec, err))
	}
}

func describeRecord(line int, rec []string, err error) string {
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return strings.Join([]string{"line", itoa(line), "error", pe.Error()}, " ")
		}
		return "error " + err.Error()
	}
	return "line " + itoa(line) + " " + strings.Join(rec, "|") + "|" + itoa(len(rec))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	if neg {
		s = "-" + s
	}
	return s
}

func TestCSVReaderMatchesEncodingCSV(t *testing.T) {
	cases := []string{
		"",
		"a,b,c\n1,2,3\n",
		"a,b,c\r\n1,2,3\r\n",
		"a,b\n\n\n1,2",
		"a,b\n1,2\r",
		"\"quoted, field\",x\n\"with \"\"quotes\"\"\",y\n",
		"\"multi\nline\",z\nnext,row\n",
		"a\"b,c\nok,row\n",
		"\"unterminated,x\nmore\n",
		"\"bad\"quote,x\nok,1\n",
		"\"x\"\r\n\"y\",\"\"\n",
		",,\n,\n",
		"\ufeffReport Refresh Date,User Principal Name\n2024-06-30,a@b\n",
		"a,b\n\"c\nd\"\"e\",f\r\ng\"h\n\"i\"",
		strings.Repeat("x", 70000) + ",y\n" + strings.Repeat("\"z\"\"", 30000) + ",w\n", // lines past the buffer
	}
	rnd := rand.New(rand.NewSource(11))
	alphabet := []string{"a", "b", ",", "\"", "\n", "\r\n", "\r", " ", "é", "\"\"", ",\"", "\",", ""}
	for i := 0; i < 3000; i++ {
		var sb strings.Builder
		for k := rnd.Intn(40); k > 0; k-- {
			sb.WriteString(alphabet[rnd.Intn(len(alphabet))])
		}
		cases = append(cases, sb.String())
	}
	for _, in := range cases {
		want, got := csvRecords(t, in, false), csvRecords(t, in, true)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("input %q:\n got  %q\n want %q", in, got, want)
		}
	}
}

func TestCSVReaderFieldsAreReusedNotAllocated(t *testing.T) {
	row := "2024-06-30,user1@contoso.example,True,,\"a, b\"\n"
	count := func(rows int) float64 {
		data := strings.Repeat(row, rows)
		return testing.AllocsPerRun(5, func() {
			r := newCSVReader(strings.NewReader(data))
			n := 0
			for {
				rec, err := r.read()
				if err != nil {
					break
				}
				n += len(rec)
			}
			if n != 5*rows {
				t.Fatalf("%d fields", n)
			}
		})
	}
	// The reader and its buffers allocate; records do not.
	if few, many := count(100), count(10000); many != few {
		t.Fatalf("%v allocations for 100 records, %v for 10,000", few, many)
	}
}

// A report record longer than maxCSVRecord stops the read with EINVALID
// before it is held whole (a 1 MB upload held a 1 GiB field and killed the
// server), on one line or in a quoted field over many lines.
func TestReportRecordLongerThanTheLimitIsRefused(t *testing.T) {
	head := "Report Refresh Date,User Principal Name,Exchange Last Activity Date\n2024-06-30,a@b,2024-06-01\n"
	for name, row := range map[string]string{
		"one line":     "2024-06-30," + strings.Repeat("x", maxCSVRecord+1) + ",\n",
		"quoted lines": "2024-06-30,\"" + strings.Repeat("y\n", maxCSVRecord/2+1) + "\",\n",
	} {
		_, err := ParseReport(strings.NewReader(head+row), "")
		if allot.ErrorCode(err) != allot.EINVALID || !strings.Contains(allot.ErrorMessage(err), "longer than 1 MiB") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The reader's fields alias its reused buffer (unsafe.String: encoding/csv
// allocates a string per record, 200 MB of garbage on a 1,000,000-row
// report — BenchmarkReport1M); ParseReport must copy every string it keeps.
// Each row here differs, so a kept alias would show a later row's bytes.
func TestParsedReportKeepsNoFieldOfTheReusedBuffer(t *testing.T) {
	var b strings.Builder
	b.WriteString("Report Refresh Date,User Principal Name,Exchange Last Activity Date,Assigned Products\n")
	const n = 50
	for i := range n {
		fmt.Fprintf(&b, "2024-06-30,user%02d@contoso.example,2024-06-%02d,PRODUCT %02d+OTHER %02d\n", i, 1+i%28, i, i)
	}
	b.WriteString("2024-06-30,late@contoso.example,not-a-date-zz,LAST\n")
	rep, err := ParseReport(strings.NewReader(b.String()), "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Len() != n || len(rep.Rejected) != 1 {
		t.Fatalf("%d rows, %d rejected: %+v", rep.Len(), len(rep.Rejected), rep.Rejected)
	}
	for i := range n {
		row := rep.row(i)
		if want := fmt.Sprintf("user%02d@contoso.example", i); row.user != want {
			t.Errorf("row %d: user %q, want %q", i, row.user, want)
		}
		if want := fmt.Sprintf("PRODUCT %02d+OTHER %02d", i, i); rep.products[row.products] != want {
			t.Errorf("row %d: products %q, want %q", i, rep.products[row.products], want)
		}
	}
	if !strings.Contains(rep.Rejected[0].Reason, "not-a-date-zz") {
		t.Errorf("rejection: %q", rep.Rejected[0].Reason)
	}
}
