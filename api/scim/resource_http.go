package scim

import (
	"net/http"

	"allot/auth"
	"allot/scimmeta"
	"allot/store"
	"allot/tenant"
)

// What the Users and Groups handlers share: reading a create or replace
// body into a resource's representation, reading a PatchOp, and a DELETE.

// readDoc reads a create or replace body as a fresh representation of rt
// (a bad body is answered and ok is false).
func readDoc(c *call, rt *ResourceType) (d doc, ok bool) {
	body, err := decodeBody(c.r)
	if err != nil {
		c.fail(err)
		return nil, false
	}
	d = doc{}
	if err := applyObject(rt, d, opReplace, body); err != nil {
		c.fail(err)
		return nil, false
	}
	return d, true
}

// createResource answers a POST: the body as a fresh representation of rt
// and a new id make the command build returns (a representation it
// refuses is answered), which runs; then respond answers with the new
// resource.
func createResource(c *call, rt *ResourceType, build func(d doc, id string) (func(tx *tenant.Tx) error, error), respond func(id string)) {
	d, ok := readDoc(c, rt)
	if !ok {
		return
	}
	id := auth.NewID()
	cmd, err := build(d, id)
	if err != nil {
		c.fail(err)
		return
	}
	if err := c.t.Do(c.r.Context(), c.op(), cmd); err != nil {
		c.fail(err)
		return
	}
	respond(id)
}

// readBody reads a replace body, whose representation is built inside the
// command (a bad body is answered and ok is false).
func readBody(c *call) (map[string]any, bool) {
	body, err := decodeBody(c.r)
	if err != nil {
		c.fail(err)
		return nil, false
	}
	return body, true
}

// readPatch reads a PatchOp body (a bad one is answered and ok is false).
func readPatch(c *call) ([]patchOp, bool) {
	body, ok := readBody(c)
	if !ok {
		return nil, false
	}
	ops, err := decodePatch(body)
	if err != nil {
		c.fail(err)
		return nil, false
	}
	return ops, true
}

// deletion is how one resource type is deleted.
type deletion struct {
	rt     *ResourceType
	kind   store.Kind // its SCIM metadata
	exists func(tx *tenant.Tx, id string) bool
	// version is the existing resource's current version, asked only for
	// an If-Match.
	version func(tx *tenant.Tx, id string) string
	// remove deletes it (after If-Match held), or refuses.
	remove func(tx *tenant.Tx, id string) error
}

// deleteResource answers a DELETE of the resource at the path's id: 404
// when there is none, 412 when If-Match names another version, else the
// deletion (its SCIM metadata dropped with it) and 204.
func deleteResource(c *call, d deletion) {
	id := c.r.PathValue("id")
	ifMatch := c.r.Header.Get("If-Match")
	err := c.t.Do(c.r.Context(), c.op(), func(tx *tenant.Tx) error {
		if !d.exists(tx, id) {
			return notFound(d.rt.Name, id)
		}
		if ifMatch != "" && !etagMatches(ifMatch, d.version(tx, id)) {
			return errPrecondition()
		}
		if err := d.remove(tx, id); err != nil {
			return err
		}
		scimmeta.Of(tx.State).Drop(tx, d.kind, id)
		return nil
	})
	if err != nil {
		c.fail(err)
		return
	}
	c.w.WriteHeader(http.StatusNoContent)
}
