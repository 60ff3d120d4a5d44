package usage

// Evidence is where the uses of a feature (and so of the service plans and
// the workload it counts for) were seen: feature events, usage reports by
// type, or both. It is a set, kept per user and feature and united like
// the rest of the aggregates (ingesting twice changes nothing). An empty
// set means the use was recorded before the source was kept (stored
// aggregates of blob version 1).
type Evidence uint16

// EvidenceEvent marks uses seen in feature events (POST
// /allot/v1/usage/events, event files).
const EvidenceEvent Evidence = 1

// evidenceReports are the report types whose rows count as uses, by bit
// (bit i+1 is evidenceReports[i]). The bits are stored: append only.
var evidenceReports = [...]string{ReportActiveUser, ReportMailboxUsage, ReportEmailActivity, ReportOneDriveActivity,
	ReportSharePointActivity, ReportTeamsActivity, ReportYammerActivity, ReportM365Apps}

// evidenceKnown is every bit this version knows.
const evidenceKnown = Evidence(1)<<(1+len(evidenceReports)) - 1

// EvidenceReport returns the evidence of a usage report type (a Graph
// function name such as getOffice365ActiveUserDetail); 0 for an unknown
// name.
func EvidenceReport(report string) Evidence {
	for i, r := range evidenceReports {
		if r == report {
			return 1 << (1 + i)
		}
	}
	return 0
}

// Event reports whether feature events showed the use.
func (e Evidence) Event() bool { return e&EvidenceEvent != 0 }

// Report reports whether any usage report showed the use.
func (e Evidence) Report() bool { return e&^EvidenceEvent != 0 }

// HasReport reports whether the usage report of that type showed the use.
func (e Evidence) HasReport(report string) bool {
	b := EvidenceReport(report)
	return b != 0 && e&b != 0
}

// ForEachReport calls fn with the type of every usage report that showed
// the use, in a fixed order; it allocates nothing.
func (e Evidence) ForEachReport(fn func(report string)) {
	for i, r := range evidenceReports {
		if e&(1<<(1+i)) != 0 {
			fn(r)
		}
	}
}

// EvidenceSource is one source of evidence as the API shows it: source is
// "report" (with the report type) or "event".
type EvidenceSource struct {
	Source string `json:"source"`           // SourceReport or SourceEvent
	Report string `json:"report,omitempty"` // the report type when Source is SourceReport
}

// Evidence source names.
const (
	SourceReport = "report"
	SourceEvent  = "event"
)

// Sources lists the evidence: the reports first (in a fixed order), then
// the events. It is never nil.
func (e Evidence) Sources() []EvidenceSource {
	out := []EvidenceSource{}
	e.ForEachReport(func(r string) { out = append(out, EvidenceSource{Source: SourceReport, Report: r}) })
	if e.Event() {
		out = append(out, EvidenceSource{Source: SourceEvent})
	}
	return out
}
