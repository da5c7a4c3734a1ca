package search

import (
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
)

// TestUnionsMatchDefinitions checks every union against the R4
// definitions: the parts are parameters of the same type and kind, and
// the branches of the union's expression that apply to the type are
// exactly the parts' branches (for a composite, the branches of the
// elements it is evaluated on, with the same components).
func TestUnionsMatchDefinitions(t *testing.T) {
	tb := NewTable()
	n := 0
	for typ, byCode := range unions {
		for code, parts := range byCode {
			n++
			u, ok := tb.Lookup(typ, code)
			if !ok {
				t.Errorf("%s has no parameter %s", typ, code)
				continue
			}
			want := branches(typ, u.Expression)
			var got []string
			for _, code := range parts {
				p, ok := tb.Lookup(typ, code)
				if !ok {
					t.Errorf("%s has no parameter %s, a part of %s", typ, code, u.Code)
					continue
				}
				if p.Type != u.Type {
					t.Errorf("%s: the part %s is a %s parameter, the union a %s one", u.Code, p.Code, p.Type, u.Type)
				}
				if len(p.Components) != len(u.Components) {
					t.Errorf("%s: the part %s has %d components, the union %d", u.Code, p.Code, len(p.Components), len(u.Components))
				} else {
					for i, c := range p.Components {
						if c.Expression != u.Components[i].Expression || c.Type != u.Components[i].Type {
							t.Errorf("%s: component %d of the part %s is %+v, the union's %+v", u.Code, i, p.Code, c, u.Components[i])
						}
					}
				}
				got = append(got, branches(typ, p.Expression)...)
			}
			slices.Sort(got)
			if !slices.Equal(slices.Compact(got), want) || len(got) != len(want) {
				t.Errorf("%s is %q; its parts give %q", u.Code, want, got)
			}
		}
	}
	if n != 6 {
		t.Errorf("%d unions, want Observation's 6 combo parameters", n)
	}
	if UnionOf("Observation", "code") != nil || UnionOf("Patient", "combo-code") != nil {
		t.Error("a parameter that is no union has parts")
	}
}

// branches returns, sorted, the branches of a "|"-joined expression that
// start at resource type typ, without their enclosing parentheses.
func branches(typ fhir.ResourceType, expr string) []string {
	var out []string
	depth, start := 0, 0
	add := func(b string) {
		b = strings.TrimSpace(b)
		for strings.HasPrefix(b, "(") && strings.HasSuffix(b, ")") {
			b = strings.TrimSpace(b[1 : len(b)-1])
		}
		if b == string(typ) || strings.HasPrefix(b, string(typ)+".") {
			out = append(out, b)
		}
	}
	for i, c := range expr {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 {
				add(expr[start:i])
				start = i + 1
			}
		}
	}
	add(expr[start:])
	slices.Sort(out)
	return out
}
