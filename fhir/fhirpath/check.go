package fhirpath

import (
	"fmt"
	"strings"

	"github.com/cpms-fhir/cpms/fhir/model"
)

// SemanticError is a problem found by Check: a name that is not an element
// of any type the expression can reach at that point, a choice element
// written with its JSON name, a type name that can never match the
// context, or an ordered function applied to an unordered collection.
type SemanticError struct {
	Offset int // byte offset in the expression, -1 if unknown
	Msg    string
}

func (e *SemanticError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("fhirpath: semantic error at offset %d: %s", e.Offset, e.Msg)
	}
	return "fhirpath: semantic error: " + e.Msg
}

// CheckOptions configures Check.
type CheckOptions struct {
	// OrderedFunctions reports first(), last(), tail(), skip(), take() and
	// indexers applied to the unordered result of children() or
	// descendants().
	OrderedFunctions bool
}

// Check verifies the expression statically against the type of its context
// (a resource or data type name such as "Patient" or "HumanName"), without
// evaluating it. It infers the possible types at each step from the FHIR
// model and reports a *SemanticError for names that no reachable type has
// (Patient.name.given1, Observation.valueQuantity, (value as Period).unit)
// and for an expression that starts with a type name the context can never
// be (Encounter.name on a Patient). A union is an error only if every branch
// is impossible, so multi-resource search parameter expressions
// (Patient.name | Practitioner.name) check against each of their bases.
// Where types cannot be inferred (resolve(), descendants(), aggregate()...)
// checking stops silently.
func (e *Expression) Check(contextType string, opts CheckOptions) error {
	t := model.Lookup(contextType)
	if t == nil {
		return &SemanticError{Offset: -1, Msg: "unknown context type " + contextType}
	}
	k := &checker{opts: opts, root: typeSet{types: []staticType{{fhir: t}}}}
	res, err := k.node(e.root, k.root)
	if err != nil {
		return err
	}
	if res.impossible && len(res.types) == 0 && !res.any {
		return &SemanticError{Offset: res.impossiblePos, Msg: res.impossibleMsg}
	}
	return nil
}

type staticType struct {
	fhir *model.Type
	sys  model.SystemType
}

// typeSet is the set of types a collection may hold.
type typeSet struct {
	types     []staticType
	any       bool // unknown types: no further checks
	unordered bool
	// impossible is set when the set is empty because a type filter can never
	// match (reported only if the whole expression is impossible).
	impossible    bool
	impossiblePos int
	impossibleMsg string
}

var anyTypes = typeSet{any: true}

func sysTypes(s model.SystemType) typeSet { return typeSet{types: []staticType{{sys: s}}} }

func (s *typeSet) add(x staticType) {
	for _, y := range s.types {
		if x == y {
			return
		}
	}
	s.types = append(s.types, x)
}

func merge(a, b typeSet) typeSet {
	r := typeSet{any: a.any || b.any, unordered: a.unordered || b.unordered}
	for _, x := range a.types {
		r.add(x)
	}
	for _, x := range b.types {
		r.add(x)
	}
	if len(r.types) == 0 && !r.any && (a.impossible || b.impossible) {
		r.impossible = true
		r.impossiblePos, r.impossibleMsg = a.impossiblePos, a.impossibleMsg
		if !a.impossible {
			r.impossiblePos, r.impossibleMsg = b.impossiblePos, b.impossibleMsg
		}
	}
	return r
}

func (s typeSet) names() string {
	var n []string
	for _, x := range s.types {
		if x.fhir != nil {
			n = append(n, x.fhir.Name)
		} else {
			n = append(n, x.sys.String())
		}
	}
	return strings.Join(n, ", ")
}

type checker struct {
	opts CheckOptions
	root typeSet
}

func semanticErrorf(pos int, format string, args ...any) error {
	return &SemanticError{Offset: pos, Msg: fmt.Sprintf(format, args...)}
}

func (k *checker) node(n node, this typeSet) (typeSet, error) {
	switch n := n.(type) {
	case *literalNode:
		var r typeSet
		for _, it := range n.items {
			r.add(staticType{fhir: it.t, sys: it.sys})
		}
		return r, nil
	case thisNode:
		return this, nil
	case indexVarNode:
		return sysTypes(model.SystemInteger), nil
	case totalNode:
		return anyTypes, nil
	case *variableNode:
		switch n.name {
		case "context":
			return k.root, nil
		case "resource", "rootResource":
			// The resource is the context only when the context is a resource.
			if len(k.root.types) == 1 && k.root.types[0].fhir.IsResource() {
				return k.root, nil
			}
		}
		return anyTypes, nil
	case *invokeNode:
		input := this
		if n.target != nil {
			var err error
			if input, err = k.node(n.target, this); err != nil {
				return typeSet{}, err
			}
		}
		return k.step(n.step, this, input)
	case *indexerNode:
		t, err := k.node(n.target, this)
		if err != nil {
			return typeSet{}, err
		}
		if _, err := k.node(n.index, this); err != nil {
			return typeSet{}, err
		}
		if k.opts.OrderedFunctions && t.unordered {
			return typeSet{}, semanticErrorf(-1, "indexer applied to an unordered collection")
		}
		return t, nil
	case *unaryNode:
		return k.node(n.operand, this)
	case *typeOpNode:
		t, err := k.node(n.operand, this)
		if err != nil {
			return typeSet{}, err
		}
		if n.is {
			return sysTypes(model.SystemBoolean), nil
		}
		return specTypes(n.spec, t), nil
	case *unionNode:
		var r typeSet
		for i, op := range n.operands {
			t, err := k.node(op, this)
			if err != nil {
				return typeSet{}, err
			}
			if i == 0 {
				r = t
			} else {
				r = merge(r, t)
			}
		}
		return r, nil
	case *binaryNode:
		l, err := k.node(n.left, this)
		if err != nil {
			return typeSet{}, err
		}
		r, err := k.node(n.right, this)
		if err != nil {
			return typeSet{}, err
		}
		switch n.op {
		case opUnion:
			return merge(l, r), nil
		case opConcat:
			return sysTypes(model.SystemString), nil
		case opAdd, opSub, opMul, opDiv, opIntDiv, opMod:
			return anyTypes, nil
		}
		return sysTypes(model.SystemBoolean), nil
	}
	return anyTypes, nil
}

// specTypes is the result of as/ofType: the type itself, unless nothing in
// the input can be of that type.
func specTypes(spec *typeSpec, in typeSet) typeSet {
	r := typeSet{unordered: in.unordered}
	if spec.fhir != nil {
		r.types = []staticType{{fhir: spec.fhir}}
	} else {
		r.types = []staticType{{sys: spec.sys}}
	}
	return r
}

func (k *checker) step(s step, this, input typeSet) (typeSet, error) {
	switch s := s.(type) {
	case thisStep:
		return input, nil
	case *typeNameStep:
		if input.any {
			return typeSet{types: []staticType{{fhir: s.t}}}, nil
		}
		r := typeSet{unordered: input.unordered}
		for _, x := range input.types {
			if x.fhir == nil {
				continue
			}
			switch {
			case x.fhir.IsSubtypeOf(s.t):
				r.add(x)
			case s.t.IsSubtypeOf(x.fhir):
				r.add(staticType{fhir: s.t})
			}
		}
		if len(r.types) == 0 {
			r.impossible, r.impossiblePos = true, s.pos
			r.impossibleMsg = fmt.Sprintf("the context (%s) can never be a %s", input.names(), s.t.Name)
		}
		return r, nil
	case *memberStep:
		return k.member(s, input)
	case *funcStep:
		return k.function(s, this, input)
	}
	return anyTypes, nil
}

func (k *checker) member(s *memberStep, input typeSet) (typeSet, error) {
	cur := input
	for i, name := range s.names {
		if cur.any {
			return anyTypes, nil
		}
		next := typeSet{unordered: cur.unordered}
		known := false
		for _, x := range cur.types {
			if x.fhir == nil {
				continue
			}
			known = true
			el := x.fhir.Element(name)
			if el == nil {
				if ce := x.fhir.ElementByJSONName(name); ce != nil && ce.Choice {
					return typeSet{}, semanticErrorf(s.poss[i], "%s is not an element of %s: use %s.ofType(...)", name, x.fhir.TypeName(), ce.Name)
				}
				continue
			}
			for _, et := range el.Types {
				if et.Type.Kind == model.Resource && et.Type.Abstract {
					next.any = true // contained, Bundle.entry.resource...
					continue
				}
				next.add(staticType{fhir: et.Type})
			}
		}
		if len(next.types) == 0 && !next.any {
			if known && !cur.impossible {
				return typeSet{}, semanticErrorf(s.poss[i], "%s is not an element of %s", name, cur.names())
			}
			next.impossible, next.impossiblePos, next.impossibleMsg = cur.impossible, cur.impossiblePos, cur.impossibleMsg
			return next, nil
		}
		cur = next
	}
	return cur, nil
}

// lambdaFunctions evaluate their arguments with the input items as focus.
var lambdaFunctions = map[string]bool{
	"where": true, "select": true, "all": true, "exists": true, "repeat": true,
	"aggregate": true, "sort": true, "iif": true, "trace": true,
}

var functionResults = map[string]model.SystemType{
	"exists": model.SystemBoolean, "empty": model.SystemBoolean, "all": model.SystemBoolean,
	"allTrue": model.SystemBoolean, "anyTrue": model.SystemBoolean, "allFalse": model.SystemBoolean,
	"anyFalse": model.SystemBoolean, "subsetOf": model.SystemBoolean, "supersetOf": model.SystemBoolean,
	"isDistinct": model.SystemBoolean, "not": model.SystemBoolean, "is": model.SystemBoolean,
	"hasValue": model.SystemBoolean, "startsWith": model.SystemBoolean, "endsWith": model.SystemBoolean,
	"contains": model.SystemBoolean, "matches": model.SystemBoolean, "matchesFull": model.SystemBoolean,
	"memberOf": model.SystemBoolean, "conformsTo": model.SystemBoolean, "htmlChecks": model.SystemBoolean,
	"comparable": model.SystemBoolean, "toBoolean": model.SystemBoolean,
	"convertsToBoolean": model.SystemBoolean, "convertsToInteger": model.SystemBoolean,
	"convertsToDecimal": model.SystemBoolean, "convertsToString": model.SystemBoolean,
	"convertsToDate": model.SystemBoolean, "convertsToDateTime": model.SystemBoolean,
	"convertsToTime": model.SystemBoolean, "convertsToQuantity": model.SystemBoolean,
	"count": model.SystemInteger, "length": model.SystemInteger, "indexOf": model.SystemInteger,
	"lastIndexOf": model.SystemInteger, "toInteger": model.SystemInteger, "precision": model.SystemInteger,
	"ceiling": model.SystemInteger, "floor": model.SystemInteger, "truncate": model.SystemInteger,
	"toString": model.SystemString, "substring": model.SystemString, "upper": model.SystemString,
	"lower": model.SystemString, "replace": model.SystemString, "replaceMatches": model.SystemString,
	"trim": model.SystemString, "join": model.SystemString, "encode": model.SystemString,
	"decode": model.SystemString, "escape": model.SystemString, "unescape": model.SystemString,
	"toChars": model.SystemString, "split": model.SystemString,
	"toDecimal": model.SystemDecimal, "sqrt": model.SystemDecimal, "exp": model.SystemDecimal,
	"ln": model.SystemDecimal, "log": model.SystemDecimal, "round": model.SystemDecimal,
	"toDate": model.SystemDate, "today": model.SystemDate, "toDateTime": model.SystemDateTime,
	"now": model.SystemDateTime, "toTime": model.SystemTime, "timeOfDay": model.SystemTime,
	"toQuantity": model.SystemQuantity,
}

var orderedFunctions = map[string]bool{"first": true, "last": true, "tail": true, "skip": true, "take": true}

func (k *checker) function(f *funcStep, this, input typeSet) (typeSet, error) {
	name := f.def.name
	for i, a := range f.args {
		if f.def.typeArg && i == 0 {
			continue
		}
		focus := this
		if lambdaFunctions[name] && !(name == "trace" && i == 0) {
			focus = input
			focus.unordered = false
		}
		if _, err := k.node(a, focus); err != nil {
			return typeSet{}, err
		}
	}
	if k.opts.OrderedFunctions && input.unordered && orderedFunctions[name] {
		return typeSet{}, semanticErrorf(f.pos, "%s() applied to an unordered collection", name)
	}
	if s, ok := functionResults[name]; ok {
		return sysTypes(s), nil
	}
	switch name {
	case "where", "first", "last", "tail", "skip", "take", "single", "distinct", "exclude",
		"intersect", "trace", "sort":
		return input, nil
	case "ofType", "as":
		return specTypes(f.spec, input), nil
	case "select":
		focus := input
		focus.unordered = false
		r, err := k.node(f.args[0], focus)
		if err != nil {
			return typeSet{}, err
		}
		r.unordered = r.unordered || input.unordered
		return r, nil
	case "extension":
		return typeSet{types: []staticType{{fhir: model.Lookup("Extension")}}}, nil
	case "iif":
		t, err := k.node(f.args[1], input)
		if err != nil || len(f.args) < 3 {
			return t, err
		}
		o, err := k.node(f.args[2], input)
		if err != nil {
			return typeSet{}, err
		}
		return merge(t, o), nil
	case "union", "combine":
		o, err := k.node(f.args[0], this)
		if err != nil {
			return typeSet{}, err
		}
		return merge(input, o), nil
	case "children", "descendants":
		return typeSet{any: true, unordered: true}, nil
	}
	return anyTypes, nil
}
