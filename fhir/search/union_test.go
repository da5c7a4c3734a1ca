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
// elements it is evaluated on, with the same components), less, for a
// string or token parameter, those that select within another part's
// branch (Patient.name.family within Patient.name). A union among its own parts is a string or token
// parameter (the kinds whose values Stored compares), and every other
// part selects within it.
func TestUnionsMatchDefinitions(t *testing.T) {
	tb := NewTable()
	n, self := 0, 0
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
			if slices.Contains(parts, code) {
				self++
				if u.Type != TypeString && u.Type != TypeToken {
					t.Errorf("%s %s is among its own parts, but a %s parameter", typ, code, u.Type)
				}
				for _, b := range got {
					if !slices.ContainsFunc(want, func(a string) bool { return within(b, a) }) {
						t.Errorf("%s %s: the branch %s of a part is not within the union's %q", typ, code, b, want)
					}
				}
			}
			if u.Type == TypeString || u.Type == TypeToken {
				// A part's values within another's are some of those.
				got = outermost(got)
			} else {
				slices.Sort(got)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s %s is %q; its parts give %q", typ, u.Code, want, got)
			}
		}
	}
	if n != 25 || self != 15 {
		t.Errorf("%d unions, %d among their own parts; want 25 and 15", n, self)
	}
	if UnionOf("Observation", "code") != nil || UnionOf("Patient", "combo-code") != nil || UnionOf("Patient", "family") != nil {
		t.Error("a parameter that is no union has parts")
	}
}

// within reports whether branch b selects the elements branch a selects
// or elements within them: a's expression followed by a child, or by a
// where() filter.
func within(b, a string) bool {
	rest, ok := strings.CutPrefix(b, a)
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	rest, ok = strings.CutPrefix(rest, ".")
	if !ok {
		return false
	}
	if strings.HasPrefix(rest, "where(") && strings.HasSuffix(rest, ")") {
		return true
	}
	return rest != "" && !strings.ContainsAny(rest, ".()|[ ")
}

// outermost returns, sorted, the branches of bs that are within no other
// branch of bs, each once; those repeated (neither within the other)
// stay repeated.
func outermost(bs []string) []string {
	var out []string
	for i, b := range bs {
		inner := false
		for j, a := range bs {
			if i != j && a != b && within(b, a) {
				inner = true
			}
		}
		if !inner {
			out = append(out, b)
		}
	}
	slices.Sort(out)
	return out
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

// TestSortedBy: a parameter sorts by its own values, a union among its
// own parts too (Stored keeps its lowest and highest), a union whose
// values are all those of one part by that part's, and another union by
// all its parts'.
func TestSortedBy(t *testing.T) {
	for _, c := range []struct {
		typ        fhir.ResourceType
		code, want string
	}{
		{"Patient", "family", "family"},
		{"Patient", "name", "name"},
		{"Patient", "phonetic", "name"},
		{"Practitioner", "phonetic", "name"},
		{"Person", "phonetic", "name"},
		{"Patient", "telecom", "telecom"},
		{"Location", "address", "address"},
		{"Observation", "combo-code", ""},
		{"Observation", "code", "code"},
	} {
		if got := SortedBy(c.typ, c.code); got != c.want {
			t.Errorf("SortedBy(%s, %s) = %q, want %q", c.typ, c.code, got, c.want)
		}
	}
}
