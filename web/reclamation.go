package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"allot"
	"allot/api/respond"
	"allot/api/server"
	"allot/auth"
	"allot/position"
	"allot/reclamation"
	"allot/tenant"
)

// The reclamation campaigns pages (served when Options.Reclamation is
// given): /admin/reclamation lists the tenant's campaigns with their
// state and, for those who may (auth.ManageReclamation, as the
// /allot/v1/reclamation API), a form that builds a campaign from the
// findings; /admin/reclamation/{id} shows a campaign — the preview of a
// draft (who is in it, the monthly saving, who is excluded and why) and
// each member's state — with the buttons its state allows: start,
// approve (another administrator than the creator, when required),
// cancel, and restore the licenses a completed campaign removed. Every
// button calls the reclamation service the API calls, with the viewer as
// the principal, so the rules (states, the second administrator) are the
// service's.

func registerReclamation(s *server.Server, h *handler) {
	s.HandlePublic("GET /admin/reclamation", h.page(auth.ReadReclamation, h.campaignsPage))
	s.HandlePublic("POST /admin/reclamation", h.page(auth.ManageReclamation, h.createCampaign))
	s.HandlePublic("GET /admin/reclamation/{id}", h.page(auth.ReadReclamation, h.campaignPage))
	s.HandlePublic("POST /admin/reclamation/{id}/{action}", h.page(auth.ManageReclamation, h.campaignAction))
}

// CanReclamation: the navigation shows the campaigns page.
func (v *viewer) CanReclamation() bool { return v.reclaim && v.can(auth.ReadReclamation) }

// CanManageReclamation: the pages show the forms and buttons.
func (v *viewer) CanManageReclamation() bool { return v.can(auth.ManageReclamation) }

type campaignsData struct {
	Campaigns []reclamation.Campaign
	// The form: its values (those of a refused form, kept), the finding
	// kinds and the products to choose from.
	Form     formValues
	Kinds    []kindOption
	Products []productOption
	Err      string
}

type kindOption struct{ Kind, Title string }

type productOption struct{ ID, PartNumber, DisplayName string }

// formValues are a form's values for the template: Get, and Checked for
// checkboxes and options (with the defaults of an empty form).
type formValues struct {
	url.Values
	defaults map[string][]string
}

// Checked reports whether a checkbox or option is on: as posted, or the
// default of a form not posted yet.
func (f formValues) Checked(name, value string) bool {
	if f.Values == nil {
		return slices.Contains(f.defaults[name], value)
	}
	return slices.Contains(f.Values[name], value)
}

// monthly formats a monthly saving in a currency ("—" when unpriced).
func monthly(v *float64, currency string) string {
	if v == nil {
		return "—"
	}
	return strings.TrimSpace(fmt.Sprintf("%.2f %s", *v, currency))
}

func (h *handler) campaignsData(v *viewer, form url.Values) (campaignsData, error) {
	d := campaignsData{Form: formValues{Values: form, defaults: map[string][]string{"kind": reclamation.DefaultKinds, "action": {reclamation.Remove}}}}
	for _, k := range reclamation.Kinds {
		d.Kinds = append(d.Kinds, kindOption{k, position.KindTitle(k)})
	}
	var err error
	v.T.Read(func(s *tenant.State) {
		for _, p := range s.Engine.Pools() {
			d.Products = append(d.Products, productOption{p.SKU.ID, p.SKU.PartNumber, p.SKU.DisplayName})
		}
		d.Campaigns, err = reclamation.Campaigns(s)
	})
	return d, err
}

func (h *handler) campaignsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, err := h.campaignsData(v, nil)
	if err != nil {
		h.failErr(w, r, v, err)
		return
	}
	h.render(w, r, v, http.StatusOK, "reclamation", pageData{Title: "Reclamation campaigns", Nav: "reclamation", Data: d})
}

// specOf reads a campaign's spec from the create form: empty fields are
// left to the defaults (reminderDaysBefore empty: the default, 0: none).
func specOf(f url.Values) (reclamation.Spec, error) {
	s := reclamation.Spec{ID: strings.TrimSpace(f.Get("id")), DisplayName: strings.TrimSpace(f.Get("displayName")),
		GroupID: strings.TrimSpace(f.Get("groupId")), Action: f.Get("action"), Message: strings.TrimSpace(f.Get("message")),
		RequireApproval: f.Get("requireApproval") != "", NotifyManager: f.Get("notifyManager") != "",
		ManagerAttribute: strings.TrimSpace(f.Get("managerAttribute"))}
	for _, k := range f["kind"] {
		if k != "" {
			s.Kinds = append(s.Kinds, k)
		}
	}
	for _, sku := range f["sku"] {
		if sku != "" {
			s.SKUs = append(s.SKUs, sku)
		}
	}
	if s.Action == reclamation.Downgrade {
		s.DowngradeTo = f.Get("downgradeTo")
	}
	if !s.NotifyManager {
		s.ManagerAttribute = ""
	}
	var bad []string
	whole := func(name string) *int {
		v := strings.TrimSpace(f.Get(name))
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			bad = append(bad, name)
			return nil
		}
		return &n
	}
	if n := whole("graceDays"); n != nil {
		s.GraceDays = *n
		if s.GraceDays == 0 {
			bad = append(bad, "graceDays")
		}
	}
	s.ReminderDaysBefore = whole("reminderDaysBefore")
	if len(bad) > 0 {
		return s, invalidErr("%s must be a whole number of days (graceDays at least 1).", strings.Join(bad, " and "))
	}
	return s, nil
}

// createCampaign builds a campaign from the form (the service's Create,
// as POST /allot/v1/reclamation/campaigns) and shows its preview; a
// refused form comes back with its values and the reason, with the
// refusal's status.
func (h *handler) createCampaign(w http.ResponseWriter, r *http.Request, v *viewer) {
	spec, err := specOf(r.PostForm)
	var c reclamation.Campaign
	if err == nil {
		c, _, err = h.reclaim.Create(r.Context(), v.T, spec, v.P.Actor(), v.P.TokenID)
	}
	if err == nil {
		h.setFlash(w, r, true, "Campaign "+campaignName(c)+" created as a draft: check who is in it, then start it. Nothing is sent before.")
		http.Redirect(w, r, "/admin/reclamation/"+url.PathEscape(c.ID), http.StatusSeeOther)
		return
	}
	status := respond.StatusOf(err)
	if status >= 500 {
		h.failErr(w, r, v, err)
		return
	}
	d, derr := h.campaignsData(v, r.PostForm)
	if derr != nil {
		h.failErr(w, r, v, derr)
		return
	}
	d.Err = allot.ErrorMessage(err)
	h.render(w, r, v, status, "reclamation", pageData{Title: "Reclamation campaigns", Nav: "reclamation", Data: d})
}

func campaignName(c reclamation.Campaign) string {
	if c.DisplayName != "" {
		return c.DisplayName
	}
	return c.ID
}

// membersPageSize is how many members the campaign page lists at a time.
const membersPageSize = 100

type campaignData struct {
	C reclamation.Campaign
	// Buttons the campaign's state allows (shown to those who may act).
	CanStart, CanApprove, CanCancel, CanRestore bool
	DowngradeName                               string
	Kinds                                       []string // titles
	Products                                    []string // the skus filter, by part number
	// States are the filters of the member list with their counts; State
	// is the one shown ("" all).
	States  []stateCount
	State   string
	Members []memberRow
	Pager   pager
}

type stateCount struct {
	State, Title string
	Count        int
}

type memberRow struct {
	reclamation.Member
	Finding string
	Saving  string
}

// memberStates are the member list's filters, in the order of a
// campaign's life.
var memberStates = []stateCount{
	{State: reclamation.MemberPending, Title: "Pending"},
	{State: reclamation.MemberNotified, Title: "Noticed"},
	{State: reclamation.MemberKept, Title: "Kept"},
	{State: reclamation.MemberRemoved, Title: "Removed"},
	{State: reclamation.MemberSkipped, Title: "Skipped"},
	{State: reclamation.MemberRestored, Title: "Restored"},
	{State: reclamation.MemberRestoreFailed, Title: "Restore failed"},
	{State: reclamation.MemberExcluded, Title: "Excluded"},
}

// stateTitle names a member state for people.
func stateTitle(state string) string {
	for _, s := range memberStates {
		if s.State == state {
			return s.Title
		}
	}
	return state
}

func (h *handler) campaignPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	q := r.URL.Query()
	d := campaignData{State: q.Get("state")}
	if d.State != "" && !slices.ContainsFunc(memberStates, func(s stateCount) bool { return s.State == d.State }) {
		h.fail(w, r, v, http.StatusBadRequest, "state "+strconv.Quote(d.State)+" is not a member state.")
		return
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	offset = max(0, offset)
	var ms []reclamation.Member
	var err error
	v.T.Read(func(s *tenant.State) {
		if d.C, err = reclamation.Get(s, r.PathValue("id")); err == nil {
			ms, err = reclamation.Members(s, d.C.ID)
		}
		if err == nil {
			d.DowngradeName = d.C.DowngradeTo
			if sku, ok := s.Engine.Catalog().SKU(d.C.DowngradeSKUID); ok {
				d.DowngradeName = sku.PartNumber
			}
			for _, ref := range d.C.SKUs {
				if sku, ok := s.Engine.Catalog().SKU(ref); ok {
					ref = sku.PartNumber
				}
				d.Products = append(d.Products, ref)
			}
		}
	})
	if err != nil {
		h.failErr(w, r, v, err)
		return
	}
	c := &d.C
	d.CanStart = c.Status == reclamation.Draft
	d.CanApprove = c.RequireApproval && c.ApprovedAt.IsZero() && (c.Status == reclamation.Draft || c.Status == reclamation.AwaitingApproval)
	d.CanCancel = c.Status == reclamation.Draft || c.Status == reclamation.AwaitingApproval || c.Status == reclamation.Running
	d.CanRestore = c.Status == reclamation.Completed
	for _, k := range c.Kinds {
		d.Kinds = append(d.Kinds, position.KindTitle(k))
	}
	d.members(r, ms, offset)
	h.render(w, r, v, http.StatusOK, "campaign", pageData{Title: campaignName(d.C), Nav: "reclamation", Data: d})
}

// members fills the member list: the counts by state, and one page of the
// members in the state shown.
func (d *campaignData) members(r *http.Request, ms []reclamation.Member, offset int) {
	count := map[string]int{}
	var shown []reclamation.Member
	for _, m := range ms {
		count[m.State]++
		if d.State == "" || m.State == d.State {
			shown = append(shown, m)
		}
	}
	for _, s := range memberStates {
		if s.Count = count[s.State]; s.Count > 0 {
			d.States = append(d.States, s)
		}
	}
	d.Pager = pager{Total: len(shown), One: "member", Many: "members"}
	offset = min(offset, len(shown))
	end := min(len(shown), offset+membersPageSize)
	for i := offset; i < end; i++ {
		m := shown[i]
		d.Members = append(d.Members, memberRow{Member: m, Finding: position.KindTitle(m.Kind), Saving: monthly(m.MonthlySaving, d.C.Currency)})
	}
	if offset > 0 {
		d.Pager.First = withQuery(r.URL, "offset", "")
		d.Pager.Prev = withQuery(r.URL, "offset", strconv.Itoa(max(0, offset-membersPageSize)))
	}
	if end < len(shown) {
		d.Pager.Next = withQuery(r.URL, "offset", strconv.Itoa(end))
	}
}

// campaignAction runs a campaign's button through the service (as POST
// /allot/v1/reclamation/campaigns/{id}/{action}) and comes back to the
// campaign with the outcome.
func (h *handler) campaignAction(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	ctx := r.Context()
	var c reclamation.Campaign
	var err error
	switch r.PathValue("action") {
	case "start":
		c, err = h.reclaim.StartCampaign(ctx, v.T, id, v.P.Actor())
	case "approve":
		c, err = h.reclaim.Approve(ctx, v.T, id, v.P.Actor(), v.P.TokenID)
	case "cancel":
		c, err = h.reclaim.Cancel(ctx, v.T, id, v.P.Actor())
	case "restore":
		c, err = h.reclaim.Restore(ctx, v.T, id, v.P.Actor())
	default:
		h.notFound(w, r, v)
		return
	}
	to := "/admin/reclamation/" + url.PathEscape(id)
	if allot.ErrorCode(err) == allot.ENOTFOUND {
		to = "/admin/reclamation"
	}
	h.done(w, r, to, err, actionText(r.PathValue("action"), c))
}

// actionText says what a campaign's button did, by the state it left.
func actionText(action string, c reclamation.Campaign) string {
	switch {
	case action == "approve" && c.Status == reclamation.Running:
		return "Campaign approved and running: the notices go out in a moment."
	case action == "approve":
		return "Campaign approved: starting it sends the notices."
	}
	switch c.Status {
	case reclamation.AwaitingApproval:
		return "Campaign started: it awaits the approval of another administrator; nothing is sent before."
	case reclamation.Running:
		return "Campaign running: the notices go out in a moment."
	case reclamation.Cancelled:
		return "Campaign cancelled: nothing more is sent or removed, and its links no longer work."
	case reclamation.Restored:
		k := c.Counts
		if k.RestoreFailed > 0 {
			return fmt.Sprintf("%s restored; %s could not be (see each member's note).", plural(k.Restored, "license", "licenses"), plural(k.RestoreFailed, "license", "licenses"))
		}
		return plural(k.Restored, "license", "licenses") + " restored."
	}
	return "Campaign " + string(c.Status) + "."
}
