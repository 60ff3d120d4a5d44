package usage

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func parseFixture(t *testing.T, name, kind string) *Report {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ParseReport(f, kind)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rowObs renders a parsed row: user, then feature@date observations.
func rowObs(r *Report, i int) string {
	row := r.row(i)
	parts := []string{row.user}
	if row.userID != "" {
		parts = append(parts, "id="+row.userID)
	}
	for _, o := range row.obs[:row.nobs] {
		parts = append(parts, o.f.info().name+"@"+o.d.String())
	}
	return strings.Join(parts, " ")
}

func rejectedLines(rs []Rejection) []int {
	var out []int
	for _, r := range rs {
		out = append(out, r.Line)
	}
	return out
}

func TestReportsAreRecognisedFromTheirHeaders(t *testing.T) {
	for file, kind := range map[string]string{
		"getOffice365ActiveUserDetail.csv":    ReportActiveUser,
		"getMailboxUsageDetail.csv":           ReportMailboxUsage,
		"getEmailActivityUserDetail.csv":      ReportEmailActivity,
		"getOneDriveActivityUserDetail.csv":   ReportOneDriveActivity,
		"getSharePointActivityUserDetail.csv": ReportSharePointActivity,
		"getTeamsUserActivityUserDetail.csv":  ReportTeamsActivity,
		"getYammerActivityUserDetail.csv":     ReportYammerActivity,
		"getM365AppUserDetail.csv":            ReportM365Apps,
		"mailbox_shuffled.csv":                ReportMailboxUsage,
	} {
		if r := parseFixture(t, file, ""); r.Kind != kind || r.RefreshDate.String() != "2024-06-30" {
			t.Errorf("%s: kind %s, refresh %s", file, r.Kind, r.RefreshDate)
		}
		// Naming the type (with or without "get") gives the same.
		if r := parseFixture(t, file, strings.TrimPrefix(kind, "get")); r.Kind != kind {
			t.Errorf("%s named: %s", file, r.Kind)
		}
	}
}

func TestActiveUserReportRowsBOMQuotesEmptyDatesConcealedAndMalformed(t *testing.T) {
	r := parseFixture(t, "getOffice365ActiveUserDetail.csv", "")
	want := []string{
		"user1@contoso.example exchangeMailbox@2024-06-29 oneDriveFiles@2024-06-28 sharePointSites@2024-06-20 vivaEngage@2024-05-01 teams@2024-06-30",
		"user2@contoso.example exchangeMailbox@2024-06-15",
		"0123456789ABCDEF0123456789ABCDEF exchangeMailbox@2024-06-29 teams@2024-06-29",
		"user3@contoso.example",
	}
	if r.Len() != len(want) || r.Rows != 6 {
		t.Fatalf("rows %d (read %d), want %d", r.Len(), r.Rows, len(want))
	}
	for i, w := range want {
		if got := rowObs(r, i); got != w {
			t.Errorf("row %d: %q, want %q", i, got, w)
		}
	}
	if got := rejectedLines(r.Rejected); !reflect.DeepEqual(got, []int{6, 7}) {
		t.Fatalf("rejected lines %v: %+v", got, r.Rejected)
	}
	if !strings.Contains(r.Rejected[0].Reason, "expected 24 fields") || !strings.Contains(r.Rejected[1].Reason, `invalid date "30 June" in column 'Exchange Last Activity Date'`) {
		t.Fatalf("reasons %+v", r.Rejected)
	}
	if got := SplitProducts(r.products[r.row(0).products]); !reflect.DeepEqual(got, []string{"MICROSOFT 365 E3", "MICROSOFT POWER BI PRO"}) {
		t.Fatalf("assigned products %v", got)
	}
}

func TestMailboxReportFacts(t *testing.T) {
	r := parseFixture(t, "getMailboxUsageDetail.csv", "")
	if r.Len() != 2 || !reflect.DeepEqual(rejectedLines(r.Rejected), []int{4}) || !strings.Contains(r.Rejected[0].Reason, `invalid value "maybe" in column 'Has Archive'`) {
		t.Fatalf("rows %d rejected %+v", r.Len(), r.Rejected)
	}
	shared := *r.row(1)
	if shared.storage != 62277025792 || shared.archive != 1 || recipientTypes[shared.rtype] != "SharedMailbox" || shared.hold != -1 {
		t.Fatalf("shared row %+v", shared)
	}
	if got := rowObs(r, 1); got != "shared@contoso.example exchangeMailbox@2024-06-27 exchangeArchive@2024-06-30" {
		t.Fatalf("observations %q", got)
	}
}

func TestShuffledColumnsUnknownColumnsCRLFAndBareQuotes(t *testing.T) {
	r := parseFixture(t, "mailbox_shuffled.csv", "")
	if r.Len() != 2 || !reflect.DeepEqual(rejectedLines(r.Rejected), []int{3}) || !strings.Contains(r.Rejected[0].Reason, "malformed CSV") {
		t.Fatalf("rows %d rejected %+v", r.Len(), r.Rejected)
	}
	shared := *r.row(0)
	if shared.user != "shared@contoso.example" || shared.storage != 62277025792 || shared.hold != 1 || shared.archive != 1 {
		t.Fatalf("shared %+v", shared)
	}
	if got := rowObs(r, 0); got != "shared@contoso.example exchangeArchive@2024-06-30 litigationHold@2024-06-30" {
		t.Fatalf("observations %q", got)
	}
	if r.row(1).user != "user1@contoso.example" || r.row(1).hold != 0 {
		t.Fatalf("user1 %+v", r.row(1))
	}
}

func TestPerWorkloadReports(t *testing.T) {
	for _, tc := range []struct {
		file     string
		want     []string
		rejected []int
	}{
		{"getEmailActivityUserDetail.csv", []string{"user1@contoso.example exchangeMailbox@2024-06-29", "user2@contoso.example"}, nil},
		{"getOneDriveActivityUserDetail.csv", []string{"user1@contoso.example oneDriveFiles@2024-06-28", "user2@contoso.example"}, nil},
		{"getSharePointActivityUserDetail.csv", []string{"user1@contoso.example sharePointSites@2024-06-20", "user2@contoso.example sharePointSites@2024-06-26"}, nil},
		{"getTeamsUserActivityUserDetail.csv", []string{
			"user1@contoso.example id=00000000-0000-4000-8000-000000000001 teams@2024-06-30 teamsChat@2024-06-30 teamsMeeting@2024-06-30",
			"user2@contoso.example teams@2024-06-25 teamsCalls@2024-06-25"}, []int{4}},
		{"getYammerActivityUserDetail.csv", []string{"user1@contoso.example vivaEngage@2024-06-12"}, nil},
		{"getM365AppUserDetail.csv", []string{"user1@contoso.example officeDesktopApps@2024-06-29 officeMobileApps@2024-06-29",
			"user2@contoso.example officeWebApps@2024-06-20"}, nil},
	} {
		r := parseFixture(t, tc.file, "")
		var got []string
		for i := 0; i < r.Len(); i++ {
			got = append(got, rowObs(r, i))
		}
		if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(rejectedLines(r.Rejected), tc.rejected) {
			t.Errorf("%s:\n got %q rejected %+v\nwant %q %v", tc.file, got, r.Rejected, tc.want, tc.rejected)
		}
	}
}

func TestReportHeaderErrors(t *testing.T) {
	for _, tc := range []struct{ body, kind, want string }{
		{"", "", "empty"},
		{"Name,Value\nx,1\n", "", "not a recognised usage report"},
		{"Report Refresh Date,Send Count\n2024-06-30,1\n", "", "no 'User Principal Name' column"},
		{"User Principal Name,Send Count\nx@y,1\n", "", "no 'Report Refresh Date' column"},
		{"Report Refresh Date,User Principal Name,Send Count\n", "getMailboxUsageDetail", "not that of a getMailboxUsageDetail report"},
		{"Report Refresh Date,User Principal Name,Send Count\n", "getSomething", "Unknown report"},
	} {
		_, err := ParseReport(strings.NewReader(tc.body), tc.kind)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.body, err, tc.want)
		}
	}
}

func TestReportDatesInBothFormatsAndAnEmptyRefreshDate(t *testing.T) {
	csv := "Report Refresh Date,User Principal Name,Last Activity Date,Send Count\n" +
		"6/30/2024,a@x,6/1/2024,1\n" +
		",b@x,2024-06-01,1\n" +
		"2024-06-30,c@x,2024-02-30,1\n\n"
	r, err := ParseReport(strings.NewReader(csv), "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 1 || rowObs(r, 0) != "a@x exchangeMailbox@2024-06-01" || r.RefreshDate != day("2024-06-30") {
		t.Fatalf("rows %d %q", r.Len(), rowObs(r, 0))
	}
	if got := rejectedLines(r.Rejected); !reflect.DeepEqual(got, []int{3, 4}) {
		t.Fatalf("rejected %+v", r.Rejected)
	}
}

func TestParseDate(t *testing.T) {
	for in, want := range map[string]string{"2024-02-29": "2024-02-29", "1/2/2024": "2024-01-02", "12/31/1999": "1999-12-31"} {
		d, ok := parseDate(in)
		if !ok || d.String() != want {
			t.Errorf("%s: %v %v", in, d, ok)
		}
	}
	for _, in := range []string{"2023-02-29", "13/1/2024", "2024-6-1", "2024/06/01", "", "1/2/24"} {
		if _, ok := parseDate(in); ok {
			t.Errorf("%q accepted", in)
		}
	}
	tm := time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)
	if d, _ := parseDate("2024-06-30"); d != DayOf(tm) {
		t.Fatal(fmt.Sprint(d))
	}
}
