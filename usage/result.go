package usage

import "sort"

// MaxListed is how many rejected rows and unmatched users a Result lists;
// the counts cover all of them.
const MaxListed = 1000

// Result is what one ingestion did. Rows that could not be read are
// rejected (with their line); rows naming a user the tenant does not have
// (or a concealed name without a mapping) are unmatched; the rest are
// accepted (duplicates — events whose id was seen before — are counted
// apart and change nothing).
type Result struct {
	Accepted       int         `json:"accepted"`
	Duplicates     int         `json:"duplicates"`
	Rejected       []Rejection `json:"rejected"`
	RejectedCount  int         `json:"rejectedCount"`
	Unmatched      []Unmatched `json:"unmatched"`
	UnmatchedCount int         `json:"unmatchedCount"`

	// For reports.
	Report            string `json:"report,omitempty"`
	ReportRefreshDate string `json:"reportRefreshDate,omitempty"`
	// Duplicate is set when this report (type and refresh date) was
	// imported before: nothing was changed.
	Duplicate bool `json:"duplicate,omitempty"`
	// NotRecorded is set when a report's rows matched no user: the report
	// is not marked imported (its type and refresh date), so that it can
	// be imported again as it is once the users or the concealed-name
	// mapping exist; Message says what to do.
	NotRecorded bool   `json:"notRecorded,omitempty"`
	Message     string `json:"message,omitempty"`
	// ConcealedCount counts the rows whose concealed name has no mapping.
	ConcealedCount int `json:"concealedCount,omitempty"`
}

// concealedMessage and unmatchedMessage explain a report whose rows
// matched no user.
const (
	concealedMessage = "No row of this report matched a user: its user names are concealed and the tenant has no mapping for them, so the report was not recorded as imported. " +
		"Either upload the concealed-name mapping (PUT /allot/v1/usage/concealed-names, or allot import concealed-names FILE) and import the report again, " +
		"or turn off \"Display concealed user, group, and site names in all reports\" (Microsoft 365 admin center, Settings > Org settings > Reports), download the report again and import it."
	unmatchedMessage = "No row of this report matched a user of the tenant, so the report was not recorded as imported. Check that it comes from this tenant, import the users first, then import the report again."
)

// Unmatched is a user named by the input whom the tenant does not have.
type Unmatched struct {
	Line int    `json:"line"` // first line naming the user
	User string `json:"user"` // as written: a UPN, an id, or a concealed hash
	// Concealed: the report hides user names and the tenant has no mapping
	// for this hash (PUT /allot/v1/usage/concealed-names).
	Concealed        bool     `json:"concealed,omitempty"`
	Count            int      `json:"count"` // rows or events naming the user
	AssignedProducts []string `json:"assignedProducts,omitempty"`
}

func (r *Result) reject(line int, reason string) {
	r.RejectedCount++
	if len(r.Rejected) < MaxListed {
		r.Rejected = append(r.Rejected, Rejection{Line: line, Reason: reason})
	}
}

func (r *Result) addRejected(rs []Rejection) {
	for _, x := range rs {
		r.reject(x.Line, x.Reason)
	}
}

func (r *Result) unmatched(u Unmatched) {
	if len(r.Unmatched) < MaxListed {
		r.Unmatched = append(r.Unmatched, u)
	}
}

// done puts the lists in line order and makes empty lists [] in JSON.
func (r *Result) done() {
	sort.SliceStable(r.Rejected, func(i, j int) bool { return r.Rejected[i].Line < r.Rejected[j].Line })
	if r.Rejected == nil {
		r.Rejected = []Rejection{}
	}
	if r.Unmatched == nil {
		r.Unmatched = []Unmatched{}
	}
}

// Add merges another result (the CLI sums the batches of one file).
func (r *Result) Add(o Result) {
	r.Accepted += o.Accepted
	r.Duplicates += o.Duplicates
	r.RejectedCount += o.RejectedCount
	r.UnmatchedCount += o.UnmatchedCount
	for _, x := range o.Rejected {
		if len(r.Rejected) < MaxListed {
			r.Rejected = append(r.Rejected, x)
		}
	}
	for _, u := range o.Unmatched {
		r.unmatched(u)
	}
	r.done()
}
