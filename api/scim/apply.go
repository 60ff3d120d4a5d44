package scim

import "strings"

// The doc operations of PATCH (RFC 7644 §3.5.2): set (add, replace) and
// remove on a resolved target.

// container returns the object holding t's attribute (the doc, or the
// extension's object, created when create is set).
func container(d doc, ext string, create bool) map[string]any {
	if ext == "" {
		return d
	}
	m, ok := d[ext].(map[string]any)
	if !ok && create {
		m = map[string]any{}
		d[ext] = m
	}
	return m
}

// put stores v (nil or empty: removes the key).
func put(m map[string]any, k string, v any) {
	if !present(v) {
		delete(m, k)
		return
	}
	m[k] = v
}

// set applies add or replace (RFC 7644 §3.5.2.1, §3.5.2.3). Complex values
// merge into existing ones; a filter that matches nothing creates the
// element its eq terms describe (identity providers add
// emails[type eq "work"].value to users without one), else noTarget.
func set(d doc, t target, op string, v any) error {
	c := container(d, t.ext, true)
	var err error
	switch {
	case !t.attr.MultiValued:
		err = setSingle(c, t, op, v)
	case t.filter == nil && t.sub == nil:
		err = setValues(c, t, op, v)
	default:
		err = setElements(c, t, v)
	}
	if err != nil {
		return err
	}
	cleanup(d, t.ext)
	return nil
}

// setSingle sets a single-valued attribute or one of its sub-attributes
// (complex values merge; a null complex value removes it on replace).
func setSingle(c map[string]any, t target, op string, v any) error {
	a := t.attr
	switch {
	case t.sub != nil:
		nv, err := coerce(t.sub, v)
		if err != nil {
			return err
		}
		m, _ := c[a.Name].(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		put(m, t.sub.Name, nv)
		put(c, a.Name, m)
	case a.Type == tComplex:
		nv, err := coerce(a, v)
		if err != nil {
			return err
		}
		if nv == nil {
			if op == opReplace {
				delete(c, a.Name)
			}
			return nil
		}
		m, _ := c[a.Name].(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		for k, x := range nv.(map[string]any) {
			m[k] = x
		}
		put(c, a.Name, m)
	default:
		nv, err := coerce(a, v)
		if err != nil {
			return err
		}
		put(c, a.Name, nv)
	}
	return nil
}

// setValues adds values to a multi-valued attribute (replace: instead of
// its values); a value equal to one there merges into it.
func setValues(c map[string]any, t target, op string, v any) error {
	a := t.attr
	arr, _ := c[a.Name].([]any)
	nv, err := coerce(a, v)
	if err != nil {
		return err
	}
	vals, _ := nv.([]any)
	if op == opReplace {
		arr = nil
	}
	for _, x := range vals {
		if i := indexOf(a, arr, x); i >= 0 {
			m, _ := arr[i].(map[string]any)
			xm, _ := x.(map[string]any)
			for k, y := range xm {
				m[k] = y
			}
			continue
		}
		arr = append(arr, x)
	}
	put(c, a.Name, primaryOnce(arr, vals))
	return nil
}

// setElements sets the elements of a multi-valued attribute the path's
// filter selects (or a sub-attribute of them); none selected creates the
// element its eq terms describe, else noTarget.
func setElements(c map[string]any, t target, v any) error {
	a := t.attr
	arr, _ := c[a.Name].([]any)
	var nv any
	var err error
	if t.sub != nil {
		nv, err = coerce(t.sub, v)
	} else {
		nv, err = coerceOne(a, v)
	}
	if err != nil {
		return err
	}
	apply := func(m map[string]any) {
		if t.sub != nil {
			put(m, t.sub.Name, nv)
			return
		}
		if nm, ok := nv.(map[string]any); ok {
			for k, x := range nm {
				m[k] = x
			}
		}
	}
	matched := 0
	for _, x := range arr {
		m, ok := x.(map[string]any)
		if ok && (t.filter == nil || t.filter(element(m).get)) {
			apply(m)
			matched++
		}
	}
	if matched == 0 {
		if t.filter != nil && t.seed == nil {
			return badRequest(typeNoTarget, "No value of %s matches the filter.", a.Name)
		}
		m := map[string]any{}
		for k, x := range t.seed {
			m[k] = x
		}
		apply(m)
		arr = append(arr, m)
	}
	var fresh []any
	if nm, ok := nv.(map[string]any); ok {
		fresh = []any{nm}
	}
	put(c, a.Name, dropEmpty(primaryOnce(arr, fresh)))
	return nil
}

// remove applies remove (RFC 7644 §3.5.2.2). Removing what is not there
// succeeds, so that retried requests do. A value list with a path to a
// multi-valued attribute removes those values (Microsoft Entra's
// "remove members" without the aadOptscim062020 flag).
func remove(d doc, t target, v any) error {
	if t.attr == nil {
		delete(d, t.ext)
		return nil
	}
	a := t.attr
	c := container(d, t.ext, false)
	if c == nil {
		return nil
	}
	defer cleanup(d, t.ext)
	if !a.MultiValued {
		if t.sub != nil {
			if m, ok := c[a.Name].(map[string]any); ok {
				delete(m, t.sub.Name)
				put(c, a.Name, m)
			}
			return nil
		}
		delete(c, a.Name)
		return nil
	}
	arr, _ := c[a.Name].([]any)
	if t.filter == nil && t.sub == nil {
		if v == nil {
			delete(c, a.Name)
			return nil
		}
		nv, err := coerce(a, v)
		if err != nil {
			return err
		}
		vals, _ := nv.([]any)
		kept := arr[:0:0]
		for _, x := range arr {
			if indexOf(a, vals, x) < 0 {
				kept = append(kept, x)
			}
		}
		put(c, a.Name, kept)
		return nil
	}
	kept := arr[:0:0]
	for _, x := range arr {
		m, ok := x.(map[string]any)
		if !ok || (t.filter != nil && !t.filter(element(m).get)) {
			kept = append(kept, x)
			continue
		}
		if t.sub != nil {
			delete(m, t.sub.Name)
			kept = append(kept, m)
		}
	}
	put(c, a.Name, dropEmpty(kept))
	return nil
}

// indexOf finds x among the values of a multi-valued attribute: complex
// values are the same when their "value" sub-attributes are equal.
func indexOf(a *Attribute, arr []any, x any) int {
	xm, complex := x.(map[string]any)
	vs := a.sub("value")
	for i, y := range arr {
		if complex && vs != nil {
			ym, _ := y.(map[string]any)
			xv, _ := xm["value"].(string)
			yv, _ := ym["value"].(string)
			if xv != "" && (xv == yv || (!vs.CaseExact && strings.EqualFold(xv, yv))) {
				return i
			}
			continue
		}
		if !complex && scalarEq(x, y) {
			return i
		}
	}
	return -1
}

// primaryOnce keeps "primary": true on at most one value: when one of the
// fresh values claims it, the values with another "value" lose it
// (RFC 7643 §2.4).
func primaryOnce(arr, fresh []any) []any {
	var winner any
	found := false
	for _, x := range fresh {
		if m, ok := x.(map[string]any); ok && m["primary"] == true {
			winner, found = m["value"], true
		}
	}
	if !found {
		return arr
	}
	for _, x := range arr {
		if m, ok := x.(map[string]any); ok && m["primary"] == true && !scalarEq(m["value"], winner) {
			delete(m, "primary")
		}
	}
	return arr
}

// scalarEq compares two doc scalars (never panics on composite values).
func scalarEq(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case nil:
		return b == nil
	}
	return false
}

func dropEmpty(arr []any) []any {
	out := arr[:0]
	for _, x := range arr {
		if present(x) {
			out = append(out, x)
		}
	}
	return out
}

// cleanup drops an extension object that has become empty.
func cleanup(d doc, ext string) {
	if ext == "" {
		return
	}
	if m, ok := d[ext].(map[string]any); ok && len(m) == 0 {
		delete(d, ext)
	}
}
