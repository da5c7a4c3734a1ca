package fhirpath

import (
	"strconv"
	"strings"

	"github.com/cpms-fhir/cpms/fhir/model"
)

// parser is a precedence-climbing parser for the FHIRPath grammar. It builds
// the evaluable node tree directly, resolving functions and type specifiers
// at compile time.
type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

// maxNesting bounds the nesting of parenthesised expressions and function
// arguments, so that hostile input cannot exhaust the stack.
const maxNesting = 256

// Binary operator precedence, higher binds tighter.
const (
	precImplies = 1 + iota
	precOr
	precAnd
	precMembership
	precEquality
	precInequality
	precUnion
	precType
	precAdditive
	precMultiplicative
	precUnary
)

func binaryPrec(t token) int {
	switch t.kind {
	case tokOp:
		switch t.text {
		case "*", "/":
			return precMultiplicative
		case "+", "-", "&":
			return precAdditive
		case "|":
			return precUnion
		case "<", ">", "<=", ">=":
			return precInequality
		case "=", "~", "!=", "!~":
			return precEquality
		}
	case tokIdent:
		switch t.text {
		case "div", "mod":
			return precMultiplicative
		case "is", "as":
			return precType
		case "in", "contains":
			return precMembership
		case "and":
			return precAnd
		case "or", "xor":
			return precOr
		case "implies":
			return precImplies
		}
	}
	return 0
}

// fuseMemberChains is cleared by tests to compare fused member chains with
// step-by-step navigation.
var fuseMemberChains = true

func parse(src string) (node, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	if p.peek().kind == tokEOF {
		return nil, newSyntaxError(src, 0, "empty expression")
	}
	n, err := p.expression(1)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errorf(t, "unexpected %s", describe(t))
	}
	return optimize(n), nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) advance() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return newSyntaxError(p.src, t.pos, format, args...)
}

func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokString:
		return "string '" + t.text + "'"
	}
	if t.text == "" {
		return "token"
	}
	return "'" + t.text + "'"
}

func (p *parser) expectOp(op string) (token, error) {
	t := p.advance()
	if t.kind != tokOp || t.text != op {
		return t, p.errorf(t, "expected '%s', found %s", op, describe(t))
	}
	return t, nil
}

// expression parses operators of at least the given precedence.
func (p *parser) expression(minPrec int) (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxNesting {
		return nil, p.errorf(p.peek(), "expression nested too deeply")
	}
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		prec := binaryPrec(t)
		if prec == 0 || prec < minPrec {
			return left, nil
		}
		p.advance()
		if prec == precType {
			spec, err := p.typeSpecifier()
			if err != nil {
				return nil, err
			}
			left = &typeOpNode{is: t.text == "is", operand: left, spec: spec, pos: t.pos}
			continue
		}
		next := prec + 1
		if prec == precImplies {
			next = prec // right associative
		}
		right, err := p.expression(next)
		if err != nil {
			return nil, err
		}
		left, err = newBinary(t, left, right, p)
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) unary() (node, error) {
	t := p.peek()
	if t.kind == tokOp && (t.text == "+" || t.text == "-") {
		p.advance()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxNesting {
			return nil, p.errorf(t, "expression nested too deeply")
		}
		operand, err := p.unary()
		if err != nil {
			return nil, err
		}
		if t.text == "+" {
			return &unaryNode{operand: operand, pos: t.pos}, nil
		}
		return &unaryNode{neg: true, operand: operand, pos: t.pos}, nil
	}
	return p.postfix()
}

// postfix parses a term followed by invocations and indexers.
func (p *parser) postfix() (node, error) {
	n, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tokOp {
			return n, nil
		}
		switch t.text {
		case ".":
			p.advance()
			st, err := p.invocation(true)
			if err != nil {
				return nil, err
			}
			n = &invokeNode{target: n, step: st}
		case "[":
			p.advance()
			idx, err := p.expression(1)
			if err != nil {
				return nil, err
			}
			if _, err := p.expectOp("]"); err != nil {
				return nil, err
			}
			n = &indexerNode{target: n, index: idx}
		default:
			return n, nil
		}
	}
}

func (p *parser) term() (node, error) {
	t := p.peek()
	switch t.kind {
	case tokEOF:
		return nil, p.errorf(t, "unexpected end of expression")
	case tokNumber:
		p.advance()
		return p.numberOrQuantity(t)
	case tokString:
		p.advance()
		return &literalNode{items: []Item{strItem(t.text)}}, nil
	case tokDateTime:
		p.advance()
		return dateTimeLiteral(p, t)
	case tokPercent:
		p.advance()
		return newVariable(t.text, t.pos), nil
	case tokDollar:
		p.advance()
		switch t.text {
		case "$this":
			return thisNode{}, nil
		case "$index":
			return indexVarNode{}, nil
		}
		return totalNode{}, nil
	case tokOp:
		switch t.text {
		case "(":
			p.advance()
			n, err := p.expression(1)
			if err != nil {
				return nil, err
			}
			if _, err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return n, nil
		case "{":
			p.advance()
			if _, err := p.expectOp("}"); err != nil {
				return nil, err
			}
			return &literalNode{}, nil
		}
		return nil, p.errorf(t, "unexpected %s", describe(t))
	case tokIdent:
		switch t.text {
		case "true", "false":
			p.advance()
			return &literalNode{items: []Item{boolItem(t.text == "true")}}, nil
		}
	}
	st, err := p.invocation(false)
	if err != nil {
		return nil, err
	}
	// A leading identifier that names a type (Patient.name) filters the
	// context by type.
	if m, ok := st.(*memberStep); ok && len(m.names) == 1 {
		if tt := leadingType(m.names[0]); tt != nil {
			return &invokeNode{step: &typeNameStep{t: tt, pos: t.pos}}, nil
		}
	}
	return &invokeNode{step: st}, nil
}

// leadingType returns the type named by an identifier used at the start of
// a path, if it is a resource or data type name starting with an upper-case
// letter (element names start with a lower-case letter).
func leadingType(name string) *model.Type {
	if name == "" || name[0] < 'A' || name[0] > 'Z' {
		return nil
	}
	t := model.Lookup(name)
	if t == nil || t.Kind == model.Backbone {
		return nil
	}
	return t
}

func (p *parser) identifier() (token, error) {
	t := p.advance()
	if t.kind != tokIdent && t.kind != tokDelimIdent {
		return t, p.errorf(t, "expected an identifier, found %s", describe(t))
	}
	return t, nil
}

// invocation parses an identifier, a function call or $this/$index/$total
// after a dot (method) or at the start of a term.
func (p *parser) invocation(method bool) (step, error) {
	t := p.peek()
	if t.kind == tokDollar {
		p.advance()
		switch t.text {
		case "$this":
			return thisStep{}, nil
		}
		return nil, p.errorf(t, "%s cannot be invoked on a collection", t.text)
	}
	id, err := p.identifier()
	if err != nil {
		return nil, err
	}
	if id.kind == tokIdent {
		if nt := p.peek(); nt.kind == tokOp && nt.text == "(" {
			p.advance()
			return p.function(id, method)
		}
	}
	return newMemberStep([]string{id.text}, []int{id.pos}), nil
}

func (p *parser) function(name token, method bool) (step, error) {
	var args []node
	var argToks []int
	if t := p.peek(); !(t.kind == tokOp && t.text == ")") {
		for {
			argToks = append(argToks, p.i)
			a, err := p.expression(1)
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			if t := p.peek(); t.kind == tokOp && t.text == "," {
				p.advance()
				continue
			}
			break
		}
	}
	if _, err := p.expectOp(")"); err != nil {
		return nil, err
	}
	def, ok := functions[name.text]
	if !ok {
		return nil, p.errorf(name, "unknown function %s()", name.text)
	}
	if len(args) < def.minArgs || len(args) > def.maxArgs {
		if def.minArgs == def.maxArgs {
			return nil, p.errorf(name, "%s() takes %d argument(s), got %d", name.text, def.minArgs, len(args))
		}
		return nil, p.errorf(name, "%s() takes %d to %d arguments, got %d", name.text, def.minArgs, def.maxArgs, len(args))
	}
	fs := &funcStep{def: def, args: args, pos: name.pos, method: method}
	if def.typeArg {
		spec, err := typeSpecFromNode(args[0])
		if err != nil {
			return nil, p.errorf(p.toks[argToks[0]], "%v", err)
		}
		fs.spec = spec
	}
	return fs, nil
}

// typeSpecifier parses a qualified identifier after is/as.
func (p *parser) typeSpecifier() (*typeSpec, error) {
	first, err := p.identifier()
	if err != nil {
		return nil, err
	}
	parts := []string{first.text}
	for {
		t := p.peek()
		if t.kind != tokOp || t.text != "." {
			break
		}
		p.advance()
		id, err := p.identifier()
		if err != nil {
			return nil, err
		}
		parts = append(parts, id.text)
	}
	spec, err := resolveTypeSpec(parts)
	if err != nil {
		return nil, p.errorf(first, "%v", err)
	}
	return spec, nil
}

func (p *parser) numberOrQuantity(t token) (node, error) {
	next := p.peek()
	isUnit := next.kind == tokString || (next.kind == tokIdent && isCalendarKeyword(next.text))
	if isUnit {
		p.advance()
		d, ok := ParseDecimal(t.text)
		if !ok {
			return nil, p.errorf(t, "invalid number %s", t.text)
		}
		return &literalNode{items: []Item{qtyItem(Quantity{Value: d, Unit: next.text})}}, nil
	}
	if !strings.Contains(t.text, ".") {
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, p.errorf(t, "integer %s out of range", t.text)
		}
		return &literalNode{items: []Item{intItem(n)}}, nil
	}
	d, ok := ParseDecimal(t.text)
	if !ok {
		return nil, p.errorf(t, "invalid number %s", t.text)
	}
	return &literalNode{items: []Item{decItem(d)}}, nil
}

func dateTimeLiteral(p *parser, t token) (node, error) {
	s := t.text
	var d DateTime
	var ok bool
	switch {
	case strings.HasPrefix(s, "T"):
		d, ok = ParseTime(s[1:])
	case strings.Contains(s, "T"):
		d, ok = ParseDateTime(s)
	default:
		d, ok = ParseDate(s)
	}
	if !ok {
		return nil, p.errorf(t, "invalid date/time literal @%s", s)
	}
	return &literalNode{items: []Item{dtItem(d)}}, nil
}

// newBinary builds the node for a binary operator.
func newBinary(t token, left, right node, p *parser) (node, error) {
	op, ok := binaryOps[t.text]
	if !ok {
		return nil, p.errorf(t, "unknown operator %s", t.text)
	}
	return &binaryNode{op: op, left: left, right: right, pos: t.pos}, nil
}

// typeSpecFromNode converts the argument of is(), as() or ofType() (parsed
// as an expression) into a type specifier.
func typeSpecFromNode(n node) (*typeSpec, error) {
	var parts []string
	for {
		inv, ok := n.(*invokeNode)
		if !ok {
			return nil, errNotType
		}
		switch st := inv.step.(type) {
		case *memberStep:
			parts = append(append([]string(nil), st.names...), parts...)
		case *typeNameStep:
			parts = append([]string{st.t.Name}, parts...)
		default:
			return nil, errNotType
		}
		if inv.target == nil {
			break
		}
		n = inv.target
	}
	return resolveTypeSpec(parts)
}
