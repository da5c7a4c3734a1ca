package fhirpath

import (
	"github.com/cpms-fhir/cpms/fhir/model"
)

type binaryOp uint8

const (
	opMul binaryOp = iota + 1
	opDiv
	opIntDiv
	opMod
	opAdd
	opSub
	opConcat
	opUnion
	opLT
	opGT
	opLE
	opGE
	opEq
	opEquiv
	opNE
	opNotEquiv
	opIn
	opContains
	opAnd
	opOr
	opXor
	opImplies
)

var binaryOps = map[string]binaryOp{
	"*": opMul, "/": opDiv, "div": opIntDiv, "mod": opMod, "+": opAdd, "-": opSub, "&": opConcat,
	"|": opUnion, "<": opLT, ">": opGT, "<=": opLE, ">=": opGE, "=": opEq, "~": opEquiv,
	"!=": opNE, "!~": opNotEquiv, "in": opIn, "contains": opContains, "and": opAnd, "or": opOr,
	"xor": opXor, "implies": opImplies,
}

var opNames = map[binaryOp]string{}

func init() {
	for s, op := range binaryOps {
		opNames[op] = s
	}
}

// binaryNode is a binary operator.
type binaryNode struct {
	op          binaryOp
	left, right node
	pos         int
}

func (n *binaryNode) eval(c *evalCtx, this []Item) ([]Item, error) {
	switch n.op {
	case opAnd, opOr, opXor, opImplies:
		return n.logic(c, this)
	}
	l, err := n.left.eval(c, this)
	if err != nil {
		return nil, err
	}
	r, err := n.right.eval(c, this)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case opUnion:
		return union(l, r), nil
	case opEq, opNE:
		res, ok := collectionsEqual(l, r)
		if !ok {
			return nil, nil
		}
		return boolColl(res == (n.op == opEq)), nil
	case opEquiv, opNotEquiv:
		return boolColl(collectionsEquivalent(l, r) == (n.op == opEquiv)), nil
	case opIn, opContains:
		elem, coll := l, r
		if n.op == opContains {
			elem, coll = r, l
		}
		if len(elem) == 0 {
			return nil, nil
		}
		if len(elem) > 1 {
			return nil, evalErrorf(n.pos, "'%s' needs a single item, got %d", opNames[n.op], len(elem))
		}
		return boolColl(contains(coll, elem[0])), nil
	case opConcat:
		ls, err := concatOperand(l, n.pos)
		if err != nil {
			return nil, err
		}
		rs, err := concatOperand(r, n.pos)
		if err != nil {
			return nil, err
		}
		return []Item{strItem(ls + rs)}, nil
	}
	if len(l) == 0 || len(r) == 0 {
		return nil, nil
	}
	if len(l) > 1 || len(r) > 1 {
		return nil, evalErrorf(n.pos, "operator %s needs single items, got %d and %d", opNames[n.op], len(l), len(r))
	}
	switch n.op {
	case opLT, opGT, opLE, opGE:
		cmp, ok, err := compareItems(l[0], r[0])
		if err != nil {
			return nil, atPos(err, n.pos)
		}
		if !ok {
			return nil, nil
		}
		var b bool
		switch n.op {
		case opLT:
			b = cmp < 0
		case opGT:
			b = cmp > 0
		case opLE:
			b = cmp <= 0
		default:
			b = cmp >= 0
		}
		return boolColl(b), nil
	}
	v, ok, err := arithmetic(n.op, l[0], r[0])
	if err != nil {
		return nil, atPos(err, n.pos)
	}
	if !ok {
		return nil, nil
	}
	return []Item{v}, nil
}

func concatOperand(v []Item, pos int) (string, error) {
	switch len(v) {
	case 0:
		return "", nil
	case 1:
		if s, ok := v[0].AsString(); ok {
			return s, nil
		}
		if s, ok := v[0].toString(); ok {
			return s, nil
		}
	}
	return "", evalErrorf(pos, "'&' needs single strings")
}

// logic implements the three-valued and, or, xor and implies.
func (n *binaryNode) logic(c *evalCtx, this []Item) ([]Item, error) {
	l, err := n.left.eval(c, this)
	if err != nil {
		return nil, err
	}
	lb, lok, err := singletonBool(l, opNames[n.op])
	if err != nil {
		return nil, atPos(err, n.pos)
	}
	// Short cuts that do not need the right operand.
	switch {
	case n.op == opAnd && lok && !lb:
		return falseColl, nil
	case n.op == opOr && lok && lb:
		return trueColl, nil
	case n.op == opImplies && lok && !lb:
		return trueColl, nil
	}
	r, err := n.right.eval(c, this)
	if err != nil {
		return nil, err
	}
	rb, rok, err := singletonBool(r, opNames[n.op])
	if err != nil {
		return nil, atPos(err, n.pos)
	}
	switch n.op {
	case opAnd:
		switch {
		case rok && !rb:
			return falseColl, nil
		case lok && rok:
			return trueColl, nil
		}
	case opOr:
		switch {
		case rok && rb:
			return trueColl, nil
		case lok && rok:
			return falseColl, nil
		}
	case opXor:
		if lok && rok {
			return boolColl(lb != rb), nil
		}
	case opImplies:
		switch {
		case rok && rb:
			return trueColl, nil
		case lok && rok: // lb is true here
			return falseColl, nil
		}
	}
	return nil, nil
}

// singletonBool applies the singleton evaluation of collections in a
// Boolean context: empty is unknown (ok false), a single Boolean is its
// value, any other single item is true, and several items are an error.
func singletonBool(v []Item, what string) (val, ok bool, err error) {
	switch len(v) {
	case 0:
		return false, false, nil
	case 1:
		if v[0].sys == model.SystemBoolean {
			b, isBool := v[0].v.(bool)
			if !isBool {
				return false, false, nil // a boolean element without value
			}
			return b, true, nil
		}
		return true, true, nil
	}
	return false, false, evalErrorf(-1, "%s: expected a single Boolean, got %d items", what, len(v))
}

// singletonInt returns the integer value of a single-item collection.
func singletonInt(v []Item, what string) (int64, bool, error) {
	switch len(v) {
	case 0:
		return 0, false, nil
	case 1:
		if n, ok := v[0].AsInteger(); ok {
			return n, true, nil
		}
		return 0, false, evalErrorf(-1, "%s: expected an Integer, got %s", what, v[0].TypeName())
	}
	return 0, false, evalErrorf(-1, "%s: expected a single Integer, got %d items", what, len(v))
}

// singletonString returns the string value of a single-item collection.
func singletonString(v []Item, what string) (string, bool, error) {
	switch len(v) {
	case 0:
		return "", false, nil
	case 1:
		if s, ok := v[0].AsString(); ok {
			return s, true, nil
		}
		if v[0].sys == model.SystemString && v[0].v == nil {
			return "", false, nil
		}
		return "", false, evalErrorf(-1, "%s: expected a String, got %s", what, v[0].TypeName())
	}
	return "", false, evalErrorf(-1, "%s: expected a single String, got %d items", what, len(v))
}

// unionNode is a | b | c ...: the items of all operands, without duplicates.
type unionNode struct {
	operands []node
	// fresh[i] is set when operand i always returns a newly allocated
	// collection (a member path), which may then be reused in place.
	fresh []bool
}

func newUnionNode(operands []node) *unionNode {
	u := &unionNode{operands: operands, fresh: make([]bool, len(operands))}
	for i, op := range operands {
		if inv, ok := op.(*invokeNode); ok {
			_, u.fresh[i] = inv.step.(*memberStep)
		}
	}
	return u
}

func (n *unionNode) eval(c *evalCtx, this []Item) ([]Item, error) {
	var out []Item
	for i, op := range n.operands {
		r, err := op.eval(c, this)
		if err != nil {
			return nil, err
		}
		switch {
		case len(r) == 0:
		case len(out) == 0 && n.fresh[i]:
			out = r[:0] // deduplicate in place
			for _, it := range r {
				if !contains(out, it) {
					out = append(out, it)
				}
			}
		case len(out) == 0:
			out = distinct(r)
			out = out[:len(out):len(out)] // appends must not write into r
		default:
			for _, it := range r {
				if !contains(out, it) {
					out = append(out, it)
				}
			}
		}
	}
	return out, nil
}

// union merges two collections, removing duplicates.
func union(l, r []Item) []Item {
	if len(l) == 0 && len(r) == 0 {
		return nil
	}
	out := make([]Item, 0, len(l)+len(r))
	for _, it := range l {
		if !contains(out, it) {
			out = append(out, it)
		}
	}
	for _, it := range r {
		if !contains(out, it) {
			out = append(out, it)
		}
	}
	return out
}

// contains reports whether coll has an item equal to it.
func contains(coll []Item, it Item) bool {
	for _, x := range coll {
		if eq, ok := itemsEqual(x, it); ok && eq {
			return true
		}
	}
	return false
}
