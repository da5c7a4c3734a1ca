package fhirpatch

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/model"
)

// Apply applies the patch to a resource in FHIR JSON and returns the
// patched resource, its properties in the order of the FHIR definitions,
// or the resource as it was when the patch changes nothing in it. The
// operations apply one after the other, each to the result of the one
// before. A patch that cannot be applied to this resource is a
// KindUnprocessable *fhir.Error whose issue locates the operation's part.
// The result is not validated: the caller validates it as any write.
func (p *Patch) Apply(resource []byte) ([]byte, error) {
	root, err := fhir.DecodeJSON(resource)
	if err != nil {
		return nil, fmt.Errorf("fhirpatch: the resource is not a JSON object: %w", err)
	}
	rt, _ := root["resourceType"].(string)
	t := model.Lookup(rt)
	if t == nil || t.Kind != model.Resource {
		return nil, fmt.Errorf("fhirpatch: the resource has no known resourceType")
	}
	for _, op := range p.ops {
		if err := op.apply(root); err != nil {
			return nil, err
		}
	}
	prune(root)
	// Written again, an unchanged resource would differ in the order of
	// its properties only, and be stored as a new version.
	if before, err := fhir.DecodeJSON(resource); err == nil && reflect.DeepEqual(before, root) {
		return resource, nil
	}
	return encode(root, t), nil
}

func (op *operation) apply(root map[string]any) error {
	items, err := op.path.Evaluate(root, fhirpath.WithLocations(), fhirpath.WithStrict())
	if err != nil {
		return op.fail("path", "the path cannot be evaluated on the resource: %v", err)
	}
	for _, it := range items {
		if it.Location() == nil && !isRoot(it, root) {
			return op.fail("path", "the path %s selects a value computed by the expression, not an element of the resource", op.path)
		}
	}
	switch op.kind {
	case "add":
		return op.add(items)
	case "insert":
		return op.insert(root, items)
	case "delete":
		return op.delete(items)
	case "replace":
		return op.replace(items)
	default:
		return op.move(root, items)
	}
}

func isRoot(it fhirpath.Item, root map[string]any) bool {
	m, ok := it.Map()
	return ok && reflect.ValueOf(m).UnsafePointer() == reflect.ValueOf(root).UnsafePointer()
}

// one returns the single element items hold: none or several fail the
// operation.
func (op *operation) one(items fhirpath.Collection, doing string) (fhirpath.Item, error) {
	switch len(items) {
	case 0:
		return fhirpath.Item{}, op.fail("path", "no content found at %s when %s", op.path, doing)
	case 1:
		return items[0], nil
	}
	return fhirpath.Item{}, op.fail("path", "the path %s selects %d elements; %s needs exactly one", op.path, len(items), op.kind)
}

// add adds the value as the element op.name of the one element the path
// selects: appended when the element repeats, refused when it is already
// there otherwise.
func (op *operation) add(items fhirpath.Collection) error {
	it, err := op.one(items, "adding")
	if err != nil {
		return err
	}
	obj, t := container(it)
	el := t.Element(op.name)
	if el == nil {
		return op.fail("name", "%s is not an element of %s", op.name, t.TypeName())
	}
	x, ext, et, err := op.convert(el, op.value)
	if err != nil {
		return err
	}
	if el.IsCollection() {
		insertAt(obj, et, length(obj, et), x, ext)
		return nil
	}
	for _, other := range el.Types {
		if _, ok := obj[other.JSONName]; ok || (other.ExtName != "" && obj[other.ExtName] != nil) {
			return op.fail("name", "%s already has %s: use replace to change it", t.TypeName(), op.name)
		}
	}
	setOne(obj, et, x, ext)
	return nil
}

// container returns the JSON object in which children of it live, and its
// type: for a primitive, the object of its id and extensions, created when
// it has none.
func container(it fhirpath.Item) (map[string]any, *model.Type) {
	if m, ok := it.Map(); ok {
		return m, it.Type()
	}
	if e := it.PrimitiveExtension(); e != nil {
		return e, it.Type()
	}
	e := map[string]any{}
	loc := it.Location()
	if loc.Index < 0 {
		loc.Parent[loc.ExtKey] = e
		return e, it.Type()
	}
	exts, _ := loc.Parent[loc.ExtKey].([]any)
	exts = pad(exts, length(loc.Parent, properties(loc)))
	exts[loc.Index] = e
	loc.Parent[loc.ExtKey] = exts
	return e, it.Type()
}

// replace replaces the one element the path selects with the value.
func (op *operation) replace(items fhirpath.Collection) error {
	it, err := op.one(items, "replacing")
	if err != nil {
		return err
	}
	loc := it.Location()
	if loc == nil {
		return op.fail("path", "the path %s selects the resource itself, which a patch cannot replace", op.path)
	}
	x, ext, et, err := op.convert(loc.Element, op.value)
	if err != nil {
		return err
	}
	if loc.Index >= 0 {
		vals, exts := lists(loc.Parent, et)
		vals[loc.Index] = x
		if ext != nil || exts != nil {
			exts = pad(exts, len(vals))
			exts[loc.Index] = orNil(ext)
		}
		store(loc.Parent, et, vals, exts)
		return nil
	}
	// A choice element may change type, and so property.
	delete(loc.Parent, loc.Key)
	if loc.ExtKey != "" {
		delete(loc.Parent, loc.ExtKey)
	}
	setOne(loc.Parent, et, x, ext)
	return nil
}

// delete deletes the element the path selects, if any.
func (op *operation) delete(items fhirpath.Collection) error {
	if len(items) == 0 {
		return nil
	}
	if len(items) > 1 {
		return op.fail("path", "the path %s selects %d elements; delete deletes one at a time", op.path, len(items))
	}
	loc := items[0].Location()
	if loc == nil {
		return op.fail("path", "the path %s selects the resource itself, which a patch cannot delete", op.path)
	}
	et := properties(loc)
	if loc.Index < 0 {
		delete(loc.Parent, loc.Key)
		if loc.ExtKey != "" {
			delete(loc.Parent, loc.ExtKey)
		}
		return nil
	}
	vals, exts := lists(loc.Parent, et)
	vals = slices.Delete(vals, loc.Index, loc.Index+1)
	if exts != nil {
		exts = slices.Delete(exts, loc.Index, loc.Index+1)
	}
	store(loc.Parent, et, vals, exts)
	return nil
}

// insert inserts the value at op.index of the list the path selects.
func (op *operation) insert(root map[string]any, items fhirpath.Collection) error {
	l, err := op.list(root, items)
	if err != nil {
		return err
	}
	if n := length(l.parent, l.et); op.index > n {
		return op.fail("index", "index %d is past the end of the list at %s, which has %d elements", op.index, op.path, n)
	}
	x, ext, et, err := op.convert(l.el, op.value)
	if err != nil {
		return err
	}
	insertAt(l.parent, et, op.index, x, ext)
	return nil
}

// move moves the element at op.source of the list the path selects to
// op.destination.
func (op *operation) move(root map[string]any, items fhirpath.Collection) error {
	l, err := op.list(root, items)
	if err != nil {
		return err
	}
	n := length(l.parent, l.et)
	for _, part := range []struct {
		name string
		i    int
	}{{"source", op.source}, {"destination", op.destination}} {
		if part.i >= n {
			return op.fail(part.name, "%s %d is past the end of the list at %s, which has %d elements", part.name, part.i, op.path, n)
		}
	}
	vals, exts := lists(l.parent, l.et)
	vals = pad(vals, n)
	x := vals[op.source]
	vals = slices.Insert(slices.Delete(vals, op.source, op.source+1), op.destination, x)
	if exts != nil {
		exts = pad(exts, n)
		e := exts[op.source]
		exts = slices.Insert(slices.Delete(exts, op.source, op.source+1), op.destination, e)
	}
	store(l.parent, l.et, vals, exts)
	return nil
}

// list is a repeating element of an object.
type list struct {
	parent map[string]any
	el     *model.Element
	et     model.ElementType
}

// list returns the list the path of an insert or move selects: the
// elements it selects must all belong to one list. When it selects none
// and ends with an element name (Patient.identifier), the list is that
// element of the one element the rest of the path selects.
func (op *operation) list(root map[string]any, items fhirpath.Collection) (list, error) {
	if len(items) == 0 {
		return op.emptyList(root)
	}
	first := items[0].Location()
	for _, it := range items {
		loc := it.Location()
		if loc == nil || loc.Index < 0 || !loc.Element.IsCollection() {
			return list{}, op.fail("path", "the path %s does not select the elements of a list", op.path)
		}
		if reflect.ValueOf(loc.Parent).UnsafePointer() != reflect.ValueOf(first.Parent).UnsafePointer() || loc.Key != first.Key {
			return list{}, op.fail("path", "the path %s selects elements of more than one list", op.path)
		}
	}
	return list{first.Parent, first.Element, properties(first)}, nil
}

// properties returns the JSON properties of the value at loc: its own
// and its id and extensions'.
func properties(loc *fhirpath.Location) model.ElementType {
	return model.ElementType{JSONName: loc.Key, ExtName: loc.ExtKey}
}

func (op *operation) emptyList(root map[string]any) (list, error) {
	src := op.path.String()
	dot := strings.LastIndexByte(src, '.')
	name := src[dot+1:]
	if dot < 0 || !isName(name) {
		return list{}, op.fail("path", "no list found at %s", op.path)
	}
	prefix, err := fhirpath.Compile(src[:dot])
	if err != nil {
		return list{}, op.fail("path", "no list found at %s", op.path)
	}
	items, err := prefix.Evaluate(root, fhirpath.WithLocations(), fhirpath.WithStrict())
	if err != nil || len(items) != 1 || items[0].Location() == nil && !isRoot(items[0], root) {
		return list{}, op.fail("path", "no list found at %s", op.path)
	}
	obj, t := container(items[0])
	el := t.Element(name)
	if el == nil || !el.IsCollection() || el.Choice {
		return list{}, op.fail("path", "no list found at %s: %s is not a repeating element of %s", op.path, name, t.TypeName())
	}
	return list{obj, el, el.Types[0]}, nil
}

// isName reports whether s is a plain FHIRPath identifier.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// convert returns the JSON of v as a value of element el, with the id
// and extensions of a primitive, and the alternative of el it takes. A
// value whose type el does not take fails the operation.
func (op *operation) convert(el *model.Element, v *value) (any, map[string]any, model.ElementType, error) {
	if v.parts != nil {
		et := el.Types[0]
		if el.Choice || et.Type.Kind == model.Primitive {
			return nil, nil, et, op.failAt(v.at, "%s takes a value of a FHIR type, not parts", el.Path)
		}
		obj := map[string]any{}
		for _, nv := range v.parts {
			cel := et.Type.Element(nv.name)
			if cel == nil {
				return nil, nil, et, op.failAt(nv.v.at+".name", "%s is not an element of %s", nv.name, el.Path)
			}
			x, ext, cet, err := op.convert(cel, nv.v)
			if err != nil {
				return nil, nil, et, err
			}
			if cel.IsCollection() {
				insertAt(obj, cet, length(obj, cet), x, ext)
				continue
			}
			if _, dup := obj[cet.JSONName]; dup {
				return nil, nil, et, op.failAt(nv.v.at, "%s is given twice, and does not repeat", cel.Path)
			}
			setOne(obj, cet, x, ext)
		}
		return obj, nil, et, nil
	}
	for _, et := range el.Types {
		if compatible(v.typ, et.Type) {
			return v.json, v.ext, et, nil
		}
	}
	want := make([]string, len(el.Types))
	for i, et := range el.Types {
		want[i] = et.Type.TypeName()
	}
	return nil, nil, model.ElementType{}, op.failAt(v.at, "%s takes %s, not %s", el.Path, strings.Join(want, " or "), v.typ.Name)
}

// compatible reports whether a value of type v may stand where the type
// t is expected: the same type or one specialising the other (Age and
// Quantity, code and string), primitives of one System type, or any
// resource where a Resource goes.
func compatible(v, t *model.Type) bool {
	switch {
	case v == t, v.IsSubtypeOf(t), t.IsSubtypeOf(v):
		return true
	case v.Kind == model.Primitive && t.Kind == model.Primitive:
		return v.System == t.System
	case v.Kind == model.Resource:
		return t.Kind == model.Resource && v.IsSubtypeOf(t)
	}
	return false
}

// lists returns the values of a repeating element and, if any, the
// parallel list of their ids and extensions, of one length.
func lists(obj map[string]any, et model.ElementType) (vals, exts []any) {
	vals, _ = obj[et.JSONName].([]any)
	if et.ExtName != "" {
		exts, _ = obj[et.ExtName].([]any)
	}
	if exts == nil {
		return vals, nil
	}
	n := max(len(vals), len(exts))
	return pad(vals, n), pad(exts, n)
}

// length returns the number of values of a repeating element (a
// primitive's may be only in its list of extensions).
func length(obj map[string]any, et model.ElementType) int {
	vals, exts := lists(obj, et)
	return max(len(vals), len(exts))
}

// insertAt inserts a value of a repeating element at index i.
func insertAt(obj map[string]any, et model.ElementType, i int, x any, ext map[string]any) {
	vals, exts := lists(obj, et)
	n := max(len(vals), len(exts))
	vals = slices.Insert(pad(vals, n), i, x)
	if ext != nil || exts != nil {
		exts = slices.Insert(pad(exts, n), i, orNil(ext))
	}
	store(obj, et, vals, exts)
}

// store sets a repeating element's lists, of one length when the values
// have ids or extensions, and leaves out a list of nulls only.
func store(obj map[string]any, et model.ElementType, vals, exts []any) {
	if et.ExtName != "" && slices.ContainsFunc(exts, notNil) {
		n := max(len(vals), len(exts))
		obj[et.JSONName], obj[et.ExtName] = pad(vals, n), pad(exts, n)
		return
	}
	if et.ExtName != "" {
		delete(obj, et.ExtName)
	}
	if slices.ContainsFunc(vals, notNil) {
		obj[et.JSONName] = vals
	} else {
		delete(obj, et.JSONName)
	}
}

func notNil(x any) bool { return x != nil }

// setOne sets a value of an element that does not repeat.
func setOne(obj map[string]any, et model.ElementType, x any, ext map[string]any) {
	if x != nil {
		obj[et.JSONName] = x
	}
	if ext != nil && et.ExtName != "" {
		obj[et.ExtName] = ext
	}
}

// pad extends l with nulls to n elements.
func pad(l []any, n int) []any {
	for len(l) < n {
		l = append(l, nil)
	}
	return l
}

// orNil returns m, or an untyped nil for a nil map.
func orNil(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}

// prune removes what the operations left empty: objects without
// properties (an element whose last child was deleted, a primitive's
// object of extensions without any), and arrays without elements. In a
// list of a primitive's extensions, an empty object becomes null, so that
// the list stays parallel to the values.
func prune(m map[string]any) {
	for k, x := range m {
		switch v := x.(type) {
		case map[string]any:
			if prune(v); len(v) == 0 {
				delete(m, k)
			}
		case []any:
			ext := strings.HasPrefix(k, "_")
			out := v[:0]
			for _, e := range v {
				if em, ok := e.(map[string]any); ok {
					if prune(em); len(em) == 0 {
						if !ext {
							continue
						}
						e = nil
					}
				}
				out = append(out, e)
			}
			// A list of primitives may hold only nulls when their
			// extensions are in the parallel list.
			if slices.ContainsFunc(out, notNil) || len(out) > 0 && !ext && m["_"+k] != nil {
				m[k] = out
			} else {
				delete(m, k)
			}
		}
	}
}

// fail fails the operation at its part named part.
func (op *operation) fail(part, format string, args ...any) error {
	at, ok := op.partAt[part]
	if !ok {
		at = op.at
	}
	return op.failAt(at, format, args...)
}

func (op *operation) failAt(at, format string, args ...any) error {
	return &fhir.Error{Kind: fhir.KindUnprocessable, Issues: []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueProcessing,
		Diagnostics: "the " + op.kind + " operation cannot be applied: " + fmt.Sprintf(format, args...), Expression: []string{at}}}}
}
