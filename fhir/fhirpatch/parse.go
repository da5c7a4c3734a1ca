package fhirpatch

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/model"
)

// Patch is a parsed FHIRPath Patch document. It is immutable and may be
// applied to many resources.
type Patch struct {
	ops []*operation
}

// operation is one Parameters.parameter of the document.
type operation struct {
	at   string // FHIRPath of the parameter in the document
	kind string // add | insert | delete | replace | move
	path *fhirpath.Expression
	// partAt are the FHIRPath locations of the parts, by part name.
	partAt map[string]string
	name   string
	value  *value
	// index, source and destination are -1 when absent.
	index, source, destination int
}

// value is the content an add, insert or replace puts in the resource:
// either a value of a FHIR type (value[x] or resource of its part), or,
// for an anonymous type (a backbone element), its children as parts.
type value struct {
	at    string         // FHIRPath of the part in the document
	typ   *model.Type    // type of json; nil for parts
	json  any            // the value as FHIR JSON (UseNumber)
	ext   map[string]any // the id and extensions of a primitive value
	parts []namedValue
}

type namedValue struct {
	name string
	v    *value
}

// the parts each operation requires.
var required = map[string][]string{
	"add":     {"path", "name", "value"},
	"insert":  {"path", "value", "index"},
	"delete":  {"path"},
	"replace": {"path", "value"},
	"move":    {"path", "source", "destination"},
}

// Parse reads a FHIRPath Patch document: a Parameters resource in FHIR
// JSON, one parameter named "operation" per operation. A document that is
// not one is a KindInvalid *fhir.Error whose issues locate the faults.
func Parse(body []byte) (*Patch, error) {
	doc, err := fhir.DecodeJSON(body)
	if err != nil {
		return nil, invalid("", "the body is not a JSON object: a FHIRPath Patch is a Parameters resource")
	}
	if rt, _ := doc["resourceType"].(string); rt != "Parameters" {
		return nil, invalid("", "a FHIRPath Patch is a Parameters resource, not %s", describeType(doc["resourceType"]))
	}
	p := &Patch{}
	params, _ := doc["parameter"].([]any)
	if _, ok := doc["parameter"]; ok && params == nil {
		return nil, invalid("Parameters.parameter", "parameter must be an array")
	}
	var issues []fhir.Issue
	for i, x := range params {
		at := "Parameters.parameter[" + strconv.Itoa(i) + "]"
		op, err := parseOperation(at, x)
		if err != nil {
			issues = append(issues, err.(*fhir.Error).Issues...)
			continue
		}
		p.ops = append(p.ops, op)
	}
	if len(issues) > 0 {
		return nil, &fhir.Error{Kind: fhir.KindInvalid, Issues: issues}
	}
	return p, nil
}

func describeType(rt any) string {
	if s, ok := rt.(string); ok && s != "" {
		return s
	}
	return "a JSON object without resourceType"
}

func parseOperation(at string, x any) (*operation, error) {
	m, ok := x.(map[string]any)
	if !ok {
		return nil, invalid(at, "a parameter must be a JSON object")
	}
	if name, _ := m["name"].(string); name != "operation" {
		return nil, invalid(at+".name", "each parameter of a FHIRPath Patch is named operation, not %q", name)
	}
	parts, _ := m["part"].([]any)
	op := &operation{at: at, partAt: map[string]string{}, index: -1, source: -1, destination: -1}
	var pathSrc string
	err := eachPart(at, parts, func(pat, name string, pm map[string]any) error {
		if _, dup := op.partAt[name]; dup {
			return invalid(pat+".name", "the part %s is given twice", name)
		}
		op.partAt[name] = pat
		var err error
		switch name {
		case "type":
			op.kind, err = stringPart(pat, pm, "valueCode")
			if err == nil && required[op.kind] == nil {
				err = invalid(pat+".valueCode", "unknown operation type %q: add, insert, delete, replace or move", op.kind)
			}
		case "path":
			pathSrc, err = stringPart(pat, pm, "valueString")
		case "name":
			op.name, err = stringPart(pat, pm, "valueString")
		case "index":
			op.index, err = intPart(pat, pm)
		case "source":
			op.source, err = intPart(pat, pm)
		case "destination":
			op.destination, err = intPart(pat, pm)
		case "value":
			op.value, err = parseValue(pat, pm)
		default:
			err = invalid(pat+".name", "unknown part %q: type, path, name, value, index, source or destination", name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if op.kind == "" {
		return nil, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueRequired,
			Diagnostics: "the operation has no part named type", Expression: []string{at}}}}
	}
	for _, need := range required[op.kind] {
		if _, ok := op.partAt[need]; !ok {
			return nil, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueRequired,
				Diagnostics: "the " + op.kind + " operation needs a part named " + need, Expression: []string{at}}}}
		}
	}
	expr, err := fhirpath.Compile(pathSrc)
	if err != nil {
		return nil, invalid(op.partAt["path"]+".valueString", "the path is not a valid FHIRPath expression: %v", err)
	}
	op.path = expr
	return op, nil
}

// eachPart calls f with each part of parts (those of the parameter or
// part at at), its location and its name, until f fails; a part that is
// not an object fails.
func eachPart(at string, parts []any, f func(pat, name string, pm map[string]any) error) error {
	for j, px := range parts {
		pat := at + ".part[" + strconv.Itoa(j) + "]"
		pm, ok := px.(map[string]any)
		if !ok {
			return invalid(pat, "a part must be a JSON object")
		}
		name, _ := pm["name"].(string)
		if err := f(pat, name, pm); err != nil {
			return err
		}
	}
	return nil
}

// stringPart reads the string value[x] of a part.
func stringPart(at string, pm map[string]any, key string) (string, error) {
	s, ok := pm[key].(string)
	if !ok || s == "" {
		return "", invalid(at, "the part %s needs a %s", pm["name"], key)
	}
	return s, nil
}

// intPart reads the valueInteger of a part, which must not be negative.
func intPart(at string, pm map[string]any) (int, error) {
	n, ok := pm["valueInteger"].(json.Number)
	if !ok {
		return 0, invalid(at, "the part %s needs a valueInteger", pm["name"])
	}
	v, err := strconv.Atoi(n.String())
	if err != nil || v < 0 {
		return 0, invalid(at+".valueInteger", "%s is not an index (0 or more)", n)
	}
	return v, nil
}

// parseValue reads the content of a value part: a value[x], a resource,
// or parts naming the children of an anonymous type.
func parseValue(at string, pm map[string]any) (*value, error) {
	var found []string
	v := &value{at: at}
	for k, x := range pm {
		switch {
		case k == "resource":
			r, ok := x.(map[string]any)
			rt, _ := r["resourceType"].(string)
			t := model.Lookup(rt)
			if !ok || t == nil || t.Kind != model.Resource {
				return nil, invalid(at+".resource", "the resource has no known resourceType")
			}
			v.typ, v.json = t, r
			found = append(found, k)
		case k == "part":
			parts, ok := x.([]any)
			if !ok {
				return nil, invalid(at+".part", "part must be an array")
			}
			err := eachPart(at, parts, func(pat, name string, sub map[string]any) error {
				if name == "" {
					return invalid(pat, "a part of a value needs the name of the element it gives")
				}
				sv, err := parseValue(pat, sub)
				if err == nil {
					v.parts = append(v.parts, namedValue{name, sv})
				}
				return err
			})
			if err != nil {
				return nil, err
			}
			found = append(found, k)
		case strings.HasPrefix(k, "value") && len(k) > len("value"):
			t := valueType(k[len("value"):])
			if t == nil {
				return nil, invalid(at+"."+k, "%s is not a value of a FHIR type", k)
			}
			v.typ, v.json = t, x
			if e, ok := pm["_"+k].(map[string]any); ok {
				v.ext = e
			}
			found = append(found, k)
		case strings.HasPrefix(k, "_value") && len(k) > len("_value") && pm[k[1:]] == nil:
			// A primitive given by its id and extensions alone, such as
			// the data-absent-reason of a date no one knows.
			t := valueType(k[len("_value"):])
			if t == nil || t.Kind != model.Primitive {
				return nil, invalid(at+"."+k, "%s is not the id and extensions of a value of a FHIR primitive type", k)
			}
			e, ok := x.(map[string]any)
			if !ok {
				return nil, invalid(at+"."+k, "%s must be an object (the id and extensions of the value)", k)
			}
			v.typ, v.ext = t, e
			found = append(found, k[1:])
		case strings.HasPrefix(k, "_value") || k == "name" || k == "id" || k == "extension" || k == "modifierExtension":
		default:
			return nil, invalid(at+"."+k, "unknown property %s in a part", k)
		}
	}
	switch len(found) {
	case 0:
		return nil, invalid(at, "the part gives no value: a value[x], a resource or parts")
	case 1:
		return v, nil
	}
	slices.Sort(found)
	return nil, invalid(at, "the part gives %s at once", strings.Join(found, " and "))
}

// valueType returns the FHIR type a value[x] suffix names ("Date" → date,
// "CodeableConcept" → CodeableConcept), or nil.
func valueType(suffix string) *model.Type {
	if t := model.Lookup(suffix); t != nil && t.Kind != model.Resource && t.Kind != model.Backbone {
		return t
	}
	lower := strings.ToLower(suffix[:1]) + suffix[1:]
	if t := model.Lookup(lower); t != nil && t.Kind == model.Primitive {
		return t
	}
	return nil
}

func invalid(at, format string, args ...any) *fhir.Error {
	is := fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueInvalid, Diagnostics: fmt.Sprintf(format, args...)}
	if at != "" {
		is.Expression = []string{at}
	}
	return &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{is}}
}
