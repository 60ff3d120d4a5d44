package usage

import (
	"encoding/csv"
	"errors"
	"io"
	"slices"
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
	cExchangeAssign // "<workload> License Assign Date", in assignWorkloads order
	cOneDriveAssign
	cSharePointAssign
	cSkypeAssign
	cYammerAssign
	cTeamsAssign
	nColumns
)

// columns maps normalised header names (lower case, single spaces) to
// column identifiers. Several names may mean one column.
var columns = map[string]int{
	"report refresh date":                    cRefresh,
	"user principal name":                    cUPN,
	"user id":                                cUserID,
	"last activity date":                     cLAD,
	"assigned products":                      cProducts,
	"exchange last activity date":            cExchangeLAD,
	"onedrive last activity date":            cOneDriveLAD,
	"sharepoint last activity date":          cSharePointLAD,
	"skype for business last activity date":  cSkypeLAD,
	"yammer last activity date":              cYammerLAD,
	"teams last activity date":               cTeamsLAD,
	"storage used (byte)":                    cStorage,
	"has archive":                            cArchive,
	"recipient type":                         cRecipient,
	"litigation hold":                        cHold,
	"litigation hold enabled":                cHold,
	"is litigation hold enabled":             cHold,
	"litigationholdenabled":                  cHold,
	"has litigation hold":                    cHold,
	"team chat message count":                cTeamChat,
	"private chat message count":             cPrivateChat,
	"post messages":                          cPosts,
	"reply messages":                         cReplies,
	"call count":                             cCalls,
	"meeting count":                          cMeetings,
	"meetings organized count":               cMeetingsOrganized,
	"meetings attended count":                cMeetingsAttended,
	"windows":                                cWindows,
	"mac":                                    cMac,
	"mobile":                                 cMobile,
	"web":                                    cWeb,
	"send count":                             cSend,
	"visited page count":                     cVisited,
	"synced file count":                      cSynced,
	"posted count":                           cPosted,
	"liked count":                            cLiked,
	"last activation date":                   cActivation,
	"exchange license assign date":           cExchangeAssign,
	"onedrive license assign date":           cOneDriveAssign,
	"sharepoint license assign date":         cSharePointAssign,
	"skype for business license assign date": cSkypeAssign,
	"yammer license assign date":             cYammerAssign,
	"teams license assign date":              cTeamsAssign,
}

// assignWorkloads are the workloads of the active-user report's License
// Assign Date columns (cExchangeAssign …).
var assignWorkloads = [...]string{WorkloadExchange, WorkloadOneDrive, WorkloadSharePoint, WorkloadSkype, WorkloadVivaEngage, WorkloadTeams}

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
	products   []string            // distinct Assigned Products values; index 0 is none
	assigned   []rowAssign         // License Assign Dates (active-user report), by row
	split      map[uint32][]string // products[i] split by display names (productNames)
	names      productNames
	productIdx map[string]uint32
	res        resolver
	arena      []byte // the rows' user names while reading (one string, not one per row)
}

// seal turns the arena into one string the rows' names slice.
func (r *Report) seal() {
	all := string(r.arena)
	r.arena = nil
	for _, chunk := range r.rows {
		for i := range chunk {
			row := &chunk[i]
			row.user = all[row.upnAt : row.upnAt+row.upnLen]
			row.userID = all[row.idAt : row.idAt+row.idLen]
		}
	}
}

const rowChunk = 16384

// maxObs is the most observations a row makes (the six workloads of the
// active-user report).
const maxObs = 6

type reportRow struct {
	user, userID  string // set by seal, from the arena
	upnAt, upnLen int32
	idAt, idLen   int32
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

// rowAssign is a row's License Assign Dates, by assignWorkloads (0:
// none).
type rowAssign struct {
	row  int32
	date [len(assignWorkloads)]Day
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
	cr := newCSVReader(r)
	header, err := cr.read()
	header = slices.Clone(header) // the reader reuses its fields
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
		// rec is valid until the next read: the row parser copies what it
		// keeps.
		rec, err := cr.read()
		if errors.Is(err, io.EOF) {
			break
		}
		line := cr.line()
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
	rep.seal()
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
