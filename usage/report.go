package usage

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"allot"
)

// Usage reports, by the Graph reports function that produces them. The
// CSV columns are Microsoft's (learn.microsoft.com/graph/api/reportroot-*).
const (
	ReportActiveUser         = "getOffice365ActiveUserDetail"
	ReportMailboxUsage       = "getMailboxUsageDetail"
	ReportEmailActivity      = "getEmailActivityUserDetail"
	ReportOneDriveActivity   = "getOneDriveActivityUserDetail"
	ReportSharePointActivity = "getSharePointActivityUserDetail"
	ReportTeamsActivity      = "getTeamsUserActivityUserDetail"
	ReportYammerActivity     = "getYammerActivityUserDetail"
	ReportM365Apps           = "getM365AppUserDetail"
)

// Column identifiers.
const (
	cRefresh = iota
	cUPN
	cUserID
	cLAD // Last Activity Date
	cProducts
	cExchangeLAD
	cOneDriveLAD
	cSharePointLAD
	cSkypeLAD
	cYammerLAD
	cTeamsLAD
	cStorage
	cArchive
	cRecipient
	cHold
	cTeamChat
	cPrivateChat
	cPosts
	cReplies
	cCalls
	cMeetings
	cMeetingsOrganized
	cMeetingsAttended
	cWindows
	cMac
	cMobile
	cWeb
	cSend
	cVisited
	cSynced
	cPosted
	cLiked
	cActivation
	nColumns
)

// columns maps normalised header names (lower case, single spaces) to
// column identifiers. Several names may mean one column.
var columns = map[string]int{
	"report refresh date":                   cRefresh,
	"user principal name":                   cUPN,
	"user id":                               cUserID,
	"last activity date":                    cLAD,
	"assigned products":                     cProducts,
	"exchange last activity date":           cExchangeLAD,
	"onedrive last activity date":           cOneDriveLAD,
	"sharepoint last activity date":         cSharePointLAD,
	"skype for business last activity date": cSkypeLAD,
	"yammer last activity date":             cYammerLAD,
	"teams last activity date":              cTeamsLAD,
	"storage used (byte)":                   cStorage,
	"has archive":                           cArchive,
	"recipient type":                        cRecipient,
	"litigation hold":                       cHold,
	"litigation hold enabled":               cHold,
	"is litigation hold enabled":            cHold,
	"litigationholdenabled":                 cHold,
	"has litigation hold":                   cHold,
	"team chat message count":               cTeamChat,
	"private chat message count":            cPrivateChat,
	"post messages":                         cPosts,
	"reply messages":                        cReplies,
	"call count":                            cCalls,
	"meeting count":                         cMeetings,
	"meetings organized count":              cMeetingsOrganized,
	"meetings attended count":               cMeetingsAttended,
	"windows":                               cWindows,
	"mac":                                   cMac,
	"mobile":                                cMobile,
	"web":                                   cWeb,
	"send count":                            cSend,
	"visited page count":                    cVisited,
	"synced file count":                     cSynced,
	"posted count":                          cPosted,
	"liked count":                           cLiked,
	"last activation date":                  cActivation,
}

// reportSpec says how a report is recognised from its header: every
// column of any one of the signatures must be present.
type reportSpec struct {
	name       string
	signatures [][]int
}

// reportSpecs in recognition order (the first match wins; OneDrive comes
// after SharePoint, whose header is OneDrive's plus Visited Page Count).
var reportSpecs = []reportSpec{
	{ReportActiveUser, [][]int{{cExchangeLAD}, {cOneDriveLAD, cSharePointLAD, cTeamsLAD}}},
	{ReportMailboxUsage, [][]int{{cStorage}}},
	{ReportTeamsActivity, [][]int{{cTeamChat}, {cPrivateChat}, {cMeetings}, {cCalls}}},
	{ReportSharePointActivity, [][]int{{cVisited}}},
	{ReportOneDriveActivity, [][]int{{cSynced}}},
	{ReportEmailActivity, [][]int{{cSend}}},
	{ReportYammerActivity, [][]int{{cPosted}, {cLiked}}},
	{ReportM365Apps, [][]int{{cWindows, cMac}, {cActivation}}},
}

// ReportNames returns the report types that can be imported.
func ReportNames() []string {
	out := make([]string, len(reportSpecs))
	for i, s := range reportSpecs {
		out[i] = s.name
	}
	return out
}

// Report is a parsed usage report, ready to be aggregated by one command.
// Parsing is pure and runs before Tenant.Do.
type Report struct {
	Kind        string // the Graph function name, e.g. getOffice365ActiveUserDetail
	RefreshDate Day    // Report Refresh Date of the first row that has one
	Rows        int    // data rows read, rejected ones included
	Rejected    []Rejection

	rows       [][]reportRow // in chunks of rowChunk: no large copies while reading
	n          int
	products   []string // distinct Assigned Products values; index 0 is none
	productIdx map[string]uint32
	res        resolver
}

const rowChunk = 16384

// maxObs is the most observations a row makes (the six workloads of the
// active-user report).
const maxObs = 6

type reportRow struct {
	user, userID  string
	storage       int64 // -1: unknown
	line          int32
	products      uint32
	refresh       Day
	obs           [maxObs]observation
	nobs          uint8
	rtype         uint8
	archive, hold int8 // -1 unknown, 0 no, 1 yes
}

func (r *Report) row(i int) *reportRow { return &r.rows[i/rowChunk][i%rowChunk] }

func (r *Report) add(row *reportRow) {
	if r.n == len(r.rows)*rowChunk {
		r.rows = append(r.rows, make([]reportRow, 0, rowChunk))
	}
	last := len(r.rows) - 1
	r.rows[last] = append(r.rows[last], *row)
	r.n++
}

// observation is a feature seen used on a day.
type observation struct {
	f featureIdx
	d Day
}

// ParseReport reads a usage report CSV as Graph's reports API delivers it:
// columns found by header name in any order, unknown columns ignored, an
// optional UTF-8 BOM, quoted fields, empty dates, "+"-separated Assigned
// Products. kind names the report type (a Graph function name, with or
// without "get"); empty means recognise it from the header. A row that
// cannot be read is rejected with its line number and the rest is read.
// Errors (EINVALID) are for input that is not a usage report at all.
func ParseReport(r io.Reader, kind string) (*Report, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, allot.Errorf(allot.EINVALID, "The report is empty: a header row is required.")
		}
		return nil, allot.Errorf(allot.EINVALID, "The report's header row cannot be read: %v", err)
	}
	var col [nColumns]int
	for i := range col {
		col[i] = -1
	}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		if c, ok := columns[normHeader(h)]; ok && col[c] < 0 {
			col[c] = i
		}
	}
	spec, err := pickSpec(kind, &col)
	if err != nil {
		return nil, err
	}
	if col[cRefresh] < 0 {
		return nil, allot.Errorf(allot.EINVALID, "The %s report has no 'Report Refresh Date' column.", spec.name)
	}
	if col[cUPN] < 0 && col[cUserID] < 0 {
		return nil, allot.Errorf(allot.EINVALID, "The %s report has no 'User Principal Name' column.", spec.name)
	}
	rep := &Report{Kind: spec.name, products: []string{""}, productIdx: map[string]uint32{}}
	p := rowParser{rep: rep, col: &col, width: len(header)}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if pe.StartLine > 0 {
				line = pe.StartLine
			}
			rep.Rows++
			rep.reject(line, "malformed CSV: "+pe.Err.Error())
			continue
		}
		if err != nil {
			return nil, err // the reader failed (I/O), not the data
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		rep.Rows++
		p.row(rec, line)
	}
	return rep, nil
}

func (r *Report) reject(line int, reason string) {
	r.Rejected = append(r.Rejected, Rejection{Line: line, Reason: reason})
}

// Len returns the number of rows ready to be aggregated.
func (r *Report) Len() int { return r.n }

func normHeader(h string) string {
	return strings.ToLower(strings.Join(strings.Fields(h), " "))
}

func pickSpec(kind string, col *[nColumns]int) (*reportSpec, error) {
	has := func(sig []int) bool {
		for _, c := range sig {
			if col[c] < 0 {
				return false
			}
		}
		return true
	}
	matches := func(s *reportSpec) bool {
		for _, sig := range s.signatures {
			if has(sig) {
				return true
			}
		}
		return false
	}
	if kind != "" {
		for i := range reportSpecs {
			s := &reportSpecs[i]
			if strings.EqualFold(kind, s.name) || strings.EqualFold(kind, strings.TrimPrefix(s.name, "get")) {
				if !matches(s) {
					return nil, allot.Errorf(allot.EINVALID, "The file's header is not that of a %s report.", s.name)
				}
				return s, nil
			}
		}
		return nil, allot.Errorf(allot.EINVALID, "Unknown report %q: use one of %s.", kind, strings.Join(ReportNames(), ", "))
	}
	for i := range reportSpecs {
		if s := &reportSpecs[i]; matches(s) {
			return s, nil
		}
	}
	return nil, allot.Errorf(allot.EINVALID, "The file is not a recognised usage report: its header matches none of %s.", strings.Join(ReportNames(), ", "))
}

type rowParser struct {
	rep   *Report
	col   *[nColumns]int
	width int
}

func (p *rowParser) field(rec []string, c int) string {
	if i := p.col[c]; i >= 0 && i < len(rec) {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

// rowError is a reason to reject a row.
type rowError string

func (p *rowParser) date(rec []string, c int, name string) (Day, error) {
	v := p.field(rec, c)
	if v == "" {
		return 0, nil
	}
	d, ok := parseDate(v)
	if !ok {
		return 0, rowError(fmt.Sprintf("invalid date %q in column '%s'", v, name))
	}
	return d, nil
}

func (e rowError) Error() string { return string(e) }

func (p *rowParser) count(rec []string, c int, name string) (int64, error) {
	v := p.field(rec, c)
	if v == "" {
		return 0, nil
	}
	n, ok := parseCount(v)
	if !ok {
		return 0, rowError(fmt.Sprintf("invalid number %q in column '%s'", v, name))
	}
	return n, nil
}

func (p *rowParser) flag(rec []string, c int, name string) (int8, error) {
	v := p.field(rec, c)
	if v == "" {
		return -1, nil
	}
	switch {
	case equalFoldASCII(v, "true"), equalFoldASCII(v, "yes"), v == "1":
		return 1, nil
	case equalFoldASCII(v, "false"), equalFoldASCII(v, "no"), v == "0":
		return 0, nil
	}
	return -1, rowError(fmt.Sprintf("invalid value %q in column '%s' (want True or False)", v, name))
}

// row parses one data row into the report, or rejects it.
func (p *rowParser) row(rec []string, line int) {
	rep := p.rep
	if len(rec) != p.width {
		rep.reject(line, fmt.Sprintf("expected %d fields as in the header, found %d", p.width, len(rec)))
		return
	}
	if err := p.fill(rec, line); err != nil {
		rep.reject(line, err.Error())
	}
}

func (p *rowParser) fill(rec []string, line int) error {
	rep := p.rep
	row := reportRow{line: int32(line), storage: -1, archive: -1, hold: -1}
	row.user = strings.Clone(p.field(rec, cUPN))
	if id := p.field(rec, cUserID); id != "" && !isConcealedName(id) {
		row.userID = strings.ToLower(id)
	}
	if row.user == "" && row.userID == "" {
		return rowError("the user principal name is empty")
	}
	refresh, err := p.date(rec, cRefresh, "Report Refresh Date")
	if err != nil {
		return err
	}
	if refresh == 0 {
		return rowError("the report refresh date is empty")
	}
	row.refresh = refresh
	see := func(f featureIdx, d Day) {
		if d != 0 && row.nobs < maxObs {
			row.obs[row.nobs] = observation{f: f, d: d}
			row.nobs++
		}
	}
	switch rep.Kind {
	case ReportActiveUser:
		for _, w := range []struct {
			c        int
			name     string
			workload string
		}{
			{cExchangeLAD, "Exchange Last Activity Date", WorkloadExchange},
			{cOneDriveLAD, "OneDrive Last Activity Date", WorkloadOneDrive},
			{cSharePointLAD, "SharePoint Last Activity Date", WorkloadSharePoint},
			{cSkypeLAD, "Skype For Business Last Activity Date", WorkloadSkype},
			{cYammerLAD, "Yammer Last Activity Date", WorkloadVivaEngage},
			{cTeamsLAD, "Teams Last Activity Date", WorkloadTeams},
		} {
			d, err := p.date(rec, w.c, w.name)
			if err != nil {
				return err
			}
			see(ft.workload[w.workload], d)
		}
	case ReportMailboxUsage:
		lad, err := p.date(rec, cLAD, "Last Activity Date")
		if err != nil {
			return err
		}
		see(featExchangeMailbox, lad)
		if v := p.field(rec, cStorage); v != "" {
			n, ok := parseCount(v)
			if !ok {
				return rowError(fmt.Sprintf("invalid number %q in column 'Storage Used (Byte)'", v))
			}
			row.storage = n
		}
		if row.archive, err = p.flag(rec, cArchive, "Has Archive"); err != nil {
			return err
		}
		if row.hold, err = p.flag(rec, cHold, "Litigation Hold"); err != nil {
			return err
		}
		row.rtype = recipientTypeIndex(p.field(rec, cRecipient))
		if row.archive == 1 {
			see(featExchangeArchive, refresh)
		}
		if row.hold == 1 {
			see(featLitigationHold, refresh)
		}
	case ReportTeamsActivity:
		lad, err := p.date(rec, cLAD, "Last Activity Date")
		if err != nil {
			return err
		}
		see(ft.workload[WorkloadTeams], lad)
		var chat, meet, calls int64
		for _, c := range []struct {
			c    int
			name string
			sum  *int64
		}{
			{cTeamChat, "Team Chat Message Count", &chat}, {cPrivateChat, "Private Chat Message Count", &chat},
			{cPosts, "Post Messages", &chat}, {cReplies, "Reply Messages", &chat},
			{cMeetings, "Meeting Count", &meet}, {cMeetingsOrganized, "Meetings Organized Count", &meet},
			{cMeetingsAttended, "Meetings Attended Count", &meet}, {cCalls, "Call Count", &calls},
		} {
			n, err := p.count(rec, c.c, c.name)
			if err != nil {
				return err
			}
			*c.sum += n
		}
		if chat > 0 {
			see(featTeamsChat, lad)
		}
		if meet > 0 {
			see(featTeamsMeeting, lad)
		}
		if calls > 0 {
			see(featTeamsCalls, lad)
		}
	case ReportM365Apps:
		lad, err := p.date(rec, cLAD, "Last Activity Date")
		if err != nil {
			return err
		}
		var on [4]int8
		for i, c := range []struct {
			c    int
			name string
		}{{cWindows, "Windows"}, {cMac, "Mac"}, {cWeb, "Web"}, {cMobile, "Mobile"}} {
			if on[i], err = p.flag(rec, c.c, c.name); err != nil {
				return err
			}
		}
		if on[0] == 1 || on[1] == 1 {
			see(featOfficeDesktop, lad)
		}
		if on[2] == 1 {
			see(featOfficeWeb, lad)
		}
		if on[3] == 1 {
			see(featOfficeMobile, lad)
		}
	default: // the per-workload activity reports: one Last Activity Date
		lad, err := p.date(rec, cLAD, "Last Activity Date")
		if err != nil {
			return err
		}
		see(reportWorkloadFeature[rep.Kind], lad)
	}
	if v := p.field(rec, cProducts); v != "" {
		i, ok := rep.productIdx[v]
		if !ok {
			i = uint32(len(rep.products))
			rep.products = append(rep.products, strings.Clone(v))
			rep.productIdx[rep.products[i]] = i
		}
		row.products = i
	}
	if rep.RefreshDate == 0 {
		rep.RefreshDate = refresh
	}
	rep.add(&row)
	return nil
}

var (
	featExchangeMailbox = featureNamed("exchangeMailbox")
	featExchangeArchive = featureNamed("exchangeArchive")
	featLitigationHold  = featureNamed("litigationHold")
	featTeamsChat       = featureNamed("teamsChat")
	featTeamsMeeting    = featureNamed("teamsMeeting")
	featTeamsCalls      = featureNamed("teamsCalls")
	featOfficeDesktop   = featureNamed("officeDesktopApps")
	featOfficeWeb       = featureNamed("officeWebApps")
	featOfficeMobile    = featureNamed("officeMobileApps")

	reportWorkloadFeature = map[string]featureIdx{
		ReportEmailActivity:      featureNamed("exchangeMailbox"),
		ReportOneDriveActivity:   featureNamed("oneDriveFiles"),
		ReportSharePointActivity: featureNamed("sharePointSites"),
		ReportYammerActivity:     featureNamed("vivaEngage"),
	}
)

// SplitProducts splits an Assigned Products value ("A+B+C").
func SplitProducts(v string) []string {
	var out []string
	for _, p := range strings.Split(v, "+") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// isConcealedName reports whether a report's user name is concealed: 32
// hexadecimal digits instead of a name.
func isConcealedName(s string) bool {
	_, ok := parseConcealed(s)
	return ok
}

// parseDate reads a report date: YYYY-MM-DD (Graph) or M/D/YYYY (the admin
// center's export).
func parseDate(s string) (Day, bool) {
	if unix, ok := parseTime([]byte(s)); ok && len(s) == 10 {
		return Day(unix / 86400), true
	}
	parts := strings.Split(s, "/")
	if len(parts) != 3 || len(parts[2]) != 4 || len(parts[0]) == 0 || len(parts[0]) > 2 || len(parts[1]) == 0 || len(parts[1]) > 2 {
		return 0, false
	}
	m, ok1 := digits([]byte(parts[0]))
	d, ok2 := digits([]byte(parts[1]))
	y, ok3 := digits([]byte(parts[2]))
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return Day(daysFromCivil(y, m, d)), true
}

// parseCount reads a non-negative integer.
func parseCount(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
