package position

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVHeader is the header of WriteCSV.
var CSVHeader = []string{"id", "kind", "userId", "userPrincipalName", "skuPartNumber", "groupId", "evidence", "fix", "monthlyDelta", "add", "remove", "units", "title", "skuDisplayName", "basis", "evidenceFrom", "evidenceTo"}

// WriteCSV writes the findings, one row per finding (and so per user and
// finding). Text cells that a spreadsheet would run as a formula are
// prefixed with an apostrophe.
func WriteCSV(w io.Writer, p *Position) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	rec := make([]string, len(CSVHeader))
	var err error
	p.EachFinding(func(f *Finding) bool {
		d := ""
		if f.Fix.MonthlyDelta != nil {
			d = strconv.FormatFloat(*f.Fix.MonthlyDelta, 'f', -1, 64)
		}
		units := ""
		if f.Fix.Units > 0 {
			units = strconv.Itoa(f.Fix.Units)
		}
		rec[0], rec[1], rec[2], rec[3] = f.ID, f.Kind, safe(f.UserID), safe(f.UserPrincipalName)
		rec[4], rec[5], rec[6], rec[7] = safe(f.SKUPartNumber), safe(f.GroupID), safe(EvidenceText(f.Evidence)), safe(f.Fix.Description)
		rec[8], rec[9], rec[10], rec[11] = d, strings.Join(f.Fix.Add, "+"), strings.Join(f.Fix.Remove, "+"), units
		rec[12], rec[13] = f.Title, safe(f.SKUDisplayName)
		rec[14], rec[15], rec[16] = f.Basis, f.EvidenceFrom, f.EvidenceTo
		err = cw.Write(rec)
		return err == nil
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// EvidenceText renders evidence on one line.
func EvidenceText(ev []Evidence) string {
	var b strings.Builder
	for i, e := range ev {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteString(e.Source)
		b.WriteString(": ")
		parts := 0
		if e.Feature != "" {
			b.WriteString(e.Feature)
			parts++
		}
		if len(e.ServicePlans) > 0 {
			b.WriteString(" (")
			if len(e.ServicePlans) > 4 {
				b.WriteString(strings.Join(e.ServicePlans[:4], ", ") + ", …")
			} else {
				b.WriteString(strings.Join(e.ServicePlans, ", "))
			}
			b.WriteString(")")
		}
		if e.Last != nil {
			if parts > 0 {
				b.WriteString(",")
			}
			b.WriteString(" last " + e.Last.UTC().Format(time.DateOnly))
			parts++
		}
		if e.ActiveDays > 0 {
			b.WriteString(", " + strconv.Itoa(e.ActiveDays) + " active days")
		}
		if e.Detail != "" {
			if parts > 0 {
				b.WriteString("; ")
			}
			b.WriteString(e.Detail)
		}
	}
	return b.String()
}

// safe defuses spreadsheet formulas (CSV injection).
func safe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
