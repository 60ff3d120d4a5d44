package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"allot/api/scope"
	"allot/auth"
	"allot/identity"
	"allot/licensing"
	"allot/tenant"
)

// The allotment forms (Global and License Administrators, as the beta
// allotments API's POST and PATCH): create an allotment of a product the
// tenant owns, with its units and owners; change its name, units and
// owners (a delegated owner: the name and owners of its own). Both write through identity.PutAllotment (the engine checks the
// units against the product's and what users hold).

var allotmentFormFields = []string{"displayName", "skuId", "allottedUnits", "owners"}

type allotmentFormData struct {
	F    *formState
	SKUs []skuRow
}

// ownersOf reads the owners field: one name per line (or separated by
// commas or semicolons), blanks dropped, each once.
func ownersOf(s string) []string {
	var out []string
	for _, o := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ';' }) {
		if o = strings.TrimSpace(o); o != "" && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// unitsOf reads the units field; a value that is not a whole number is
// refused as the API refuses a negative one.
func unitsOf(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, invalidErr("allottedUnits must be a whole number of at least 0.")
	}
	return n, nil
}

func (h *handler) renderAllotmentForm(w http.ResponseWriter, r *http.Request, v *viewer, status int, d allotmentFormData) {
	v.T.Read(func(s *tenant.State) { d.SKUs = skuRows(s.Engine, directoryOf(s)) })
	h.render(w, r, v, status, "allotmentform", pageData{Title: "New allotment", Nav: "allotments", Data: d})
}

func (h *handler) newAllotmentPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	h.renderAllotmentForm(w, r, v, http.StatusOK, allotmentFormData{F: &formState{Values: map[string]string{"skuId": r.URL.Query().Get("sku")}}})
}

// createAllotment creates an allotment from the form.
func (h *handler) createAllotment(w http.ResponseWriter, r *http.Request, v *viewer) {
	f := formOf(r, allotmentFormFields...)
	id := auth.NewID()
	err := func() error {
		if err := f.requireFilled("displayName"); err != nil {
			return err
		}
		units, err := unitsOf(f.V("allottedUnits"))
		if err != nil {
			return err
		}
		a := licensing.Allotment{ID: id, DisplayName: f.V("displayName"), SKUID: f.V("skuId"), AllottedUnits: units, Owners: ownersOf(f.V("owners"))}
		return v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error { return identity.PutAllotment(tx, a) })
	}()
	if err != nil {
		h.renderAllotmentForm(w, r, v, f.refuse(err, allotmentFormFields...), allotmentFormData{F: f})
		return
	}
	h.done(w, r, "/admin/allotments/"+id, nil, "Allotment "+f.V("displayName")+" created.")
}

// updateAllotment saves an allotment's name, units and owners; a delegated
// owner's form has no units, and it may change the name and owners only
// (api/scope MayChangeAllotment, as the allotments API's PATCH). A refused
// change shows the allotment's page again with the form as typed.
func (h *handler) updateAllotment(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !v.CanEditAllotments() {
		h.deny(w, r, v)
		return
	}
	f := formOf(r, allotmentFormFields...)
	id := r.PathValue("id")
	_, withUnits := r.PostForm["allottedUnits"]
	props := []string{"displayName", "owners"}
	if withUnits {
		props = append(props, "allottedUnits")
	}
	err := v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
		a, err := inScope(tx, v, id)
		if err != nil {
			return err
		}
		if err := scope.MayChangeAllotment(v.P, v.T.ID, props...); err != nil {
			return err
		}
		next := a.Allotment
		next.DisplayName, next.Owners = f.V("displayName"), ownersOf(f.V("owners"))
		if withUnits {
			if next.AllottedUnits, err = unitsOf(f.V("allottedUnits")); err != nil {
				return err
			}
		}
		return identity.PutAllotment(tx, next)
	})
	if err != nil {
		status := f.refuse(err, allotmentFormFields...)
		if status == http.StatusNotFound {
			h.notFound(w, r, v)
			return
		}
		d, ok := h.allotmentData(r, v, 0)
		if !ok {
			h.notFound(w, r, v)
			return
		}
		d.F = f
		h.render(w, r, v, status, "allotment", pageData{Title: d.A.DisplayName, Nav: "allotments", Data: d})
		return
	}
	h.done(w, r, "/admin/allotments/"+id, nil, "Allotment saved.")
}
