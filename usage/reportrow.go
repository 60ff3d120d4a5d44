package usage

import (
	"fmt"
	"strings"
)

// Reading one data row of a usage report into observations and facts.

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

// fill parses one row in named steps: the user and refresh date, the
// report's own columns (activity dates, counts, flags: observations of
// features), the assigned products, then the names into the arena.
func (p *rowParser) fill(rec []string, line int) error {
	rep := p.rep
	row := reportRow{line: int32(line), storage: -1, archive: -1, hold: -1}
	upn := p.field(rec, cUPN)
	id := p.field(rec, cUserID)
	if id != "" && isConcealedName(id) {
		id = ""
	}
	if upn == "" && id == "" {
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
	if err := p.observe(rec, &row); err != nil {
		return err
	}
	if v := p.field(rec, cProducts); v != "" {
		row.products = rep.productIndex(v)
	}
	if rep.RefreshDate == 0 {
		rep.RefreshDate = refresh
	}
	rep.keepNames(&row, upn, id)
	rep.add(&row)
	return nil
}

// see records an observation of a feature on a day (none for day 0; at
// most maxObs a row).
func (row *reportRow) see(f featureIdx, d Day) {
	if d != 0 && row.nobs < maxObs {
		row.obs[row.nobs] = observation{f: f, d: d}
		row.nobs++
	}
}

// observe reads the columns of the report's kind into row.
func (p *rowParser) observe(rec []string, row *reportRow) error {
	switch p.rep.Kind {
	case ReportActiveUser:
		return p.activeUser(rec, row)
	case ReportMailboxUsage:
		return p.mailbox(rec, row)
	case ReportTeamsActivity:
		return p.teams(rec, row)
	case ReportM365Apps:
		return p.apps(rec, row)
	}
	// the per-workload activity reports: one Last Activity Date
	lad, err := p.date(rec, cLAD, "Last Activity Date")
	if err != nil {
		return err
	}
	row.see(reportWorkloadFeature[p.rep.Kind], lad)
	return nil
}

// activeUser: each workload's last activity date, and the license assign
// dates (kept beside the rows when any is given).
func (p *rowParser) activeUser(rec []string, row *reportRow) error {
	rep := p.rep
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
		row.see(ft.workload[w.workload], d)
	}
	var ra rowAssign
	any := false
	for k, name := range [...]string{"Exchange", "OneDrive", "SharePoint", "Skype For Business", "Yammer", "Teams"} {
		d, err := p.date(rec, cExchangeAssign+k, name+" License Assign Date")
		if err != nil {
			return err
		}
		ra.date[k], any = d, any || d != 0
	}
	if any {
		ra.row = int32(rep.n)
		rep.assigned = append(rep.assigned, ra)
	}
	return nil
}

// mailbox: the last activity, storage, archive, litigation hold and
// recipient type; an archive or a hold is seen on the refresh date.
func (p *rowParser) mailbox(rec []string, row *reportRow) error {
	lad, err := p.date(rec, cLAD, "Last Activity Date")
	if err != nil {
		return err
	}
	row.see(featExchangeMailbox, lad)
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
		row.see(featExchangeArchive, row.refresh)
	}
	if row.hold == 1 {
		row.see(featLitigationHold, row.refresh)
	}
	return nil
}

// teams: chat, meeting and call counts; each kind used is seen on the last
// activity date.
func (p *rowParser) teams(rec []string, row *reportRow) error {
	lad, err := p.date(rec, cLAD, "Last Activity Date")
	if err != nil {
		return err
	}
	row.see(ft.workload[WorkloadTeams], lad)
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
		row.see(featTeamsChat, lad)
	}
	if meet > 0 {
		row.see(featTeamsMeeting, lad)
	}
	if calls > 0 {
		row.see(featTeamsCalls, lad)
	}
	return nil
}

// apps: the platforms used; each is seen on the last activity date.
func (p *rowParser) apps(rec []string, row *reportRow) error {
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
		row.see(featOfficeDesktop, lad)
	}
	if on[2] == 1 {
		row.see(featOfficeWeb, lad)
	}
	if on[3] == 1 {
		row.see(featOfficeMobile, lad)
	}
	return nil
}

// productIndex interns an Assigned Products value.
func (rep *Report) productIndex(v string) uint32 {
	i, ok := rep.productIdx[v]
	if !ok {
		i = uint32(len(rep.products))
		rep.products = append(rep.products, strings.Clone(v))
		rep.productIdx[rep.products[i]] = i
	}
	return i
}

// keepNames puts the user's names in the arena (the id in lower case);
// Report.seal makes them strings.
func (rep *Report) keepNames(row *reportRow, upn, id string) {
	row.user, row.userID = "", ""
	row.upnAt, row.upnLen = int32(len(rep.arena)), int32(len(upn))
	rep.arena = append(rep.arena, upn...)
	row.idAt, row.idLen = int32(len(rep.arena)), int32(len(id))
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		rep.arena = append(rep.arena, c)
	}
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
