package scim

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// coerce converts a request value for attribute a to its doc form: a
// multi-valued attribute takes an array (a single value is taken as a
// one-element array); nil means "unassigned". Values of the wrong type are
// 400 invalidValue. Lenient where identity providers are known to be:
// booleans as "True"/"False" strings (Microsoft Entra), numbers for
// strings, and a bare string for a complex attribute with a "value"
// sub-attribute (Entra's manager).
func coerce(a *Attribute, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if !a.MultiValued {
		return coerceOne(a, v)
	}
	arr, ok := v.([]any)
	if !ok {
		arr = []any{v}
	}
	out := make([]any, 0, len(arr))
	for _, x := range arr {
		y, err := coerceOne(a, x)
		if err != nil {
			return nil, err
		}
		if y != nil {
			out = append(out, y)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// coerceOne converts one value (one element of a multi-valued attribute).
func coerceOne(a *Attribute, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	bad := func(want string) error {
		return badRequest(typeInvalidValue, "Attribute '%s' must be %s.", a.Name, want)
	}
	switch a.Type {
	case tComplex:
		m, ok := v.(map[string]any)
		if !ok {
			if vs := a.sub("value"); vs != nil {
				if _, isArr := v.([]any); !isArr {
					m = map[string]any{"value": v}
					ok = true
				}
			}
		}
		if !ok {
			return nil, bad("an object")
		}
		out := make(map[string]any, len(m))
		for _, k := range keysOf(m) {
			x := m[k]
			s := a.sub(k)
			if s == nil || s.Mutability == readOnly || x == nil {
				continue
			}
			y, err := coerceOne(s, x)
			if err != nil {
				return nil, err
			}
			if y != nil {
				out[s.Name] = y
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	case tBoolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
				return b, nil
			}
		}
		return nil, bad("true or false")
	case tInteger, tDecimal:
		switch x := v.(type) {
		case float64:
			return x, nil
		case string:
			if f, err := strconv.ParseFloat(x, 64); err == nil {
				return f, nil
			}
		}
		return nil, bad("a number")
	case tDateTime:
		s, ok := v.(string)
		if !ok {
			return nil, bad("an RFC 3339 date and time")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, bad("an RFC 3339 date and time")
		}
		return t.UTC().Format(time.RFC3339Nano), nil
	default: // string, reference, binary
		switch x := v.(type) {
		case string:
			return x, nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case bool:
			return strconv.FormatBool(x), nil
		}
		return nil, bad("a string")
	}
}

// keysOf returns an object's member names, sorted: commands run twice
// (writer's and readers' copies), so when two names could land on the
// same attribute ("value" and "Value") the outcome must not depend on map
// order.
func keysOf(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
