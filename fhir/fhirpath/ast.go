package fhirpath

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cpms-fhir/cpms/fhir/model"
)

// node is a compiled expression. eval evaluates it with this as the focus
// ($this, and the input of an invocation that has no explicit target).
// Returned slices are read-only: they may alias the input, literals or
// other shared data, and callers copy before modifying.
type node interface {
	eval(c *evalCtx, this []Item) ([]Item, error)
}

// step is an invocation applied to an input collection: member access, a
// function call, $this or a leading type name. this is the enclosing focus,
// against which function arguments are evaluated.
type step interface {
	apply(c *evalCtx, this, input []Item) ([]Item, error)
}

var errNotType = errors.New("expected a type name")

// EvalError is an error raised while evaluating an expression (a singleton
// expected, incompatible operands, an unknown element in strict mode...).
type EvalError struct {
	Offset int // byte offset of the failing construct in the expression, -1 if unknown
	Msg    string
}

func (e *EvalError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("fhirpath: at offset %d: %s", e.Offset, e.Msg)
	}
	return "fhirpath: " + e.Msg
}

func evalErrorf(pos int, format string, args ...any) error {
	return &EvalError{Offset: pos, Msg: fmt.Sprintf(format, args...)}
}

// atPos gives an evaluation error without a position the given one.
func atPos(err error, pos int) error {
	if e, ok := err.(*EvalError); ok && e.Offset < 0 {
		return &EvalError{Offset: pos, Msg: e.Msg}
	}
	return err
}

// literalNode is a constant collection.
type literalNode struct{ items []Item }

func (n *literalNode) eval(*evalCtx, []Item) ([]Item, error) { return n.items, nil }

type thisNode struct{}

func (thisNode) eval(_ *evalCtx, this []Item) ([]Item, error) { return this, nil }

type thisStep struct{}

func (thisStep) apply(_ *evalCtx, _, input []Item) ([]Item, error) { return input, nil }

type indexVarNode struct{}

func (indexVarNode) eval(c *evalCtx, _ []Item) ([]Item, error) {
	if c.index < 0 {
		return nil, nil
	}
	return []Item{intItem(int64(c.index))}, nil
}

type totalNode struct{}

func (totalNode) eval(c *evalCtx, _ []Item) ([]Item, error) { return c.total, nil }

// invokeNode applies a step to the result of target, or to the focus when
// target is nil.
type invokeNode struct {
	target node
	step   step
}

func (n *invokeNode) eval(c *evalCtx, this []Item) ([]Item, error) {
	input := this
	if n.target != nil {
		var err error
		if input, err = n.target.eval(c, this); err != nil {
			return nil, err
		}
	}
	return n.step.apply(c, this, input)
}

// indexerNode implements collection[index].
type indexerNode struct {
	target, index node
}

func (n *indexerNode) eval(c *evalCtx, this []Item) ([]Item, error) {
	coll, err := n.target.eval(c, this)
	if err != nil {
		return nil, err
	}
	idx, err := n.index.eval(c, this)
	if err != nil {
		return nil, err
	}
	i, ok, err := singletonInt(idx, "indexer")
	if err != nil || !ok {
		return nil, err
	}
	if i < 0 || i >= int64(len(coll)) {
		return nil, nil
	}
	return coll[i : i+1 : i+1], nil
}

// unaryNode implements polarity (+x, -x).
type unaryNode struct {
	neg     bool
	operand node
	pos     int
}

func (n *unaryNode) eval(c *evalCtx, this []Item) ([]Item, error) {
	v, err := n.operand.eval(c, this)
	if err != nil || len(v) == 0 {
		return nil, err
	}
	if len(v) > 1 {
		return nil, evalErrorf(n.pos, "unary %s applied to a collection of %d items", n.sign(), len(v))
	}
	it := v[0]
	switch it.sys {
	case model.SystemInteger:
		if x, ok := intValue(it.v); ok {
			if n.neg {
				x = -x
			}
			return []Item{intItem(x)}, nil
		}
	case model.SystemDecimal:
		if d, ok := decimalValue(it.v); ok {
			if n.neg {
				d = d.Neg()
			}
			return []Item{decItem(d)}, nil
		}
	case model.SystemQuantity:
		if q, ok := it.AsQuantity(); ok {
			if n.neg {
				q.Value = q.Value.Neg()
			}
			return []Item{qtyItem(q)}, nil
		}
	}
	return nil, evalErrorf(n.pos, "unary %s cannot be applied to %s", n.sign(), it.TypeName())
}

func (n *unaryNode) sign() string {
	if n.neg {
		return "-"
	}
	return "+"
}

// typeSpec is a resolved type specifier (is, as, ofType).
type typeSpec struct {
	name string // as written, for messages
	fhir *model.Type
	sys  model.SystemType
}

// resolveTypeSpec resolves a possibly qualified type name. An unqualified
// name is looked up in the FHIR model first, then among the System types.
// Unknown FHIR types are errors; unknown System types match nothing.
func resolveTypeSpec(parts []string) (*typeSpec, error) {
	full := strings.Join(parts, ".")
	spec := &typeSpec{name: full}
	switch {
	case len(parts) == 2 && parts[0] == "System":
		spec.sys = model.LookupSystemType(parts[1])
		return spec, nil
	case len(parts) == 2 && parts[0] == "FHIR":
		if spec.fhir = model.Lookup(parts[1]); spec.fhir == nil || spec.fhir.Kind == model.Backbone {
			return nil, fmt.Errorf("unknown FHIR type %s", parts[1])
		}
		return spec, nil
	case len(parts) == 1:
		if t := model.Lookup(parts[0]); t != nil && t.Kind != model.Backbone {
			spec.fhir = t
			return spec, nil
		}
		if spec.sys = model.LookupSystemType(parts[0]); spec.sys != model.NoSystemType {
			return spec, nil
		}
	}
	return nil, fmt.Errorf("unknown type %s", full)
}

// matches reports whether it is of the type (is): FHIR types match their
// subtypes; System types match System values only.
func (s *typeSpec) matches(it Item) bool {
	if s.fhir != nil {
		return it.t != nil && it.t.IsSubtypeOf(s.fhir)
	}
	return s.sys != model.NoSystemType && it.t == nil && it.sys == s.sys && !isSpecialValue(it)
}

// matchesCast is the test used by as() and ofType(): like matches, except
// that primitive types match exactly (a code is not returned by as(string)).
func (s *typeSpec) matchesCast(it Item) bool {
	if s.fhir != nil && s.fhir.Kind == model.Primitive {
		return it.t == s.fhir
	}
	return s.matches(it)
}

func isSpecialValue(it Item) bool {
	switch it.v.(type) {
	case typeInfo, refTarget:
		return true
	}
	return false
}

// typeOpNode implements the is and as operators.
type typeOpNode struct {
	is      bool
	operand node
	spec    *typeSpec
	pos     int
}

func (n *typeOpNode) eval(c *evalCtx, this []Item) ([]Item, error) {
	v, err := n.operand.eval(c, this)
	if err != nil || len(v) == 0 {
		return nil, err
	}
	if n.is {
		if len(v) > 1 {
			return nil, evalErrorf(n.pos, "'is' applied to a collection of %d items", len(v))
		}
		return boolColl(n.spec.matches(v[0])), nil
	}
	// The as operator filters each item, so that FHIR R4 search parameter
	// expressions such as (X.useContext.value as Quantity) work on
	// repeating elements; strict mode requires a singleton.
	if len(v) > 1 && c.cfg.strict {
		return nil, evalErrorf(n.pos, "'as' applied to a collection of %d items", len(v))
	}
	return filterType(v, n.spec), nil
}

func filterType(v []Item, spec *typeSpec) []Item {
	all := true
	for _, it := range v {
		if !spec.matchesCast(it) {
			all = false
			break
		}
	}
	if all {
		return v
	}
	var out []Item
	for _, it := range v {
		if spec.matchesCast(it) {
			out = append(out, it)
		}
	}
	return out
}

// typeNameStep is a leading type name (Patient.name): it keeps the items of
// the focus that are of that type.
type typeNameStep struct {
	t   *model.Type
	pos int
}

func (s *typeNameStep) apply(_ *evalCtx, _, input []Item) ([]Item, error) {
	n := 0
	for _, it := range input {
		if it.t != nil && it.t.IsSubtypeOf(s.t) {
			n++
		}
	}
	if n == len(input) {
		return input, nil
	}
	if n == 0 {
		// Expressions for several resource types (Patient.name |
		// Practitioner.name) rely on this; Check reports type names that
		// can never match.
		return nil, nil
	}
	out := make([]Item, 0, n)
	for _, it := range input {
		if it.t != nil && it.t.IsSubtypeOf(s.t) {
			out = append(out, it)
		}
	}
	return out, nil
}

// funcStep is a function call.
type funcStep struct {
	def    *funcDef
	args   []node
	spec   *typeSpec // for is(), as(), ofType()
	pos    int
	method bool // invoked on an explicit input (x.f()), not on the focus
}

func (s *funcStep) apply(c *evalCtx, this, input []Item) ([]Item, error) {
	return s.def.fn(c, s, this, input)
}

// optimize fuses chains of member accesses (a.b.c) into one step that walks
// the JSON depth-first without intermediate collections.
func optimize(n node) node {
	switch n := n.(type) {
	case *invokeNode:
		if n.target != nil {
			n.target = optimize(n.target)
		}
		if fs, ok := n.step.(*funcStep); ok {
			for i, a := range fs.args {
				fs.args[i] = optimize(a)
			}
		}
		if m, ok := n.step.(*memberStep); ok && fuseMemberChains {
			if inner, ok := n.target.(*invokeNode); ok {
				if im, ok := inner.step.(*memberStep); ok {
					return &invokeNode{target: inner.target,
						step: newMemberStep(append(append([]string(nil), im.names...), m.names...),
							append(append([]int(nil), im.poss...), m.poss...))}
				}
			}
		}
		return n
	case *indexerNode:
		n.target, n.index = optimize(n.target), optimize(n.index)
	case *unaryNode:
		n.operand = optimize(n.operand)
		// Fold -literal into a literal.
		if lit, ok := n.operand.(*literalNode); ok && len(lit.items) == 1 {
			if v, err := n.eval(nil, nil); err == nil {
				return &literalNode{items: v}
			}
		}
	case *binaryNode:
		n.left, n.right = optimize(n.left), optimize(n.right)
		if n.op == opUnion {
			// a | b | c is evaluated in one pass into one collection.
			var operands []node
			for _, x := range []node{n.left, n.right} {
				if inner, ok := x.(*unionNode); ok {
					operands = append(operands, inner.operands...)
				} else {
					operands = append(operands, x)
				}
			}
			return newUnionNode(operands)
		}
	case *typeOpNode:
		n.operand = optimize(n.operand)
	}
	return n
}
