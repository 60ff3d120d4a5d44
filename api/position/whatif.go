package positionapi

import (
	"net/http"

	"allot"
	"allot/api/respond"
	"allot/auth"
	"allot/position"
	"allot/position/snapshotstore"
	"allot/tenant"
	"allot/whatif"
)

// MaxWhatIfBody bounds a what-if request.
const MaxWhatIfBody = 1 << 20

// whatIf: POST /allot/v1/whatif[?asOf=YYYY-MM-DD][&windowDays=N] —
// {"commands":[…]} tried on the tenant's writer's copy and set back
// (package whatif, tenant.Tenant.Try): nothing is committed. Readers of
// the position may ask (the answer shows nothing the position and the
// directory do not); delegated allotment owners may not (the commands
// reach beyond their allotments).
func (h *handler) whatIf(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ReadLicenseUsage, false)
	if !ok {
		return
	}
	o, err := h.params(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	var in whatIfRequest
	if err := respond.Decode(r, &in, MaxWhatIfBody, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	if err := whatif.Check(in.Commands); err != nil {
		respond.Error(w, r, err)
		return
	}
	whatif.Prepare(in.Commands, auth.NewID)
	if !acquire(w, r) {
		return
	}
	defer release()
	// The commands run on the tenant's writer's copy, which is set back
	// afterwards (tenant.Tenant.Try): no copy of the tenant is made. The
	// position of the state before, when the first command applies its
	// fixes: the one the API computed last if it is of the same commit
	// (lastPosition), else computed here and kept for the next.
	var res *whatif.Result
	err = t.Try(r.Context(), func(before, after *tenant.State) error {
		var pos *position.Position
		if in.Commands[0].Op == whatif.OpApplyFixes {
			if pos = lastPosition.get(t, before.Commit(), o); pos == nil {
				var err error
				if pos, err = snapshotstore.Position(before, o); err != nil {
					return err
				}
				computed.Add(1)
				lastPosition.put(t, before.Commit(), o, pos)
			}
		}
		var err error
		res, err = whatif.TryOn(before, after, in.Commands, whatif.Options{AsOf: o.AsOf, WindowDays: o.WindowDays, Now: o.Now, Actor: p.Actor(), NewID: auth.NewID,
			Position: pos})
		return err
	})
	if err != nil {
		if allot.ErrorCode(err) == allot.EINTERNAL {
			h.s.Log.Error("what-if", "err", err)
		}
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, res)
}

// whatIfRequest is the body of POST /allot/v1/whatif.
type whatIfRequest struct {
	Commands []whatif.Command `json:"commands" required:"true" doc:"1 to 1,000 commands, tried in order"`
}
