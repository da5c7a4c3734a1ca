package storetest

import (
	"strconv"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// The resource types of the search vectors.
const (
	observation   fhir.ResourceType = "Observation"
	encounter     fhir.ResourceType = "Encounter"
	groupType     fhir.ResourceType = "Group"
	practitioner  fhir.ResourceType = "Practitioner"
	riskAssess    fhir.ResourceType = "RiskAssessment"
	valueSet      fhir.ResourceType = "ValueSet"
	questionnaire fhir.ResourceType = "QuestionnaireResponse"
	condition     fhir.ResourceType = "Condition"
)

const (
	loinc  = "http://loinc.org"
	ucum   = "http://unitsofmeasure.org"
	gender = "http://hl7.org/fhir/administrative-gender"
	v20203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
)

// testSearchTokens: the four system|code forms, OR and AND, :not (which
// also finds resources without a value), :text on displays and texts,
// :of-type through its derived parameter, _id, and the terminology
// modifiers, which a store refuses: the parser resolves them through the
// terminology service into plain token clauses, with as many as
// parse.MaxCodes values, or for an empty value set into _id= (which no
// resource has: nothing matches) or _id:not= (everything matches).
func testSearchTokens(t *testing.T, s engine.Store) {
	fixtures := []*fixture{
		fx(patient, "t1").tok("identifier", "urn:mrn", "100").tok("identifier", "urn:ssn", "555").
			tok("identifier"+search.SuffixOfType, "", v20203+"|MR|100").tok("gender", gender, "male"),
		fx(patient, "t2").tok("identifier", "urn:mrn", "200").tok("gender", gender, "female"),
		fx(patient, "t3").tok("identifier", "", "300").tok("gender", gender, "male"),
		fx(patient, "t4"),
		fx(observation, "o1").tokText("code", loinc, "1234-5", "Glucose [Mass/volume] in Blood").
			tokText("code", "", "", "Blood sugar"),
		fx(observation, "o2").tokText("code", loinc, "9999-9", "Hemoglobin").tok("code", "urn:local", "1234-5"),
		fx(observation, "o3").tok("code", "urn:local", "1234-5").tokText("code", "", "", "Glucose by meter"),
	}
	p, o := of(patient), of(observation)
	tc := func(param string, values ...search.Value) search.Clause {
		return tokenClause(param, search.ModNone, values...)
	}
	// many is loinc|1234-5 among 9,999 codes no resource has, as :below
	// or :in of a large hierarchy or value set become.
	many := []search.Value{sc(loinc, "1234-5")}
	for i := range 9999 {
		many = append(many, sc(loinc, "x-"+strconv.Itoa(i)))
	}
	vectors := []vector{
		{name: "system|code", q: sq(p, tc("identifier", sc("urn:mrn", "100"))), want: refs(patient, "t1")},
		{name: "code", q: sq(p, tc("identifier", code("100"))), want: refs(patient, "t1")},
		{name: "|code", q: sq(p, tc("identifier", sc("", "300"))), want: refs(patient, "t3")},
		{name: "|code of a code with a system", q: sq(p, tc("identifier", sc("", "100")))},
		{name: "system|", q: sq(p, tc("identifier", sc("urn:mrn", ""))), want: refs(patient, "t1", "t2")},
		{name: "OR", q: sq(p, tc("identifier", sc("urn:mrn", "100"), sc("urn:mrn", "200"))), want: refs(patient, "t1", "t2")},
		{name: "AND", q: sq(p, tc("identifier", sc("urn:mrn", "100")), tc("identifier", sc("urn:ssn", "555"))), want: refs(patient, "t1")},
		{name: "AND of two resources' values", q: sq(p, tc("identifier", sc("urn:mrn", "100")), tc("identifier", sc("urn:mrn", "200")))},
		{name: "unknown code", q: sq(p, tc("identifier", code("101")))},
		{name: "another parameter's value", q: sq(p, tc("gender", code("100")))},
		{name: "not", q: sq(p, tokenClause("gender", search.ModNot, code("male"))), want: refs(patient, "t2", "t4")},
		{name: "not OR", q: sq(p, tokenClause("gender", search.ModNot, code("male"), sc(gender, "female"))), want: refs(patient, "t4")},
		{name: "not with another clause", q: sq(p, tokenClause("gender", search.ModNot, code("female")), tc("identifier", sc("urn:mrn", ""))),
			want: refs(patient, "t1")},
		{name: "of-type", q: sq(p, tokenClause("identifier", search.ModOfType, code(v20203+"|MR|100"))), want: refs(patient, "t1")},
		{name: "of-type other value", q: sq(p, tokenClause("identifier", search.ModOfType, code(v20203+"|MR|200")))},
		{name: "code of any system", q: sq(o, tc("code", code("1234-5"))), want: refs(observation, "o1", "o2", "o3")},
		{name: "code in LOINC", q: sq(o, tc("code", sc(loinc, "1234-5"))), want: refs(observation, "o1")},
		{name: "code in a local system", q: sq(o, tc("code", sc("urn:local", "1234-5"))), want: refs(observation, "o2", "o3")},
		{name: "text of a display", q: sq(o, tokenClause("code", search.ModText, text("glucose"))), want: refs(observation, "o1", "o3")},
		{name: "text folded", q: sq(o, tokenClause("code", search.ModText, text("GLUC"))), want: refs(observation, "o1", "o3")},
		{name: "text of a text", q: sq(o, tokenClause("code", search.ModText, text("blood"))), want: refs(observation, "o1")},
		{name: "text OR", q: sq(o, tokenClause("code", search.ModText, text("hemo"), text("blood"))), want: refs(observation, "o1", "o2")},
		{name: "text starts the text", q: sq(o, tokenClause("code", search.ModText, text("sugar")))},
		{name: "_id", q: sq(p, tc("_id", code("t1"), code("t3"))), want: refs(patient, "t1", "t3")},
		{name: "_id not", q: sq(p, tokenClause("_id", search.ModNot, code("t1"))), want: refs(patient, "t2", "t3", "t4")},
		{name: "_id of another type", q: sq(p, tc("_id", code("o1")))},
		{name: "in", q: sq(o, tokenClause("code", search.ModIn, search.Value{URL: "http://x/vs"})), fails: failsWith(fhir.KindNotImplemented)},
		{name: "not-in", q: sq(o, tokenClause("code", search.ModNotIn, search.Value{URL: "http://x/vs"})), fails: failsWith(fhir.KindNotImplemented)},
		{name: "above", q: sq(o, tokenClause("code", search.ModAbove, sc(loinc, "1234-5"))), fails: failsWith(fhir.KindNotImplemented)},
		{name: "below", q: sq(o, tokenClause("code", search.ModBelow, sc(loinc, "1234-5"))), fails: failsWith(fhir.KindNotImplemented)},
		{name: "_id empty", q: sq(o, tc("_id", code("")))},
		{name: "_id not empty", q: sq(o, tokenClause("_id", search.ModNot, code(""))), want: refs(observation, "o1", "o2", "o3")},
	}
	if !testing.Short() {
		// Slow under the race detector, where CI runs the suite short.
		vectors = append(vectors,
			vector{name: "10000 values", q: sq(o, tc("code", many...)), want: refs(observation, "o1")},
			vector{name: "not 10000 values", q: sq(o, tokenClause("code", search.ModNot, many...)), want: refs(observation, "o2", "o3")})
	}
	runVectors(t, s, fixtures, vectors)
}

// testSearchStrings: starts-with on folded values (case and accents
// ignored), :exact on the values as written, :contains.
func testSearchStrings(t *testing.T, s engine.Store) {
	fixtures := []*fixture{
		fx(patient, "s1").str("family", "Smith").str("given", "Anna").str("given", "Marie"),
		fx(patient, "s2").str("family", "Smythe").str("given", "Bob"),
		fx(patient, "s3").str("family", "Ångström").str("given", "Élodie"),
		fx(patient, "s4").str("family", "O'Brien").str("given", "Seán").str("name", "Dr. Seán  O'Brien"),
		fx(patient, "s5"),
	}
	p := of(patient)
	str := func(param string, values ...string) search.Clause {
		return stringClause(param, search.ModNone, values...)
	}
	vectors := []vector{
		{name: "starts with", q: sq(p, str("family", "smi")), want: refs(patient, "s1")},
		{name: "case", q: sq(p, str("family", "SM")), want: refs(patient, "s1", "s2")},
		{name: "whole value", q: sq(p, str("family", "Smith")), want: refs(patient, "s1")},
		{name: "longer than the value", q: sq(p, str("family", "Smiths"))},
		{name: "accents", q: sq(p, str("family", "angs")), want: refs(patient, "s3")},
		{name: "accents in the search", q: sq(p, str("family", "ÅNG")), want: refs(patient, "s3")},
		{name: "accented given", q: sq(p, str("given", "elo")), want: refs(patient, "s3")},
		{name: "not in the middle", q: sq(p, str("family", "mith"))},
		{name: "apostrophe", q: sq(p, str("family", "o'b")), want: refs(patient, "s4")},
		{name: "spaces collapsed", q: sq(p, str("name", "dr. sean o")), want: refs(patient, "s4")},
		{name: "second given", q: sq(p, str("given", "mar")), want: refs(patient, "s1")},
		{name: "OR", q: sq(p, str("given", "ma", "bo")), want: refs(patient, "s1", "s2")},
		{name: "AND", q: sq(p, str("family", "sm"), str("given", "bob")), want: refs(patient, "s2")},
		{name: "AND none", q: sq(p, str("family", "smith"), str("given", "bob"))},
		{name: "exact", q: sq(p, stringClause("family", search.ModExact, "Smith")), want: refs(patient, "s1")},
		{name: "exact case", q: sq(p, stringClause("family", search.ModExact, "smith"))},
		{name: "exact prefix", q: sq(p, stringClause("family", search.ModExact, "Smit"))},
		{name: "exact accents", q: sq(p, stringClause("family", search.ModExact, "Ångström")), want: refs(patient, "s3")},
		{name: "exact without accents", q: sq(p, stringClause("family", search.ModExact, "Angstrom"))},
		{name: "exact OR", q: sq(p, stringClause("family", search.ModExact, "Smith", "Smythe")), want: refs(patient, "s1", "s2")},
		{name: "contains", q: sq(p, stringClause("family", search.ModContains, "ith")), want: refs(patient, "s1")},
		{name: "contains case", q: sq(p, stringClause("family", search.ModContains, "THE")), want: refs(patient, "s2")},
		{name: "contains accents", q: sq(p, stringClause("family", search.ModContains, "NGST")), want: refs(patient, "s3")},
		{name: "contains start", q: sq(p, stringClause("family", search.ModContains, "sm")), want: refs(patient, "s1", "s2")},
		{name: "contains none", q: sq(p, stringClause("family", search.ModContains, "xyz"))},
	}
	runVectors(t, s, fixtures, vectors)
}

// testSearchURIs: equality, :below (the search URI is a prefix of the
// value), :above (the value is a prefix of the search URI), :contains.
func testSearchURIs(t *testing.T, s engine.Store) {
	fixtures := []*fixture{
		fx(valueSet, "v1").uri("url", "http://acme.org/fhir/ValueSet/123"),
		fx(valueSet, "v2").uri("url", "http://acme.org/fhir/ValueSet/124"),
		fx(valueSet, "v3").uri("url", "http://acme.org/"),
		fx(valueSet, "v4").uri("url", "http://other.org/fhir/ValueSet/123"),
		fx(valueSet, "v5"),
	}
	v := of(valueSet)
	vectors := []vector{
		{name: "equal", q: sq(v, uriClause("url", search.ModNone, "http://acme.org/fhir/ValueSet/123")), want: refs(valueSet, "v1")},
		{name: "prefix is not equal", q: sq(v, uriClause("url", search.ModNone, "http://acme.org/fhir/ValueSet/12"))},
		{name: "case matters", q: sq(v, uriClause("url", search.ModNone, "http://ACME.org/"))},
		{name: "OR", q: sq(v, uriClause("url", search.ModNone, "http://acme.org/", "http://other.org/fhir/ValueSet/123")),
			want: refs(valueSet, "v3", "v4")},
		{name: "below", q: sq(v, uriClause("url", search.ModBelow, "http://acme.org/fhir/")), want: refs(valueSet, "v1", "v2")},
		{name: "below the root", q: sq(v, uriClause("url", search.ModBelow, "http://acme.org/")), want: refs(valueSet, "v1", "v2", "v3")},
		{name: "above", q: sq(v, uriClause("url", search.ModAbove, "http://acme.org/fhir/ValueSet/123/_history/4")),
			want: refs(valueSet, "v1", "v3")},
		{name: "above itself", q: sq(v, uriClause("url", search.ModAbove, "http://acme.org/")), want: refs(valueSet, "v3")},
		{name: "contains", q: sq(v, uriClause("url", search.ModContains, "ValueSet/123")), want: refs(valueSet, "v1", "v4")},
	}
	runVectors(t, s, fixtures, vectors)
}

// testSearchComposites: every component must match on one composite
// value, not on several.
func testSearchComposites(t *testing.T, s engine.Store) {
	tok := func(system, c string) search.Part { return search.Part{Token: &search.Token{System: system, Code: c}} }
	mmHg := func(v float64) search.Part {
		return search.Part{Quantity: &search.Quantity{Lo: v, Hi: v, System: ucum, Code: "mm[Hg]", Unit: "mmHg",
			CanonicalCode: "g.m-1.s-2", CanonicalLo: v * 133322, CanonicalHi: v * 133322}}
	}
	lo, hi := span("2024-03-15")
	fixtures := []*fixture{
		fx(observation, "c1").comp("component-code-value-quantity", tok(loinc, "8480-6"), mmHg(120)).
			comp("component-code-value-quantity", tok(loinc, "8462-4"), mmHg(80)),
		fx(observation, "c2").comp("component-code-value-quantity", tok(loinc, "8480-6"), mmHg(140)).
			comp("component-code-value-quantity", tok(loinc, "8462-4"), mmHg(90)),
		fx(observation, "c3").
			comp("code-value-string", tok(loinc, "x"), search.Part{String: &search.String{Value: "positive", Exact: "Positive"}}).
			comp("code-value-date", tok(loinc, "d"), search.Part{Date: &search.Date{Lo: lo, Hi: hi}}).
			comp("code-value-concept", tok(loinc, "y"), tok("urn:sct", "10828004")),
		fx(observation, "c4"),
	}
	o := of(observation)
	bp := "component-code-value-quantity"
	vectors := []vector{
		{name: "gt", q: sq(o, compositeClause(bp, []search.Value{sc(loinc, "8480-6"), nv(search.PrefixGt, "130")})),
			want: refs(observation, "c2")},
		{name: "lt any system", q: sq(o, compositeClause(bp, []search.Value{code("8480-6"), nv(search.PrefixLt, "130")})),
			want: refs(observation, "c1")},
		{name: "components of two entries", q: sq(o, compositeClause(bp, []search.Value{code("8480-6"), nv("", "80")}))},
		{name: "second entry", q: sq(o, compositeClause(bp, []search.Value{code("8462-4"), nv("", "80")})), want: refs(observation, "c1")},
		{name: "with unit", q: sq(o, compositeClause(bp, []search.Value{sc(loinc, "8480-6"),
			qv("", "120", ptr(ucum), "mm[Hg]", "g.m-1.s-2", 133322)})), want: refs(observation, "c1")},
		{name: "OR", q: sq(o, compositeClause(bp,
			[]search.Value{code("8480-6"), nv("", "120")}, []search.Value{code("8462-4"), nv("", "90")})),
			want: refs(observation, "c1", "c2")},
		{name: "string component", q: sq(o, compositeClause("code-value-string", []search.Value{sc(loinc, "x"), text("pos")})),
			want: refs(observation, "c3")},
		{name: "date component", q: sq(o, compositeClause("code-value-date", []search.Value{sc(loinc, "d"), dv("", "2024-03")})),
			want: refs(observation, "c3")},
		{name: "date component after", q: sq(o, compositeClause("code-value-date", []search.Value{sc(loinc, "d"), dv(search.PrefixGe, "2025")}))},
		{name: "token component", q: sq(o, compositeClause("code-value-concept", []search.Value{sc(loinc, "y"), sc("urn:sct", "10828004")})),
			want: refs(observation, "c3")},
		{name: "token component other code", q: sq(o, compositeClause("code-value-concept", []search.Value{sc(loinc, "y"), code("1")}))},
		{name: "first component other parameter's", q: sq(o, compositeClause("code-value-string", []search.Value{code("8480-6"), text("pos")}))},
	}
	runVectors(t, s, fixtures, vectors)
}

// testSearchMissing: :missing=true finds resources without a value of
// the parameter, :missing=false those with one, for every type of value.
func testSearchMissing(t *testing.T, s engine.Store) {
	all := func(f *fixture) *fixture {
		return f.tok("code", loinc, "1").str("name", "x").date("date", "2024").num("probability", 1, 1).
			qty("value-quantity", 1, ucum, "g", "g", "g", 1).ref("subject", patient, "p").uri("url", "http://x").
			comp("code-value-string", search.Part{Token: &search.Token{Code: "a"}}, search.Part{String: &search.String{Value: "b", Exact: "b"}})
	}
	fixtures := []*fixture{
		all(fx(observation, "full")),
		fx(observation, "empty"),
		fx(observation, "text-only").tokText("code", "", "", "Only a text"),
		all(fx(patient, "full")),
	}
	o := of(observation)
	params := []struct {
		param string
		typ   search.ParamType
	}{
		{"code", search.TypeToken}, {"name", search.TypeString}, {"date", search.TypeDate},
		{"probability", search.TypeNumber}, {"value-quantity", search.TypeQuantity}, {"subject", search.TypeReference},
		{"url", search.TypeURI}, {"code-value-string", search.TypeComposite},
	}
	var vectors []vector
	for _, p := range params {
		without := refs(observation, "empty", "text-only")
		with := refs(observation, "full")
		if p.param == "code" {
			without, with = refs(observation, "empty"), refs(observation, "full", "text-only")
		}
		vectors = append(vectors,
			vector{name: p.param + " missing", q: sq(o, missing(p.param, p.typ, true)), want: without},
			vector{name: p.param + " not missing", q: sq(o, missing(p.param, p.typ, false)), want: with})
	}
	vectors = append(vectors,
		vector{name: "_id missing", q: sq(o, missing("_id", search.TypeToken, true))},
		vector{name: "_id not missing", q: sq(o, missing("_id", search.TypeToken, false)), want: refs(observation, "full", "empty", "text-only")},
		vector{name: "_lastUpdated missing", q: sq(o, missing("_lastUpdated", search.TypeDate, true))},
		vector{name: "missing and not missing", q: sq(o, missing("date", search.TypeDate, true), missing("code", search.TypeToken, false)),
			want: refs(observation, "text-only")},
		vector{name: "unknown parameter missing", q: sq(o, missing("nope", search.TypeString, true)),
			want: refs(observation, "full", "empty", "text-only")},
	)
	runVectors(t, s, fixtures, vectors)
}
