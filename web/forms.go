package web

import (
	"net/http"
	"regexp"
	"strings"

	"allot"
	"allot/api/respond"
)

// The admin center's create and edit forms run the same commands as the
// APIs (identity.PutUser, identity.PutGroup, identity.PutAllotment,
// subscription.Create/Change, tokens.Create, …): there is no second set of
// checks here. A refused form is shown again, with the values as typed, the
// status the API would answer (respond.StatusOf), and the engine's message
// next to the field it is about (fieldOf) or above the form; the refused
// command changed nothing.

// formState is a form's values as typed and the refusal of its command.
type formState struct {
	Values map[string]string
	Multi  map[string][]string
	Field  string // the field the error is about ("" when none is)
	Error  string
}

// formOf reads the posted values of the named fields.
func formOf(r *http.Request, names ...string) *formState {
	f := &formState{Values: map[string]string{}, Multi: map[string][]string{}}
	for _, n := range names {
		f.Values[n] = r.PostFormValue(n)
		f.Multi[n] = r.PostForm[n]
	}
	return f
}

// V is a field's value.
func (f *formState) V(name string) string {
	if f == nil {
		return ""
	}
	return f.Values[name]
}

// Has reports whether a multi-valued field (checkboxes, a multiple select)
// has a value.
func (f *formState) Has(name, value string) bool {
	if f == nil {
		return false
	}
	for _, v := range f.Multi[name] {
		if v == value {
			return true
		}
	}
	return false
}

// Err is the error shown next to a field.
func (f *formState) Err(name string) string {
	if f == nil || f.Field != name {
		return ""
	}
	return f.Error
}

// TopErr is the error shown above the form (one no field is named in).
func (f *formState) TopErr() string {
	if f == nil || f.Field != "" {
		return ""
	}
	return f.Error
}

// refuse records a refused command's message on the form and the field
// it names among fields (the API property names of the form's inputs), and
// returns the status to answer with.
func (f *formState) refuse(err error, fields ...string) int {
	f.Error = allot.ErrorMessage(err)
	f.Field = fieldOf(f.Error, fields)
	return respond.StatusOf(err)
}

var wordRE = regexp.MustCompile(`[A-Za-z][A-Za-z0-9]*`)

// fieldOf returns the field a message is about: the first word of the
// message that is one of fields. The engine's and the identity rules'
// messages name the property by its API name ("Invalid value specified for
// property 'displayName' of resource 'User'.", "allottedUnits cannot be
// negative.", "quantity must be …"), and the forms' inputs carry those
// names.
func fieldOf(msg string, fields []string) string {
	for _, w := range wordRE.FindAllString(msg, -1) {
		for _, f := range fields {
			if w == f {
				return f
			}
		}
	}
	return ""
}

// required is Graph's answer for a required property left empty; the
// forms ask for what the API requires.
func required(prop string) error {
	return allot.Errorf(allot.EINVALID, "Property %s value is required but is empty or missing.", prop)
}

// requireFilled refuses the form (required) at the first of the named
// fields left empty or blank; nil when all are filled. Every create and
// edit form checks its required fields with it before its command runs.
func (f *formState) requireFilled(names ...string) error {
	for _, n := range names {
		if strings.TrimSpace(f.V(n)) == "" {
			return required(n)
		}
	}
	return nil
}

// formTitle is the title of a create or edit form: "New user", or "Edit
// " and the name of what is edited.
func formTitle(kind, name string, editing bool) string {
	if editing {
		return "Edit " + name
	}
	return "New " + kind
}

// fieldView is what the "field" template renders: a labelled input with
// its value, help and error.
type fieldView struct {
	Name, Label, Value, Err, Help, Type string
	Required, Disabled                  bool
	Max                                 int
	List                                string // a datalist id
}

// field is the template function behind {{template "field" (field $f
// "name" "Label" "required" "help=…" "type=number" "max=64" "disabled"
// "list=id")}}.
func field(f *formState, name, label string, opts ...string) fieldView {
	fv := fieldView{Name: name, Label: label, Value: f.V(name), Err: f.Err(name), Type: "text"}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "required":
			fv.Required = true
		case "disabled":
			fv.Disabled = true
		case "help":
			fv.Help = v
		case "type":
			fv.Type = v
		case "list":
			fv.List = v
		case "max":
			n := 0
			for _, c := range v {
				n = n*10 + int(c-'0')
			}
			fv.Max = n
		}
	}
	return fv
}
