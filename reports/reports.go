// Package reports is the Microsoft 365 usage reports allot serves in the
// format of Microsoft Graph's reports API (the CSVs of
// getOffice365ActiveUserDetail, getMailboxUsageDetail and the per-workload
// activity reports), written from allot's own usage data (package usage)
// and licenses, and the tenant's report settings (reportSettings:
// displayConcealedNames).
//
// What allot writes is what its usage importer reads back
// (usage.ParseReport): the same columns, dates as YYYY-MM-DD, Assigned
// Products as "+"-joined upper-case product names. Columns allot has no
// data for (item counts, quotas, message counts) are empty. A report
// imported back through usage gives the same last activity dates, mailbox
// facts and license assign dates.
package reports

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	"allot"
	"allot/catalog"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
	"allot/usage"
)

// KindSettings is the store kind of the tenant's report settings: one
// object, id SettingsID.
const KindSettings store.Kind = "reportSettings"

// SettingsID is the id of the report settings object.
const SettingsID = "reportSettings"

// Settings are Graph's adminReportSettings.
type Settings struct {
	// DisplayConcealedNames: user names in reports are concealed (hashes).
	// Microsoft conceals them by default since 2021; so does allot.
	DisplayConcealedNames bool `json:"displayConcealedNames"`
}

// SettingsOf returns the tenant's report settings (the default when never
// set).
func SettingsOf(s *tenant.State) (Settings, error) {
	v := Settings{DisplayConcealedNames: true}
	_, err := s.Decode(KindSettings, SettingsID, &v)
	return v, err
}

// SetSettings stores the tenant's report settings (inside Tenant.Do).
func SetSettings(tx *tenant.Tx, v Settings) error { return tx.Put(KindSettings, SettingsID, v) }

// Conceal is the concealed form of a user name in a tenant's reports: 32
// upper-case hexadecimal digits, the same for the same user in every
// report of the tenant, different between tenants (the first 16 bytes of
// SHA-256 of the tenant id and the lower-cased name). usage maps them back
// through the tenant's concealed-name mapping.
func Conceal(tenantID, name string) string {
	h := sha256.Sum256([]byte(tenantID + "\x00" + strings.ToLower(name)))
	return strings.ToUpper(hex.EncodeToString(h[:16]))
}

// Period is a report's period: D7, D30, D90 or D180.
type Period struct {
	Days int
}

// ParsePeriod reads "D7", "D30", "D90" or "D180" (EINVALID otherwise).
func ParsePeriod(s string) (Period, error) {
	switch s {
	case "D7", "D30", "D90", "D180":
		n, _ := strconv.Atoi(s[1:])
		return Period{Days: n}, nil
	}
	return Period{}, allot.Errorf(allot.EINVALID, "Invalid period '%s': use D7, D30, D90 or D180.", s)
}

// Names are the reports Build writes.
var Names = []string{usage.ReportActiveUser, usage.ReportMailboxUsage, usage.ReportEmailActivity,
	usage.ReportOneDriveActivity, usage.ReportSharePointActivity, usage.ReportTeamsActivity, usage.ReportYammerActivity, usage.ReportM365Apps}

// Request is one report to write.
type Request struct {
	Report   string // one of Names
	TenantID string
	// Period, or Date (a day: only the users active that day, with Date as
	// Report Refresh Date). Exactly one is set.
	Period Period
	Date   time.Time
	// Today is the report's refresh date for a Period report.
	Today time.Time
}

// workloads of the active-user report, in its column order: header name
// and usage's workload.
var workloads = []struct{ name, workload string }{
	{"Exchange", usage.WorkloadExchange}, {"OneDrive", usage.WorkloadOneDrive}, {"SharePoint", usage.WorkloadSharePoint},
	{"Skype For Business", usage.WorkloadSkype}, {"Yammer", usage.WorkloadVivaEngage}, {"Teams", usage.WorkloadTeams},
}

// workloadPlans: service plan id → the workloads whose features it grants
// (the feature map).
var workloadPlans = func() map[string][]string {
	m := map[string][]string{}
	for _, f := range usage.Features() {
		for _, p := range f.Plans {
			if !slices.Contains(m[p.ID], f.Workload) {
				m[p.ID] = append(m[p.ID], f.Workload)
			}
		}
	}
	return m
}()

// Build writes a report's CSV (UTF-8 with a byte-order mark, as Microsoft's
// downloads are). Call inside Tenant.Read.
func Build(s *tenant.State, req Request) ([]byte, error) {
	settings, err := SettingsOf(s)
	if err != nil {
		return nil, err
	}
	agg := usage.Of(s)
	e := s.Engine
	cat := e.Catalog()
	var ids []string
	e.ForEachUser(func(u *licensing.User) bool {
		ids = append(ids, u.ID)
		return true
	})
	slices.Sort(ids)
	// A period report is as of the newest day allot has usage data for
	// (Microsoft's refresh date is the day its data is current to), or
	// today without any; a date report is as of its date.
	rows := make([]userRow, 0, len(ids))
	var newest usage.Day
	for _, id := range ids {
		u, _ := e.User(id)
		uu, _ := agg.User(id)
		for _, f := range uu.Features {
			newest = max(newest, usage.DayOf(f.Last))
		}
		newest = max(newest, uu.Mailbox.ReportDate)
		rows = append(rows, userRow{u: &u, usage: uu, lics: e.Licenses(id), period: req.Period})
	}
	refresh := usage.DayOf(req.Today)
	if !req.Date.IsZero() {
		refresh = usage.DayOf(req.Date)
	} else if newest != 0 && newest < refresh {
		refresh = newest
	}
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	header, row := writerFor(req.Report)
	if header == nil {
		return nil, allot.Errorf(allot.EINVALID, "Unknown report %q.", req.Report)
	}
	_ = w.Write(header)
	for i := range rows {
		r := &rows[i]
		r.refresh = refresh
		if !req.Date.IsZero() && !r.activeOn(refresh) {
			continue
		}
		r.upn, r.name = r.u.UserPrincipalName, r.u.DisplayName
		if settings.DisplayConcealedNames {
			r.upn = Conceal(req.TenantID, r.u.UserPrincipalName)
			r.name = r.upn
		}
		if rec := row(r, cat); rec != nil {
			_ = w.Write(rec)
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// userRow is what a row is written from.
type userRow struct {
	u         *licensing.User
	usage     usage.UserUsage
	lics      []licensing.License
	refresh   usage.Day
	period    Period
	upn, name string
}

func day(d usage.Day, ok bool) string {
	if !ok || d == 0 {
		return ""
	}
	return d.String()
}

func boolStr(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// last is a workload's last activity on or before the refresh date.
func (r *userRow) last(workload string) (usage.Day, bool) {
	d, ok := r.usage.WorkloadLastActivity(workload)
	return d, ok && d <= r.refresh
}

// feature is a feature's last use on or before the refresh date.
func (r *userRow) feature(id string) (usage.Day, bool) {
	f, ok := r.usage.Feature(id)
	if !ok {
		return 0, false
	}
	d := usage.DayOf(f.Last)
	return d, d <= r.refresh
}

// activeOn reports whether the user used any workload on day d.
func (r *userRow) activeOn(d usage.Day) bool {
	for _, f := range r.usage.Features {
		if f.Days.Has(d) {
			return true
		}
	}
	return false
}

// held is whether the user holds a seat of a product that grants a
// workload, and the earliest grant of one.
func (r *userRow) held(cat *catalog.Catalog, workload string) (bool, usage.Day) {
	has, first := false, usage.Day(0)
	for i := range r.lics {
		l := &r.lics[i]
		sku, ok := cat.SKU(l.SKUID)
		if !l.Held || !ok || !grants(sku, workload) {
			continue
		}
		has = true
		if d := usage.DayOf(l.GrantDate()); first == 0 || d < first {
			first = d
		}
	}
	return has, first
}

func grants(sku *catalog.SKU, workload string) bool {
	for _, p := range sku.Plans {
		if slices.Contains(workloadPlans[p.ID], workload) {
			return true
		}
	}
	return false
}

// products is Assigned Products: the held products' display names, upper
// case, joined with "+" (usage.AssignedProducts reads them back).
func (r *userRow) products(cat *catalog.Catalog) string {
	var names []string
	for i := range r.lics {
		l := &r.lics[i]
		if sku, ok := cat.SKU(l.SKUID); ok && l.Held && sku.DisplayName != "" {
			if n := strings.ToUpper(sku.DisplayName); !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return strings.Join(names, "+")
}

// writerFor returns a report's header and row writer (nil for an unknown
// report). A row writer returns nil to leave the user out.
func writerFor(report string) ([]string, func(r *userRow, cat *catalog.Catalog) []string) {
	switch report {
	case usage.ReportActiveUser:
		h := []string{"Report Refresh Date", "User Principal Name", "Display Name", "Is Deleted", "Deleted Date"}
		for _, w := range workloads {
			h = append(h, "Has "+w.name+" License")
		}
		for _, w := range workloads {
			h = append(h, w.name+" Last Activity Date")
		}
		for _, w := range workloads {
			h = append(h, w.name+" License Assign Date")
		}
		h = append(h, "Assigned Products")
		return h, func(r *userRow, cat *catalog.Catalog) []string {
			products := r.products(cat)
			if products == "" && len(r.usage.Features) == 0 {
				return nil // neither licensed nor seen active
			}
			rec := []string{r.refresh.String(), r.upn, r.name, "False", ""}
			var assign []string
			for _, w := range workloads {
				has, first := r.held(cat, w.workload)
				rec = append(rec, boolStr(has))
				assign = append(assign, day(first, has))
			}
			for _, w := range workloads {
				rec = append(rec, day(r.last(w.workload)))
			}
			rec = append(rec, assign...)
			return append(rec, products)
		}
	case usage.ReportMailboxUsage:
		h := []string{"Report Refresh Date", "User Principal Name", "Display Name", "Is Deleted", "Deleted Date", "Created Date",
			"Last Activity Date", "Item Count", "Storage Used (Byte)", "Issue Warning Quota (Byte)", "Prohibit Send Quota (Byte)",
			"Prohibit Send/Receive Quota (Byte)", "Deleted Item Count", "Deleted Item Size (Byte)", "Deleted Item Quota (Byte)",
			"Has Archive", "Recipient Type", "Report Period"}
		return h, func(r *userRow, cat *catalog.Catalog) []string {
			mb := r.usage.Mailbox
			lad, ok := r.feature("exchangeMailbox")
			if !mb.Known && !ok {
				return nil // no mailbox allot knows of
			}
			storage, archive, rtype := "", "", ""
			if mb.Known {
				storage, archive, rtype = strconv.FormatInt(mb.StorageUsedBytes, 10), boolStr(mb.HasArchive), mb.RecipientType
			}
			period := ""
			if r.period.Days > 0 {
				period = strconv.Itoa(r.period.Days)
			}
			return []string{r.refresh.String(), r.upn, r.name, "False", "", day(usage.DayOf(r.u.CreatedAt), !r.u.CreatedAt.IsZero()),
				day(lad, ok), "", storage, "", "", "", "", "", "", archive, rtype, period}
		}
	case usage.ReportM365Apps:
		return appsReport()
	}
	// The per-workload activity reports: the workload's last activity (of
	// any of its features) and the products; allot keeps no counts (empty).
	var w struct {
		workload string
		counts   []string
	}
	switch report {
	case usage.ReportEmailActivity:
		w.workload, w.counts = usage.WorkloadExchange, []string{"Send Count", "Receive Count", "Read Count"}
	case usage.ReportOneDriveActivity:
		w.workload, w.counts = usage.WorkloadOneDrive, []string{"Viewed Or Edited File Count", "Synced File Count", "Shared Internally File Count", "Shared Externally File Count"}
	case usage.ReportSharePointActivity:
		w.workload, w.counts = usage.WorkloadSharePoint, []string{"Viewed Or Edited File Count", "Synced File Count", "Shared Internally File Count", "Shared Externally File Count", "Visited Page Count"}
	case usage.ReportYammerActivity:
		w.workload, w.counts = usage.WorkloadVivaEngage, []string{"Posted Count", "Read Count", "Liked Count"}
	case usage.ReportTeamsActivity:
		w.workload, w.counts = usage.WorkloadTeams, []string{"Team Chat Message Count", "Private Chat Message Count", "Call Count", "Meeting Count"}
	default:
		return nil, nil
	}
	h := append([]string{"Report Refresh Date", "User Principal Name", "Display Name", "Is Deleted", "Deleted Date", "Last Activity Date"}, w.counts...)
	h = append(h, "Assigned Products", "Report Period")
	return h, func(r *userRow, cat *catalog.Catalog) []string {
		lad, ok := r.last(w.workload)
		if !ok {
			return nil
		}
		rec := []string{r.refresh.String(), r.upn, r.name, "False", "", lad.String()}
		for range w.counts {
			rec = append(rec, "")
		}
		period := ""
		if r.period.Days > 0 {
			period = strconv.Itoa(r.period.Days)
		}
		return append(rec, r.products(cat), period)
	}
}

// appsApps are the apps of getM365AppUserDetail's columns, in order.
var appsApps = []string{"Outlook", "Word", "Excel", "PowerPoint", "OneNote", "Teams"}

// appsReport is getM365AppUserDetail: a row for each user seen using the
// Microsoft 365 apps (the features officeDesktopApps, officeMobileApps,
// officeWebApps), Last Activity Date the latest of them. allot keeps
// whether the desktop apps were used, not on which system: Windows says it
// (Yes/No) and Mac is empty, as are Last Activation Date and the per-app
// columns (allot keeps no per-app use), which the usage importer does not
// read.
func appsReport() ([]string, func(r *userRow, cat *catalog.Catalog) []string) {
	h := []string{"Report Refresh Date", "User Principal Name", "Last Activation Date", "Last Activity Date", "Report Period",
		"Windows", "Mac", "Mobile", "Web"}
	h = append(h, appsApps...)
	for _, platform := range []string{"Windows", "Mac", "Mobile", "Web"} {
		for _, a := range appsApps {
			h = append(h, a+" ("+platform+")")
		}
	}
	yesNo := func(ok bool) string {
		if ok {
			return "Yes"
		}
		return "No"
	}
	return h, func(r *userRow, cat *catalog.Catalog) []string {
		desktop, okD := r.feature("officeDesktopApps")
		mobile, okM := r.feature("officeMobileApps")
		web, okW := r.feature("officeWebApps")
		if !okD && !okM && !okW {
			return nil
		}
		var lad usage.Day
		for _, d := range []struct {
			d  usage.Day
			ok bool
		}{{desktop, okD}, {mobile, okM}, {web, okW}} {
			if d.ok {
				lad = max(lad, d.d)
			}
		}
		period := ""
		if r.period.Days > 0 {
			period = strconv.Itoa(r.period.Days)
		}
		rec := []string{r.refresh.String(), r.upn, "", lad.String(), period, yesNo(okD), "", yesNo(okM), yesNo(okW)}
		for i := len(rec); i < len(h); i++ {
			rec = append(rec, "")
		}
		return rec
	}
}
