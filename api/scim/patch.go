package scim

import (
	"strconv"
	"strings"
)

// Operation kinds.
const (
	opAdd     = "add"
	opReplace = "replace"
	opRemove  = "remove"
)

// patchOp is one decoded PATCH operation (RFC 7644 §3.5.2).
type patchOp struct {
	op    string     // add | replace | remove
	path  *patchPath // nil: no path
	raw   string     // the path as sent, for messages
	value any
}

// decodePatch reads a PatchOp request body. Member names and op values are
// matched case-insensitively ("Operations"/"operations", "Replace"), as
// Microsoft Entra sends them capitalised.
func decodePatch(body map[string]any) ([]patchOp, error) {
	var list []any
	found := false
	for _, k := range keysOf(body) {
		v := body[k]
		if strings.EqualFold(k, "Operations") {
			arr, ok := v.([]any)
			if !ok {
				return nil, badRequest(typeInvalidSyntax, "Operations must be an array.")
			}
			list, found = arr, true
		}
	}
	if !found || len(list) == 0 {
		return nil, badRequest(typeInvalidSyntax, "A PatchOp request needs at least one operation in Operations.")
	}
	ops := make([]patchOp, 0, len(list))
	for i, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, badRequest(typeInvalidSyntax, "Operation %d must be an object.", i+1)
		}
		var o patchOp
		hasValue := false
		for _, k := range keysOf(m) {
			v := m[k]
			switch strings.ToLower(k) {
			case "op":
				s, _ := v.(string)
				o.op = strings.ToLower(s)
			case "path":
				s, ok := v.(string)
				if !ok && v != nil {
					return nil, badRequest(typeInvalidPath, "Operation %d: path must be a string.", i+1)
				}
				o.raw = strings.TrimSpace(s)
			case "value":
				o.value, hasValue = v, true
			}
		}
		switch o.op {
		case opAdd, opReplace:
			if !hasValue {
				return nil, badRequest(typeInvalidValue, "Operation %d (%s) needs a value.", i+1, o.op)
			}
		case opRemove:
			if o.raw == "" {
				return nil, badRequest(typeNoTarget, "Operation %d (remove) needs a path.", i+1)
			}
		default:
			return nil, badRequest(typeInvalidSyntax, "Operation %d: op must be add, replace or remove.", i+1)
		}
		if o.raw != "" {
			pp, err := parsePath(o.raw)
			if err != nil {
				return nil, badRequest(typeInvalidPath, "Operation %d: invalid path %q: %v.", i+1, o.raw, err)
			}
			o.path = &pp
		}
		ops = append(ops, o)
	}
	return ops, nil
}

// target is a PATCH path resolved against a resource type: the attribute
// (ref; attr nil for a whole extension), an optional value filter on the
// attribute's values, and the sub-attribute (ref.sub, from "a.b" or
// "a[filter].b").
type target struct {
	ref
	filter pred
	// seed is what an element created for an unmatched filter starts with:
	// the filter's "sub eq value" terms when it is only such terms joined
	// by "and" (emails[type eq "work"]); nil otherwise (noTarget).
	seed map[string]any
}

func resolveTarget(rt *ResourceType, pp *patchPath) (target, error) {
	r, err := resolve(rt, pp.attr)
	if err != nil {
		return target{}, err
	}
	t := target{ref: r}
	if pp.filter == nil {
		return t, nil
	}
	if r.attr == nil || r.attr.Type != tComplex || !r.attr.MultiValued || r.sub != nil {
		return target{}, errString(pp.attr.String() + " is not a multi-valued complex attribute: [] filters apply to those")
	}
	if t.filter, err = compile(scope{parent: r.attr}, pp.filter); err != nil {
		return target{}, err
	}
	t.seed = seedOf(r.attr, pp.filter)
	if pp.sub != "" {
		if t.sub = r.attr.sub(pp.sub); t.sub == nil {
			return target{}, errString(r.attr.Name + " has no sub-attribute " + pp.sub)
		}
	}
	return t, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// seedOf returns the sub-attribute values that "a eq v [and b eq w]"
// prescribes, or nil for any other filter.
func seedOf(parent *Attribute, e expr) map[string]any {
	switch e := e.(type) {
	case *compareExpr:
		s := parent.sub(e.path.Name)
		if e.op != "eq" || e.val == nil || s == nil || e.path.URN != "" || e.path.Sub != "" {
			return nil
		}
		v, err := coerceOne(s, e.val)
		if err != nil || v == nil {
			return nil
		}
		return map[string]any{s.Name: v}
	case *logicalExpr:
		if !e.and {
			return nil
		}
		l, r := seedOf(parent, e.l), seedOf(parent, e.r)
		if l == nil || r == nil {
			return nil
		}
		for k, v := range r {
			l[k] = v
		}
		return l
	}
	return nil
}

// applyPatch applies operations to a resource in order. The doc is
// changed in place; on error it is half-changed and must be dropped.
func applyPatch(rt *ResourceType, d doc, ops []patchOp) error {
	for i, o := range ops {
		if err := applyOp(rt, d, o); err != nil {
			if e, ok := err.(*Error); ok {
				e.Detail = "Operation " + strconv.Itoa(i+1) + ": " + e.Detail
			}
			return err
		}
	}
	return nil
}

func applyOp(rt *ResourceType, d doc, o patchOp) error {
	if o.path == nil {
		m, ok := o.value.(map[string]any)
		if !ok {
			return badRequest(typeInvalidValue, "Without a path, the value of %s must be an object of attributes.", o.op)
		}
		return applyObject(rt, d, o.op, m)
	}
	t, err := resolveTarget(rt, o.path)
	if err != nil {
		return badRequest(typeInvalidPath, "Invalid path %q: %v.", o.raw, err)
	}
	if t.attr != nil && (t.attr.Mutability == readOnly || (t.sub != nil && t.sub.Mutability == readOnly)) {
		return badRequest(typeMutability, "Attribute %s is read-only.", t.ref)
	}
	switch {
	case o.op == opRemove:
		return remove(d, t, o.value)
	case t.attr == nil:
		// A whole extension: add merges its attributes, replace replaces them.
		m, ok := o.value.(map[string]any)
		if !ok {
			return badRequest(typeInvalidValue, "The value for %s must be an object of its attributes.", t.ext)
		}
		if o.op == opReplace {
			delete(d, t.ext)
		}
		return applyExtension(rt.schemaOf(t.ext), d, o.op, m)
	}
	return set(d, t, o.op, o.value)
}

// applyObject applies add or replace of a value object (a resource body,
// or a PATCH operation without a path). Its keys are attribute names, an
// extension URN with an object of the extension's attributes, or — as
// Microsoft Entra sends them — paths ("name.givenName",
// "emails[type eq \"work\"].value", "urn:...:User:department"). id, meta,
// schemas, read-only and unknown attributes are ignored, as RFC 7644 asks
// of read-only attributes in requests.
func applyObject(rt *ResourceType, d doc, op string, m map[string]any) error {
	for _, k := range keysOf(m) {
		v := m[k]
		if strings.EqualFold(k, "schemas") {
			continue
		}
		if strings.EqualFold(k, rt.Schema.ID) {
			if inner, ok := v.(map[string]any); ok {
				if err := applyObject(rt, d, op, inner); err != nil {
					return err
				}
			}
			continue
		}
		pp, err := parsePath(k)
		if err != nil {
			continue
		}
		t, err := resolveTarget(rt, &pp)
		if err != nil {
			continue
		}
		if t.attr == nil {
			inner, ok := v.(map[string]any)
			if !ok {
				if v == nil && op == opReplace {
					delete(d, t.ext)
					continue
				}
				return badRequest(typeInvalidValue, "The value of %s must be an object of its attributes.", t.ext)
			}
			if err := applyExtension(rt.schemaOf(t.ext), d, op, inner); err != nil {
				return err
			}
			continue
		}
		if t.attr.Mutability == readOnly || (t.sub != nil && t.sub.Mutability == readOnly) {
			continue
		}
		if err := set(d, t, op, v); err != nil {
			return err
		}
	}
	return nil
}

func applyExtension(s *Schema, d doc, op string, m map[string]any) error {
	for _, k := range keysOf(m) {
		v := m[k]
		pp, err := parsePath(k)
		if err != nil || pp.attr.URN != "" {
			continue
		}
		a := find(s.Attributes, pp.attr.Name)
		if a == nil || a.Mutability == readOnly {
			continue
		}
		t := target{ref: ref{ext: s.ID, attr: a}}
		if pp.attr.Sub != "" {
			if t.sub = a.sub(pp.attr.Sub); t.sub == nil || t.sub.Mutability == readOnly {
				continue
			}
		}
		if err := set(d, t, op, v); err != nil {
			return err
		}
	}
	return nil
}
