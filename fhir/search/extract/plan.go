package extract

import (
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/model"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// plan is how one parameter is extracted from resources of one type: the
// branches of its expression that can select something on that type, and
// for a composite the components to evaluate on each root.
type plan struct {
	param    *search.Param
	branches []branch
	// components, for a composite: per branch of the expression (the
	// roots), per component, the branches of the component's expression.
	components [][][]branch
	err        error // the expression does not compile
}

// branch is one alternative of a union at the top of an expression
// ("Patient.name" in "Patient.name | Practitioner.name"), compiled, with
// what is known statically about what it selects.
type branch struct {
	expr *fhirpath.Expression
	// codeSystem is the system implied by the required binding of the code
	// element the branch selects, if any (Patient.gender).
	codeSystem string
	// typ is the static type of the selected items, when known (composite
	// roots: Observation.component).
	typ *model.Type
}

// newPlan prepares p for resources of type t.
func (x *Extractor) newPlan(t fhir.ResourceType, p *search.Param) *plan {
	pl := &plan{param: p}
	rt := model.Lookup(string(t))
	pl.branches, pl.err = x.branches(rt, p.Expression, true)
	if pl.err != nil || p.Type != search.TypeComposite {
		return pl
	}
	for _, root := range pl.branches {
		comps := make([][]branch, len(p.Components))
		for i, c := range p.Components {
			comps[i], pl.err = x.branches(root.typ, c.Expression, false)
			if pl.err != nil {
				return pl
			}
		}
		pl.components = append(pl.components, comps)
	}
	return pl
}

// branches splits expr into the alternatives of its top-level union that
// can select something on a resource of type rt (when typed, an
// alternative that starts with another resource type's name cannot) and
// compiles them.
func (x *Extractor) branches(start *model.Type, expr string, typed bool) ([]branch, error) {
	var out []branch
	for _, src := range splitUnion(expr) {
		if typed && !startsWithType(start, src) {
			continue
		}
		e, err := x.compile(src)
		if err != nil {
			return nil, err
		}
		b := branch{expr: e}
		el, typ := analyse(start, src)
		b.typ = typ
		if el != nil && typ != nil && typ.Name == "code" {
			b.codeSystem = el.CodeSystem
		}
		out = append(out, b)
	}
	return out, nil
}

// startsWithType reports whether the expression src may select something on
// a resource of type rt: false when it starts with the name of a resource
// type that rt is not.
func startsWithType(rt *model.Type, src string) bool {
	name := leadingIdent(src)
	t := model.Lookup(name)
	if t == nil || t.Kind != model.Resource || rt == nil {
		return true
	}
	return rt.IsSubtypeOf(t)
}

func leadingIdent(s string) string {
	s = strings.TrimLeft(s, "( \t\r\n")
	i := 0
	for i < len(s) && isIdentByte(s[i]) {
		i++
	}
	return s[:i]
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// splitUnion splits an expression at the top-level union operators. Since
// | binds more loosely than every operator but comparisons, equality,
// membership and the logical ones, an expression using none of those at
// the top level is the union of its parts; otherwise it is returned whole.
func splitUnion(expr string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case c == '\'' || c == '`' || c == '"':
			i = skipQuoted(expr, i)
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case depth > 0:
		case c == '|':
			parts = append(parts, strings.TrimSpace(expr[start:i]))
			start = i + 1
		case c == '=' || c == '<' || c == '>' || c == '!' || c == '~':
			return []string{expr}
		case isIdentByte(c) && (i == 0 || !isIdentByte(expr[i-1]) && expr[i-1] != '.'):
			j := i
			for j < len(expr) && isIdentByte(expr[j]) {
				j++
			}
			switch expr[i:j] {
			case "and", "or", "xor", "implies", "in", "contains":
				return []string{expr}
			}
			i = j - 1
		}
	}
	return append(parts, strings.TrimSpace(expr[start:]))
}

// skipQuoted returns the index of the quote closing the literal that
// starts at s[i].
func skipQuoted(s string, i int) int {
	q := s[i]
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			return i
		}
	}
	return len(s)
}
