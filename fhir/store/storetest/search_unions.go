package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// withUnions adds to f's index the values of the union parameters of its
// type (search.UnionOf): those of their parts, as extraction gives them.
// A store may keep either.
func withUnions(f *fixture) *fixture {
	for u, parts := range search.Unions(f.typ) {
		for _, part := range parts {
			for _, v := range f.idx.Tokens {
				if v.Param == part {
					v.Param = u
					f.idx.Tokens = append(f.idx.Tokens, v)
				}
			}
			for _, v := range f.idx.Quantities {
				if v.Param == part {
					v.Param = u
					f.idx.Quantities = append(f.idx.Quantities, v)
				}
			}
			for _, v := range f.idx.Composites {
				if v.Param == part {
					v.Param = u
					f.idx.Composites = append(f.idx.Composites, v)
				}
			}
		}
	}
	return f
}

// unionFixtures are Observations with codes, values and absent reasons
// on the resource and on its components: u1 a blood pressure panel (its
// values on components), u2 a glucose (on the resource), u3 a smoking
// status (a coded value), u4 a code and an absent reason of a component,
// u5 nothing.
func unionFixtures() []*fixture {
	tok := func(system, c string) search.Part { return search.Part{Token: &search.Token{System: system, Code: c}} }
	mmHg := func(v float64) search.Part {
		return search.Part{Quantity: &search.Quantity{Lo: v, Hi: v, System: ucum, Code: "mm[Hg]", Unit: "mmHg"}}
	}
	sct := "http://snomed.info/sct"
	return []*fixture{
		withUnions(fx(observation, "u1").tokText("code", loinc, "85354-9", "Blood pressure panel").
			tokText("component-code", loinc, "8480-6", "Systolic blood pressure").
			tokText("component-code", loinc, "8462-4", "Diastolic blood pressure").
			qty("component-value-quantity", 120, ucum, "mm[Hg]", "mmHg", "", 0).
			qty("component-value-quantity", 80, ucum, "mm[Hg]", "mmHg", "", 0).
			comp("component-code-value-quantity", tok(loinc, "8480-6"), mmHg(120)).
			comp("component-code-value-quantity", tok(loinc, "8462-4"), mmHg(80))),
		withUnions(fx(observation, "u2").tok("code", loinc, "2339-0").
			qty("value-quantity", 95, ucum, "mg/dL", "mg/dL", "", 0).
			comp("code-value-quantity", tok(loinc, "2339-0"), search.Part{Quantity: &search.Quantity{Lo: 95, Hi: 95, System: ucum, Code: "mg/dL"}})),
		withUnions(fx(observation, "u3").tokText("code", loinc, "72166-2", "Tobacco smoking status").
			tokText("value-concept", sct, "8517006", "Ex-smoker").
			comp("code-value-concept", tok(loinc, "72166-2"), tok(sct, "8517006"))),
		withUnions(fx(observation, "u4").tok("code", loinc, "x-1").
			tok("component-data-absent-reason", "http://terminology.hl7.org/CodeSystem/data-absent-reason", "asked-unknown")),
		withUnions(fx(observation, "u5")),
	}
}

// testSearchUnions: a parameter that is the union of others (Observation's
// combo-code is code and component-code) finds a value wherever one of
// its parts has it, with every kind of value, modifier and :missing, in
// composites, combined with clauses on the parts, and sorts by a
// resource's lowest (highest) value over all the parts.
func testSearchUnions(t *testing.T, s engine.Store) {
	o := of(observation)
	combo := func(values ...search.Value) search.Clause {
		return tokenClause("combo-code", search.ModNone, values...)
	}
	qty := func(values ...search.Value) search.Clause { return quantityClause("combo-value-quantity", values...) }
	cvq := func(values ...[]search.Value) search.Clause {
		return compositeClause("combo-code-value-quantity", values...)
	}
	vectors := []vector{
		{name: "code of a component", q: sq(o, combo(code("8480-6"))), want: refs(observation, "u1")},
		{name: "code of the resource", q: sq(o, combo(sc(loinc, "2339-0"))), want: refs(observation, "u2")},
		{name: "OR across the parts", q: sq(o, combo(code("8462-4"), sc(loinc, "72166-2"))), want: refs(observation, "u1", "u3")},
		{name: "system|", q: sq(o, combo(sc(loinc, ""))), want: refs(observation, "u1", "u2", "u3", "u4")},
		{name: "not a component's code", q: sq(o, tokenClause("combo-code", search.ModNot, code("8480-6"))),
			want: refs(observation, "u2", "u3", "u4", "u5")},
		{name: "not the resource's code", q: sq(o, tokenClause("combo-code", search.ModNot, code("85354-9"))),
			want: refs(observation, "u2", "u3", "u4", "u5")},
		{name: "missing", q: sq(o, missing("combo-code", search.TypeToken, true)), want: refs(observation, "u5")},
		{name: "not missing", q: sq(o, missing("combo-code", search.TypeToken, false)), want: refs(observation, "u1", "u2", "u3", "u4")},
		{name: "text of a component", q: sq(o, tokenClause("combo-code", search.ModText, text("systolic"))), want: refs(observation, "u1")},
		{name: "text of the resource", q: sq(o, tokenClause("combo-code", search.ModText, text("tobacco"), text("blood"))),
			want: refs(observation, "u1", "u3")},
		{name: "and a part", q: sq(o, combo(code("8480-6")), tokenClause("code", search.ModNone, code("85354-9"))), want: refs(observation, "u1")},
		{name: "and a part that has it not", q: sq(o, combo(code("8480-6")), tokenClause("code", search.ModNone, code("8480-6")))},
		{name: "quantity of a component", q: sq(o, qty(nv(search.PrefixGt, "100"))), want: refs(observation, "u1")},
		{name: "quantity below", q: sq(o, qty(nv(search.PrefixLt, "90"))), want: refs(observation, "u1")},
		{name: "quantity of the resource", q: sq(o, qty(qv("", "95", ptr(ucum), "mg/dL", "", 0))), want: refs(observation, "u2")},
		{name: "quantity of either", q: sq(o, qty(nv(search.PrefixGe, "90"))), want: refs(observation, "u1", "u2")},
		{name: "quantity missing", q: sq(o, missing("combo-value-quantity", search.TypeQuantity, true)),
			want: refs(observation, "u3", "u4", "u5")},
		{name: "concept", q: sq(o, tokenClause("combo-value-concept", search.ModNone, sc("http://snomed.info/sct", "8517006"))),
			want: refs(observation, "u3")},
		{name: "concept text", q: sq(o, tokenClause("combo-value-concept", search.ModText, text("ex-smoker"))), want: refs(observation, "u3")},
		{name: "absent reason of a component", q: sq(o, tokenClause("combo-data-absent-reason", search.ModNone, code("asked-unknown"))),
			want: refs(observation, "u4")},
		{name: "absent reason missing", q: sq(o, missing("combo-data-absent-reason", search.TypeToken, true)),
			want: refs(observation, "u1", "u2", "u3", "u5")},
		{name: "composite of a component", q: sq(o, cvq([]search.Value{code("8480-6"), nv(search.PrefixGt, "100")})), want: refs(observation, "u1")},
		{name: "composite of a component, other value", q: sq(o, cvq([]search.Value{code("8480-6"), nv(search.PrefixLt, "100")}))},
		{name: "composite across components", q: sq(o, cvq([]search.Value{code("8462-4"), nv("", "120")}))},
		{name: "composite of the resource", q: sq(o, cvq([]search.Value{sc(loinc, "2339-0"), nv("", "95")})), want: refs(observation, "u2")},
		{name: "composite OR", q: sq(o, cvq([]search.Value{code("8480-6"), nv("", "120")}, []search.Value{code("2339-0"), nv("", "95")})),
			want: refs(observation, "u1", "u2")},
		{name: "composite concept", q: sq(o, compositeClause("combo-code-value-concept",
			[]search.Value{code("72166-2"), sc("http://snomed.info/sct", "8517006")})), want: refs(observation, "u3")},
		{name: "composite missing", q: sq(o, missing("combo-code-value-quantity", search.TypeComposite, true)),
			want: refs(observation, "u3", "u4", "u5")},
	}
	runVectors(t, s, unionFixtures(), vectors)
	cases := []struct {
		name    string
		sort    search.Sort
		clauses []search.Clause
		want    string
	}{
		{"combo-code", by("combo-code", search.TypeToken, false), nil, "u2 u3 u1 u4 u5"},
		{"-combo-code", by("combo-code", search.TypeToken, true), nil, "u4 u1 u3 u2 u5"},
		{"combo-value-quantity", by("combo-value-quantity", search.TypeQuantity, false), nil, "u1 u2 u3 u4 u5"},
		{"-combo-value-quantity", by("combo-value-quantity", search.TypeQuantity, true), nil, "u1 u2 u5 u4 u3"},
		{"-combo-code of loinc codes", by("combo-code", search.TypeToken, true), []search.Clause{combo(sc(loinc, ""))}, "u4 u1 u3 u2"},
	}
	for _, c := range cases {
		t.Run("sort "+c.name, func(t *testing.T) {
			q := &search.Query{Types: o, Clauses: c.clauses, Sort: []search.Sort{c.sort}}
			want := strings.Fields(c.want)
			for _, n := range []int{100, 1, 2} {
				checkOrder(t, fmt.Sprintf("pages of %d", n), pageAll(t, s, q, n), want)
			}
		})
	}
}
