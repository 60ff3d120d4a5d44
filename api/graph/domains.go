package graph

import (
	"encoding/json"
	"net/http"

	"allot"
	"allot/identity"
	"allot/licensing"
	"allot/tenant"
)

// The tenant's domains (Graph's /domains, package identity): the names
// userPrincipalNames may end in. Listing needs permRead; adding, changing
// the default and deleting need permWriteDomains (Global Administrator, as
// Domain Name Administrator is not one of allot's roles).

func (h *handler) listDomains(w http.ResponseWriter, r *http.Request, c *call) {
	var ds []identity.Domain
	c.t.Read(func(s *tenant.State) { ds = identity.Domains(s) })
	b, _ := json.Marshal(struct {
		Context string            `json:"@odata.context"`
		Value   []identity.Domain `json:"value"`
	}{baseURL(r) + "/v1.0/$metadata#domains", ds})
	writeJSON(w, http.StatusOK, b)
}

func writeDomain(w http.ResponseWriter, r *http.Request, status int, d identity.Domain) {
	b, _ := json.Marshal(struct {
		Context string `json:"@odata.context"`
		identity.Domain
	}{baseURL(r) + "/v1.0/$metadata#domains/$entity", d})
	writeJSON(w, status, b)
}

func (h *handler) getDomain(w http.ResponseWriter, r *http.Request, c *call) {
	var d identity.Domain
	var ok bool
	c.t.Read(func(s *tenant.State) { d, ok = identity.GetDomain(s, r.PathValue("id")) })
	if !ok {
		fail(w, r, notFound(r.PathValue("id")))
		return
	}
	writeDomain(w, r, http.StatusOK, d)
}

func (h *handler) createDomain(w http.ResponseWriter, r *http.Request, c *call) {
	body, names, err := decodeObject(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	id, err := domainCreateID(body, names)
	if err != nil {
		fail(w, r, err)
		return
	}
	d, err := identity.AddTenantDomain(r.Context(), h.s.RT, c.t, licensing.Op{Actor: c.p.Actor()}, id)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Location", baseURL(r)+"/v1.0/domains/"+d.ID)
	writeDomain(w, r, http.StatusCreated, d)
}

func (h *handler) updateDomain(w http.ResponseWriter, r *http.Request, c *call) {
	body, names, err := decodeObject(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	if err := checkDomainUpdate(body, names); err != nil {
		fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	err = c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor()}, func(tx *tenant.Tx) error {
		if len(body) == 0 {
			if _, ok := identity.GetDomain(tx.State, id); !ok {
				return notFound(id)
			}
			return nil
		}
		_, err := identity.SetDefaultDomain(tx, id)
		return err
	})
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) deleteDomain(w http.ResponseWriter, r *http.Request, c *call) {
	id := r.PathValue("id")
	err := c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor()}, func(tx *tenant.Tx) error {
		return identity.DeleteDomain(tx, id)
	})
	if allot.ErrorCode(err) == allot.ENOTFOUND {
		err = notFound(id)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// domainCreateID reads the body of POST /v1.0/domains: only id.
func domainCreateID(body map[string]json.RawMessage, names map[string]string) (string, error) {
	var id string
	for k, v := range body {
		if k != "id" {
			return "", noSuchProperty(names[k])
		}
		s, ok := decodeStr(v)
		if !ok {
			return "", invalidValue(names[k], "Domain")
		}
		id = s
	}
	if id == "" {
		return "", required("id")
	}
	return id, nil
}

// checkDomainUpdate checks the body of PATCH /v1.0/domains/{id}: only
// isDefault, and only true.
func checkDomainUpdate(body map[string]json.RawMessage, names map[string]string) error {
	for k, v := range body {
		if k != "isdefault" {
			return badRequest("Property '%s' of a domain cannot be changed here; only isDefault can.", names[k])
		}
		if string(v) != "true" {
			return badRequest("isDefault can only be set to true (make another domain the default instead).")
		}
	}
	return nil
}
