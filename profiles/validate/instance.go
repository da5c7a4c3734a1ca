package validate

import (
	"encoding/json"
	"strconv"

	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/model"
)

// value is one instance of an element in the resource being validated.
type value struct {
	// v is the JSON value: a map for a complex value or resource, a
	// string, bool or json.Number for a primitive (nil when a primitive
	// has only an id or extensions).
	v any
	// ext is the "_name" sibling of a primitive: its id and extensions.
	ext map[string]any
	// typ is the FHIR type of the value, nil when unknown.
	typ *model.Type
	// loc is the FHIRPath location of the value (Patient.name[1].given[0]).
	loc string
	// in is the type of the value's parent, nil for the resource.
	in *model.Type
}

// typeName returns the name of the value's type, "" when unknown.
func (v value) typeName() string {
	if v.typ == nil {
		return ""
	}
	return v.typ.Name
}

// item returns the value as a FHIRPath item of its type.
func (v value) item() fhirpath.Collection {
	if m, ok := v.v.(map[string]any); ok && v.typ != nil && v.typ.Kind == model.Resource {
		return fhirpath.Collection{fhirpath.ResourceItem(m)}
	}
	if v.typ != nil {
		if it, ok := fhirpath.TypedItem(v.typ.Name, v.v); ok {
			return fhirpath.Collection{it}
		}
	}
	if it, ok := fhirpath.NewItem(v.v); ok {
		return fhirpath.Collection{it}
	}
	return nil
}

// resourceType returns the type of a resource value by its resourceType.
func resourceType(m map[string]any) *model.Type {
	rt, _ := m["resourceType"].(string)
	if t := model.Lookup(rt); t != nil && t.Kind == model.Resource {
		return t
	}
	return nil
}

// children returns the values of the child element name (without "[x]")
// of v, with their types and locations. For a choice element, the values
// of any of its types are returned.
func children(v value, name string) []value {
	if v.typ != nil && v.typ.Kind == model.Primitive {
		// A primitive has an id and extensions (in its "_name" sibling)
		// and a value that is not an element of its own.
		if v.ext == nil || (name != "id" && name != "extension") || v.ext[name] == nil {
			return nil
		}
		var t *model.Type
		if el := v.typ.Element(name); el != nil {
			t = el.Type()
		}
		return expand(v.ext[name], nil, t, v, name)
	}
	m, ok := v.v.(map[string]any)
	if !ok {
		return nil
	}
	if v.typ == nil {
		return expand(m[name], nil, nil, v, name)
	}
	el := v.typ.Element(name)
	if el == nil {
		return nil
	}
	if !el.Choice {
		et := &el.Types[0]
		if et.ExtName == "" {
			return expand(m[name], nil, et.Type, v, name)
		}
		return expand(m[name], m[et.ExtName], et.Type, v, name)
	}
	var out []value
	for i := range el.Types {
		et := &el.Types[i]
		x, ext := m[et.JSONName], any(nil)
		if et.ExtName != "" {
			ext = m[et.ExtName]
		}
		if x != nil || ext != nil {
			out = append(out, expand(x, ext, et.Type, v, name)...)
		}
	}
	return out
}

// expand turns the JSON value of the element name of parent (one value or
// an array) and its primitive extension sibling into values.
func expand(x, ext any, t *model.Type, parent value, name string) []value {
	if x == nil && ext == nil {
		return nil
	}
	loc := parent.loc + "." + name
	xs, isArray := x.([]any)
	es, extArray := ext.([]any)
	if !isArray && !extArray {
		em, _ := ext.(map[string]any)
		return []value{newValue(x, em, t, loc, parent.typ)}
	}
	n := max(len(xs), len(es))
	out := make([]value, 0, n)
	for i := range n {
		var xi any
		var ei map[string]any
		if i < len(xs) {
			xi = xs[i]
		}
		if i < len(es) {
			ei, _ = es[i].(map[string]any)
		}
		if xi == nil && ei == nil {
			continue
		}
		out = append(out, newValue(xi, ei, t, loc+"["+strconv.Itoa(i)+"]", parent.typ))
	}
	return out
}

func newValue(x any, ext map[string]any, t *model.Type, loc string, in *model.Type) value {
	if m, ok := x.(map[string]any); ok && (t == nil || t.Kind == model.Resource) {
		if rt := resourceType(m); rt != nil {
			t = rt // a contained resource, Bundle.entry.resource
		}
	}
	return value{v: x, ext: ext, typ: t, loc: loc, in: in}
}

// navigate follows a discriminator path from v.
func navigate(v value, segs []pathSeg) []value {
	vals := []value{v}
	for _, s := range segs {
		var next []value
		for _, x := range vals {
			switch s.kind {
			case segName:
				next = append(next, children(x, s.arg)...)
			case segExt:
				for _, e := range children(x, "extension") {
					if m, ok := e.v.(map[string]any); ok && m["url"] == s.arg {
						next = append(next, e)
					}
				}
			case segOfType:
				if x.typ != nil && x.typ.Name == s.arg {
					next = append(next, x)
				}
			}
		}
		vals = next
	}
	return vals
}

// equalJSON reports whether an instance value equals a fixed value
// exactly. The ids and extensions of the instance are not compared.
func equalJSON(fixed, inst any) bool {
	switch f := fixed.(type) {
	case map[string]any:
		m, ok := inst.(map[string]any)
		if !ok {
			return false
		}
		for k, fv := range f {
			if !equalJSON(fv, m[k]) {
				return false
			}
		}
		for k := range m {
			if _, ok := f[k]; !ok && !ignoredInFixed(k) {
				return false
			}
		}
		return true
	case []any:
		a, ok := inst.([]any)
		if !ok || len(a) != len(f) {
			return false
		}
		for i := range f {
			if !equalJSON(f[i], a[i]) {
				return false
			}
		}
		return true
	}
	return equalPrimitive(fixed, inst)
}

// ignoredInFixed reports whether an instance property is left out of the
// comparison with a fixed value: ids, extensions and the extension
// siblings of primitives.
func ignoredInFixed(k string) bool {
	return k == "id" || k == "extension" || (len(k) > 1 && k[0] == '_')
}

// matchesPattern reports whether an instance value contains a pattern:
// every property of the pattern is present with a matching value, and
// every item of a pattern array matches an item of the instance array.
func matchesPattern(pattern, inst any) bool {
	switch p := pattern.(type) {
	case map[string]any:
		m, ok := inst.(map[string]any)
		if !ok {
			return false
		}
		for k, pv := range p {
			if !matchesPattern(pv, m[k]) {
				return false
			}
		}
		return true
	case []any:
		a := asArray(inst)
		for _, pi := range p {
			found := false
			for _, ai := range a {
				if matchesPattern(pi, ai) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	return equalPrimitive(pattern, inst)
}

// equalPrimitive compares JSON primitives; numbers by their decimal value.
func equalPrimitive(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		bn, ok := b.(json.Number)
		if !ok {
			return false
		}
		if a == bn {
			return true
		}
		da, ok1 := fhirpath.ParseDecimal(string(a))
		db, ok2 := fhirpath.ParseDecimal(string(bn))
		return ok1 && ok2 && da.Cmp(db) == 0
	case string:
		s, ok := b.(string)
		return ok && s == a
	case bool:
		x, ok := b.(bool)
		return ok && x == a
	case nil:
		return b == nil
	}
	return false
}

// brief renders a JSON value shortly for messages.
func brief(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	const limit = 120
	if len(b) > limit {
		return string(b[:limit]) + "..."
	}
	return string(b)
}
