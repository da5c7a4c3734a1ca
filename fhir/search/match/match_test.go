package match_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/fhir/search/match"
)

// tcase is a search of one type of the corpus and what it finds: the ids
// of its matches, or the error it fails with (kind and message).
type tcase struct {
	name    string
	typ     fhir.ResourceType
	clauses []search.Clause
	want    []fhir.ID
	fails   *fhir.Kind
	msg     string
}

func failsWith(k fhir.Kind) *fhir.Kind { return &k }

// ids is a list of ids.
func ids(s ...fhir.ID) []fhir.ID { return s }

// allBut returns the ids of the corpus's resources of type t but those of
// except.
func allBut(t fhir.ResourceType, except ...fhir.ID) []fhir.ID {
	var out []fhir.ID
	for _, c := range corpus() {
		if c.Type == t && !slices.Contains(except, c.ID) {
			out = append(out, c.ID)
		}
	}
	return out
}

// cases are the searches of TestCases and TestAgreesWithSQLite.
func cases() []tcase {
	var all []tcase
	for _, group := range []struct {
		name  string
		cases []tcase
	}{
		{"token", tokenCases()}, {"string", stringCases()}, {"date", dateCases()}, {"lastUpdated", lastUpdatedCases()},
		{"number", numberCases()}, {"quantity", quantityCases()}, {"reference", referenceCases()}, {"uri", uriCases()},
		{"composite", compositeCases()}, {"chain", chainCases()}, {"has", hasCases()}, {"missing", missingCases()},
		{"errors", errorCases()},
	} {
		for _, c := range group.cases {
			c.name = group.name + "/" + c.name
			all = append(all, c)
		}
	}
	return all
}

func tokenCases() []tcase {
	tc := func(param string, values ...search.Value) search.Clause {
		return tokenClause(param, search.ModNone, values...)
	}
	notIn := search.Value{URL: "http://x/vs"}
	return []tcase{
		{name: "system|code", typ: patient, clauses: []search.Clause{tc("identifier", sc("urn:mrn", "100"))}, want: ids("p1")},
		{name: "code", typ: patient, clauses: []search.Clause{tc("identifier", code("100"))}, want: ids("p1")},
		{name: "|code", typ: patient, clauses: []search.Clause{tc("identifier", sc("", "300"))}, want: ids("p3")},
		{name: "|code of a code with a system", typ: patient, clauses: []search.Clause{tc("identifier", sc("", "100"))}},
		{name: "system|", typ: patient, clauses: []search.Clause{tc("identifier", sc("urn:mrn", ""))}, want: ids("p1", "p2")},
		{name: "| (no system, any code)", typ: patient, clauses: []search.Clause{tc("identifier", sc("", ""))}, want: ids("p3", "p5")},
		{name: "empty value: any token", typ: patient, clauses: []search.Clause{tc("identifier", code(""))}, want: ids("p1", "p2", "p3", "p5")},
		{name: "OR", typ: patient, clauses: []search.Clause{tc("identifier", sc("urn:mrn", "100"), sc("urn:mrn", "200"))}, want: ids("p1", "p2")},
		{name: "OR of forms", typ: patient, clauses: []search.Clause{tc("identifier", code("300"), sc("urn:ssn", ""), sc("urn:mrn", "200"))},
			want: ids("p1", "p2", "p3")},
		{name: "AND", typ: patient, clauses: []search.Clause{tc("identifier", sc("urn:mrn", "100")), tc("identifier", sc("urn:ssn", "555"))}, want: ids("p1")},
		{name: "AND of two resources' values", typ: patient,
			clauses: []search.Clause{tc("identifier", sc("urn:mrn", "100")), tc("identifier", sc("urn:mrn", "200"))}},
		{name: "unknown code", typ: patient, clauses: []search.Clause{tc("identifier", code("101"))}},
		{name: "another parameter's value", typ: patient, clauses: []search.Clause{tc("gender", code("100"))}},
		{name: "system of a contact point", typ: patient, clauses: []search.Clause{tc("telecom", sc("phone", "555-1234"))}, want: ids("p5")},
		{name: "not", typ: patient, clauses: []search.Clause{tokenClause("gender", search.ModNot, code("male"))}, want: ids("p2", "p4", "p5")},
		{name: "not OR", typ: patient, clauses: []search.Clause{tokenClause("gender", search.ModNot, code("male"), sc(gender, "female"))},
			want: ids("p4", "p5")},
		{name: "not system|", typ: patient, clauses: []search.Clause{tokenClause("identifier", search.ModNot, sc("urn:mrn", ""))},
			want: ids("p3", "p4", "p5")},
		{name: "not any token", typ: patient, clauses: []search.Clause{tokenClause("identifier", search.ModNot, code(""))}, want: ids("p4")},
		{name: "not with another clause", typ: patient,
			clauses: []search.Clause{tokenClause("gender", search.ModNot, code("female")), tc("identifier", sc("urn:mrn", ""))}, want: ids("p1")},
		{name: "of-type", typ: patient, clauses: []search.Clause{tokenClause("identifier", search.ModOfType, code(v20203+"|MR|100"))}, want: ids("p1")},
		{name: "of-type other value", typ: patient, clauses: []search.Clause{tokenClause("identifier", search.ModOfType, code(v20203+"|MR|200"))}},
		{name: "of-type no system", typ: patient, clauses: []search.Clause{tokenClause("identifier", search.ModOfType, sc("", v20203+"|MR|100"))},
			want: ids("p1")},
		{name: "text of a display", typ: patient, clauses: []search.Clause{tokenClause("identifier", search.ModText, text("social"))}, want: ids("p1")},
		{name: "text of a text", typ: patient, clauses: []search.Clause{tokenClause("identifier", search.ModText, text("PASSPORT"))}, want: ids("p5")},
		{name: "text not in the middle", typ: patient, clauses: []search.Clause{tokenClause("identifier", search.ModText, text("number"))}},
		{name: "text empty", typ: patient, clauses: []search.Clause{tokenClause("identifier", search.ModText, text(""))}, want: ids("p1", "p5")},
		{name: "text of a parameter without texts", typ: patient, clauses: []search.Clause{tokenClause("gender", search.ModText, text("male"))}},
		{name: "text on the text parameter as a string", typ: patient,
			clauses: []search.Clause{stringClause("identifier\x00text", search.ModNone, "soc")}, want: ids("p1")},
		{name: "code of any system", typ: observation, clauses: []search.Clause{tc("code", code("1234-5"))}, want: ids("o1", "o2", "o3")},
		{name: "code in LOINC", typ: observation, clauses: []search.Clause{tc("code", sc(loinc, "1234-5"))}, want: ids("o1")},
		{name: "code in a local system", typ: observation, clauses: []search.Clause{tc("code", sc("urn:local", "1234-5"))}, want: ids("o2", "o3")},
		{name: "text", typ: observation, clauses: []search.Clause{tokenClause("code", search.ModText, text("glucose"))}, want: ids("o1", "o3")},
		{name: "text folded", typ: observation, clauses: []search.Clause{tokenClause("code", search.ModText, text("GLUC"))}, want: ids("o1", "o3")},
		{name: "text OR", typ: observation, clauses: []search.Clause{tokenClause("code", search.ModText, text("hemo"), text("blood"))},
			want: ids("o1", "o2")},
		{name: "text starts the text", typ: observation, clauses: []search.Clause{tokenClause("code", search.ModText, text("sugar"))}},
		{name: "many values", typ: observation, clauses: []search.Clause{tc("code", manyCodes(sc(loinc, "1234-5"))...)}, want: ids("o1")},
		{name: "not many values", typ: observation, clauses: []search.Clause{tokenClause("code", search.ModNot, manyCodes(sc(loinc, "1234-5"))...)},
			want: allBut(observation, "o1")},
		{name: "_id", typ: patient, clauses: []search.Clause{tc("_id", code("p1"), code("p3"))}, want: ids("p1", "p3")},
		{name: "_id not", typ: patient, clauses: []search.Clause{tokenClause("_id", search.ModNot, code("p1"))}, want: ids("p2", "p3", "p4", "p5")},
		{name: "_id of another type", typ: patient, clauses: []search.Clause{tc("_id", code("o1"))}},
		{name: "_id of the index is not the id", typ: patient, clauses: []search.Clause{tc("_id", code("zzz"))}},
		{name: "_id with a system", typ: patient, clauses: []search.Clause{tc("_id", sc("urn:x", "p2"))}, want: ids("p2")},
		{name: "_id empty", typ: patient, clauses: []search.Clause{tc("_id", code(""))}},
		{name: "_id not empty", typ: patient, clauses: []search.Clause{tokenClause("_id", search.ModNot, code(""))}, want: allBut(patient)},
		{name: "_id text of the index", typ: patient, clauses: []search.Clause{tokenClause("_id", search.ModText, text("zed"))}},
		{name: "_id text", typ: patient, clauses: []search.Clause{tokenClause("_id", search.ModText, text(""))}},
		{name: "_id of-type", typ: patient, clauses: []search.Clause{tokenClause("_id", search.ModOfType, code("p1"))}},
		{name: "in", typ: observation, clauses: []search.Clause{tokenClause("code", search.ModIn, notIn)}, fails: failsWith(fhir.KindNotImplemented),
			msg: "the modifier :in of code needs the terminology service, which the server does not have yet"},
		{name: "not-in", typ: observation, clauses: []search.Clause{tokenClause("code", search.ModNotIn, notIn)}, fails: failsWith(fhir.KindNotImplemented),
			msg: "the modifier :not-in of code needs the terminology service, which the server does not have yet"},
		{name: "above", typ: observation, clauses: []search.Clause{tokenClause("code", search.ModAbove, sc(loinc, "1"))},
			fails: failsWith(fhir.KindNotImplemented), msg: "the modifier :above of code needs the terminology service, which the server does not have yet"},
		{name: "below", typ: observation, clauses: []search.Clause{tokenClause("code", search.ModBelow, sc(loinc, "1"))},
			fails: failsWith(fhir.KindNotImplemented), msg: "the modifier :below of code needs the terminology service, which the server does not have yet"},
		{name: "exact", typ: observation, clauses: []search.Clause{tokenClause("code", search.ModExact, code("1"))}, fails: failsWith(fhir.KindInvalid),
			msg: "the modifier :exact does not apply to the token parameter code"},
		{name: "identifier", typ: observation, clauses: []search.Clause{tokenClause("code", search.ModIdentifier, code("1"))},
			fails: failsWith(fhir.KindInvalid), msg: "the modifier :identifier does not apply to the token parameter code"},
		{name: "_id contains", typ: observation, clauses: []search.Clause{tokenClause("_id", search.ModContains, code("1"))},
			fails: failsWith(fhir.KindInvalid), msg: "the modifier :contains does not apply to the token parameter _id"},
	}
}

// manyCodes is v among 2,000 codes of LOINC no resource has, as :in of a
// large value set becomes.
func manyCodes(v search.Value) []search.Value {
	out := []search.Value{v}
	for i := range 2000 {
		out = append(out, sc(loinc, fmt.Sprint("x-", i)))
	}
	return out
}

func stringCases() []tcase {
	str := func(param string, values ...string) search.Clause {
		return stringClause(param, search.ModNone, values...)
	}
	return []tcase{
		{name: "starts with", typ: patient, clauses: []search.Clause{str("family", "smi")}, want: ids("p1")},
		{name: "case", typ: patient, clauses: []search.Clause{str("family", "SM")}, want: ids("p1", "p2")},
		{name: "whole value", typ: patient, clauses: []search.Clause{str("family", "Smith")}, want: ids("p1")},
		{name: "longer than the value", typ: patient, clauses: []search.Clause{str("family", "Smiths")}},
		{name: "accents", typ: patient, clauses: []search.Clause{str("family", "angs")}, want: ids("p3")},
		{name: "accents in the search", typ: patient, clauses: []search.Clause{str("family", "ÅNG")}, want: ids("p3")},
		{name: "accented given", typ: patient, clauses: []search.Clause{str("given", "elo")}, want: ids("p3")},
		{name: "not in the middle", typ: patient, clauses: []search.Clause{str("family", "mith")}},
		{name: "apostrophe", typ: patient, clauses: []search.Clause{str("family", "o'b")}, want: ids("p5")},
		{name: "spaces collapsed", typ: patient, clauses: []search.Clause{str("name", "dr. sean o")}, want: ids("p5")},
		{name: "not folded by the parser", typ: patient,
			clauses: []search.Clause{{Param: "family", Type: search.TypeString, Values: []search.Value{{Text: "SMI"}}}}, want: ids("p1")},
		{name: "second given", typ: patient, clauses: []search.Clause{str("given", "mar")}, want: ids("p1")},
		{name: "empty", typ: patient, clauses: []search.Clause{str("family", "")}, want: ids("p1", "p2", "p3", "p5")},
		{name: "OR", typ: patient, clauses: []search.Clause{str("given", "ma", "bo")}, want: ids("p1", "p2")},
		{name: "AND", typ: patient, clauses: []search.Clause{str("family", "sm"), str("given", "bob")}, want: ids("p2")},
		{name: "AND none", typ: patient, clauses: []search.Clause{str("family", "smith"), str("given", "bob")}},
		{name: "exact", typ: patient, clauses: []search.Clause{stringClause("family", search.ModExact, "Smith")}, want: ids("p1")},
		{name: "exact case", typ: patient, clauses: []search.Clause{stringClause("family", search.ModExact, "smith")}},
		{name: "exact prefix", typ: patient, clauses: []search.Clause{stringClause("family", search.ModExact, "Smit")}},
		{name: "exact accents", typ: patient, clauses: []search.Clause{stringClause("family", search.ModExact, "Ångström")}, want: ids("p3")},
		{name: "exact without accents", typ: patient, clauses: []search.Clause{stringClause("family", search.ModExact, "Angstrom")}},
		{name: "exact spaces", typ: patient, clauses: []search.Clause{stringClause("name", search.ModExact, "Dr. Seán  O'Brien")}, want: ids("p5")},
		{name: "exact spaces collapsed", typ: patient, clauses: []search.Clause{stringClause("name", search.ModExact, "Dr. Seán O'Brien")}},
		{name: "exact OR", typ: patient, clauses: []search.Clause{stringClause("family", search.ModExact, "Smith", "Smythe")}, want: ids("p1", "p2")},
		{name: "contains", typ: patient, clauses: []search.Clause{stringClause("family", search.ModContains, "ith")}, want: ids("p1")},
		{name: "contains case", typ: patient, clauses: []search.Clause{stringClause("family", search.ModContains, "THE")}, want: ids("p2")},
		{name: "contains accents", typ: patient, clauses: []search.Clause{stringClause("family", search.ModContains, "NGST")}, want: ids("p3")},
		{name: "contains start", typ: patient, clauses: []search.Clause{stringClause("family", search.ModContains, "sm")}, want: ids("p1", "p2")},
		{name: "contains none", typ: patient, clauses: []search.Clause{stringClause("family", search.ModContains, "xyz")}},
		{name: "contains empty", typ: patient, clauses: []search.Clause{stringClause("family", search.ModContains, "")},
			want: ids("p1", "p2", "p3", "p5")},
		{name: "chain target names", typ: organization, clauses: []search.Clause{str("name", "acme")}, want: ids("org1", "org3")},
		{name: "text", typ: patient, clauses: []search.Clause{stringClause("family", search.ModText, "smith")}, fails: failsWith(fhir.KindInvalid),
			msg: "the modifier :text does not apply to the string parameter family"},
		{name: "not", typ: patient, clauses: []search.Clause{stringClause("family", search.ModNot, "smith")}, fails: failsWith(fhir.KindInvalid),
			msg: "the modifier :not does not apply to the string parameter family"},
	}
}

// Dates: with D = 2024-03-15 the search range [D, D+1 day), e1 is D,
// e2 its month, e3 its year, e4 a period around it, e5 open after its
// start, e6 open before its end, e7 its first millisecond, e8 a point
// at D, e10 its last second, e11 two values far off, e12 open both ways,
// e13 a point at D+1 day; e9 has no date.
func dateCases() []tcase {
	dc := func(values ...search.Value) []search.Clause { return []search.Clause{dateClause("date", values...)} }
	const d = "2024-03-15"
	return []tcase{
		{name: "eq", typ: encounter, clauses: dc(dv(search.PrefixEq, d)), want: ids("e1", "e7", "e8", "e10")},
		{name: "no prefix", typ: encounter, clauses: dc(dv("", d)), want: ids("e1", "e7", "e8", "e10")},
		{name: "ne", typ: encounter, clauses: dc(dv(search.PrefixNe, d)), want: ids("e2", "e3", "e4", "e5", "e6", "e11", "e12", "e13", "e14")},
		{name: "gt", typ: encounter, clauses: dc(dv(search.PrefixGt, d)), want: ids("e2", "e3", "e4", "e5", "e11", "e12", "e13", "e14")},
		{name: "lt", typ: encounter, clauses: dc(dv(search.PrefixLt, d)), want: ids("e2", "e3", "e4", "e6", "e11", "e12")},
		{name: "ge", typ: encounter, clauses: dc(dv(search.PrefixGe, d)),
			want: ids("e1", "e2", "e3", "e4", "e5", "e7", "e8", "e10", "e11", "e12", "e13", "e14")},
		{name: "le", typ: encounter, clauses: dc(dv(search.PrefixLe, d)),
			want: ids("e1", "e2", "e3", "e4", "e6", "e7", "e8", "e10", "e11", "e12")},
		{name: "sa", typ: encounter, clauses: dc(dv(search.PrefixSa, d)), want: ids("e11", "e13", "e14")},
		{name: "eb", typ: encounter, clauses: dc(dv(search.PrefixEb, d)), want: ids("e11")},
		{name: "eb the next day", typ: encounter, clauses: dc(dv(search.PrefixEb, "2024-03-16")),
			want: ids("e1", "e6", "e7", "e8", "e10", "e11")},
		{name: "sa the day before", typ: encounter, clauses: dc(dv(search.PrefixSa, "2024-03-14")),
			want: ids("e1", "e5", "e7", "e8", "e10", "e11", "e13", "e14")},
		{name: "eq month", typ: encounter, clauses: dc(dv(search.PrefixEq, "2024-03")), want: ids("e1", "e2", "e4", "e7", "e8", "e10", "e13")},
		{name: "eq second", typ: encounter, clauses: dc(dv(search.PrefixEq, "2024-03-15T23:59:59Z")), want: ids("e10")},
		{name: "eq millisecond", typ: encounter, clauses: dc(dv(search.PrefixEq, "2024-03-15T00:00:00.000Z")), want: ids("e7", "e8")},
		{name: "gt millisecond", typ: encounter, clauses: dc(dv(search.PrefixGt, "2024-03-15T00:00:00.000Z")),
			want: ids("e1", "e2", "e3", "e4", "e5", "e6", "e10", "e11", "e12", "e13", "e14")},
		{name: "ap", typ: encounter, clauses: dc(dv(search.PrefixAp, d)),
			want: ids("e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e10", "e12", "e13")},
		{name: "ap a tenth of a century", typ: encounter, clauses: dc(dv(search.PrefixAp, "1900")), want: ids("e6", "e11", "e12")},
		{name: "ap a day", typ: encounter, clauses: dc(dv(search.PrefixAp, "2024-12-31")), want: ids("e3", "e5", "e12", "e14")},
		{name: "OR", typ: encounter, clauses: dc(dv("", "1900"), dv("", "2100")), want: ids("e11")},
		{name: "AND", typ: encounter, clauses: []search.Clause{dateClause("date", dv(search.PrefixLt, "1950")), dateClause("date", dv(search.PrefixGe, "2050"))},
			want: ids("e11", "e12")},
		{name: "birthdate eq year", typ: patient, clauses: []search.Clause{dateClause("birthdate", dv("", "1960"))}, want: ids("p1", "p2")},
		{name: "birthdate ge", typ: patient, clauses: []search.Clause{dateClause("birthdate", dv(search.PrefixGe, "1960-06-15"))},
			want: ids("p1", "p2", "p3")},
		{name: "birthdate lt", typ: patient, clauses: []search.Clause{dateClause("birthdate", dv(search.PrefixLt, "1960-06-15"))},
			want: ids("p2", "p3")},
		{name: "bad prefix", typ: encounter, clauses: dc(dv("xx", d)), fails: failsWith(fhir.KindInvalid), msg: `the prefix "xx" is not a search prefix`},
		{name: "modifier", typ: encounter, clauses: []search.Clause{{Param: "date", Type: search.TypeDate, Modifier: search.ModExact,
			Values: []search.Value{dv("", d)}}}, fails: failsWith(fhir.KindInvalid), msg: "the modifier :exact does not apply to the date parameter date"},
	}
}

// _lastUpdated: the patients were written a second apart from base,
// p1 first; p1's index has a _lastUpdated of its own, in 1990, which does
// not count.
func lastUpdatedCases() []tcase {
	lu := func(p search.Prefix, value string) []search.Clause {
		return []search.Clause{dateClause("_lastUpdated", dv(p, value))}
	}
	const b = "2024-01-01T00:00:01Z" // p2
	const bms = "2024-01-01T00:00:01.000Z"
	return []tcase{
		{name: "eq", typ: patient, clauses: lu(search.PrefixEq, b), want: ids("p2")},
		{name: "eq ms", typ: patient, clauses: lu(search.PrefixEq, bms), want: ids("p2")},
		{name: "eq ms after", typ: patient, clauses: lu(search.PrefixEq, "2024-01-01T00:00:01.001Z")},
		{name: "gt", typ: patient, clauses: lu(search.PrefixGt, b), want: ids("p3", "p4", "p5")},
		{name: "gt ms", typ: patient, clauses: lu(search.PrefixGt, bms), want: ids("p3", "p4", "p5")},
		{name: "ge", typ: patient, clauses: lu(search.PrefixGe, b), want: ids("p2", "p3", "p4", "p5")},
		{name: "lt", typ: patient, clauses: lu(search.PrefixLt, b), want: ids("p1")},
		{name: "le", typ: patient, clauses: lu(search.PrefixLe, b), want: ids("p1", "p2")},
		{name: "le ms", typ: patient, clauses: lu(search.PrefixLe, bms), want: ids("p1", "p2")},
		{name: "sa", typ: patient, clauses: lu(search.PrefixSa, b), want: ids("p3", "p4", "p5")},
		{name: "eb", typ: patient, clauses: lu(search.PrefixEb, b), want: ids("p1")},
		{name: "ne", typ: patient, clauses: lu(search.PrefixNe, b), want: ids("p1", "p3", "p4", "p5")},
		{name: "ap", typ: patient, clauses: lu(search.PrefixAp, b), want: allBut(patient)},
		{name: "eq day", typ: patient, clauses: lu(search.PrefixEq, "2024-01-01"), want: allBut(patient)},
		{name: "ge 2000", typ: patient, clauses: lu(search.PrefixGe, "2000"), want: allBut(patient)},
		{name: "lt 2000", typ: patient, clauses: lu(search.PrefixLt, "2000")},
		{name: "window", typ: patient, clauses: []search.Clause{dateClause("_lastUpdated", dv(search.PrefixGt, "2024-01-01T00:00:00Z")),
			dateClause("_lastUpdated", dv(search.PrefixLt, "2024-01-01T00:00:04Z"))}, want: ids("p2", "p3", "p4")},
		{name: "modifier", typ: patient, clauses: []search.Clause{{Param: "_lastUpdated", Type: search.TypeDate, Modifier: search.ModNot,
			Values: []search.Value{dv("", b)}}}, fails: failsWith(fhir.KindInvalid),
			msg: "the modifier :not does not apply to the date parameter _lastUpdated"},
	}
}

func numberCases() []tcase {
	n := func(values ...search.Value) []search.Clause {
		return []search.Clause{numberClause("probability", values...)}
	}
	return []tcase{
		{name: "eq", typ: riskAssess, clauses: n(nv(search.PrefixEq, "100")), want: ids("n100", "n100.4", "n99.5")},
		{name: "eq one decimal", typ: riskAssess, clauses: n(nv(search.PrefixEq, "100.0")), want: ids("n100")},
		{name: "eq two decimals", typ: riskAssess, clauses: n(nv("", "100.40")), want: ids("n100.4")},
		{name: "ne", typ: riskAssess, clauses: n(nv(search.PrefixNe, "100")),
			want: ids("n100.5", "range", "n0.8", "n89.6", "minus", "above50", "below0", "nanmix")},
		{name: "gt", typ: riskAssess, clauses: n(nv(search.PrefixGt, "100")), want: ids("n100.5", "range", "above50")},
		{name: "lt", typ: riskAssess, clauses: n(nv(search.PrefixLt, "100")), want: ids("range", "n0.8", "n89.6", "minus", "above50", "below0", "nanmix")},
		{name: "ge", typ: riskAssess, clauses: n(nv(search.PrefixGe, "100")), want: ids("n100", "n100.4", "n99.5", "n100.5", "range", "above50")},
		{name: "le", typ: riskAssess, clauses: n(nv(search.PrefixLe, "100")),
			want: ids("n100", "n100.4", "n99.5", "range", "n0.8", "n89.6", "minus", "above50", "below0", "nanmix")},
		{name: "sa", typ: riskAssess, clauses: n(nv(search.PrefixSa, "100")), want: ids("n100.5")},
		{name: "eb", typ: riskAssess, clauses: n(nv(search.PrefixEb, "100")), want: ids("n0.8", "n89.6", "minus", "below0", "nanmix")},
		{name: "ap", typ: riskAssess, clauses: n(nv(search.PrefixAp, "100")), want: ids("n100", "n100.4", "n99.5", "n100.5", "range", "n89.6", "above50")},
		{name: "ap below", typ: riskAssess, clauses: n(nv(search.PrefixAp, "95")),
			want: ids("n100", "n100.4", "n99.5", "n100.5", "range", "n89.6", "above50")},
		{name: "ap small", typ: riskAssess, clauses: n(nv(search.PrefixAp, "1")), want: ids("n0.8")},
		{name: "ap zero", typ: riskAssess, clauses: n(nv(search.PrefixAp, "0")), want: ids("below0")},
		{name: "eq decimal", typ: riskAssess, clauses: n(nv("", "0.8")), want: ids("n0.8")},
		{name: "negative", typ: riskAssess, clauses: n(nv("", "-5")), want: ids("minus")},
		{name: "lt zero", typ: riskAssess, clauses: n(nv(search.PrefixLt, "0")), want: ids("minus", "below0")},
		{name: "ge exactly", typ: riskAssess, clauses: n(nvExact(search.PrefixGe, 100)), want: ids("n100", "n100.4", "n100.5", "range", "above50")},
		{name: "gt exactly", typ: riskAssess, clauses: n(nvExact(search.PrefixGt, 100)), want: ids("n100.4", "n100.5", "range", "above50")},
		{name: "lt exactly", typ: riskAssess, clauses: n(nvExact(search.PrefixLt, 100)),
			want: ids("n99.5", "range", "n0.8", "n89.6", "minus", "above50", "below0", "nanmix")},
		{name: "le exactly", typ: riskAssess, clauses: n(nvExact(search.PrefixLe, 100)),
			want: ids("n100", "n99.5", "range", "n0.8", "n89.6", "minus", "above50", "below0", "nanmix")},
		{name: "sa exactly", typ: riskAssess, clauses: n(nvExact(search.PrefixSa, 100)), want: ids("n100.4", "n100.5")},
		{name: "eb exactly", typ: riskAssess, clauses: n(nvExact(search.PrefixEb, 100)), want: ids("n99.5", "n0.8", "n89.6", "minus", "below0", "nanmix")},
		{name: "inside a range", typ: riskAssess, clauses: n(nv("", "95"))},
		{name: "OR", typ: riskAssess, clauses: n(nv("", "0.8"), nv("", "-5")), want: ids("n0.8", "minus")},
		{name: "AND", typ: riskAssess, clauses: []search.Clause{numberClause("probability", nv(search.PrefixGt, "1")),
			numberClause("probability", nv(search.PrefixLt, "100"))}, want: ids("range", "n89.6", "above50", "nanmix")},
		{name: "bad prefix", typ: riskAssess, clauses: n(nv("about", "1")), fails: failsWith(fhir.KindInvalid),
			msg: `the prefix "about" is not a search prefix`},
		{name: "modifier", typ: riskAssess, clauses: []search.Clause{{Param: "probability", Type: search.TypeNumber, Modifier: search.ModContains,
			Values: []search.Value{nv("", "1")}}}, fails: failsWith(fhir.KindInvalid),
			msg: "the modifier :contains does not apply to the number parameter probability"},
	}
}

func quantityCases() []tcase {
	const vq = "value-quantity"
	qq := func(values ...search.Value) []search.Clause { return []search.Clause{quantityClause(vq, values...)} }
	empty := ""
	return []tcase{
		{name: "canonical", typ: observation, clauses: qq(qv("", "5.4", ptr(ucum), "mg", "g", 0.001)), want: ids("q-mg", "q-g")},
		{name: "canonical in another unit", typ: observation, clauses: qq(qv("", "0.0054", ptr(ucum), "g", "g", 1)), want: ids("q-mg", "q-g")},
		{name: "canonical gt", typ: observation, clauses: qq(qv(search.PrefixGt, "1", ptr(ucum), "g", "g", 1)), want: ids("q-kg", "q-open")},
		{name: "canonical ap", typ: observation, clauses: qq(qv(search.PrefixAp, "5", ptr(ucum), "mg", "g", 0.001)),
			want: ids("q-mg", "q-g", "q-open")},
		{name: "other dimension", typ: observation, clauses: qq(qv("", "5.4", ptr(ucum), "mg/dL", "g.m-3", 10)), want: ids("q-mgdl")},
		{name: "canonical, value without", typ: observation, clauses: qq(qv("", "5.4", ptr(ucum), "[foo]", "x", 2)), want: ids("q-nocanon")},
		{name: "unit without canonical", typ: observation, clauses: qq(qv("", "5.4", ptr(ucum), "mg", "", 0)), want: ids("q-mg", "q-othercc")},
		{name: "system and code", typ: observation, clauses: qq(qv("", "5.4", ptr(units), "tab", "", 0)), want: ids("q-tab")},
		{name: "other system", typ: observation, clauses: qq(qv("", "5.4", ptr("urn:other"), "tab", "", 0))},
		{name: "system without code", typ: observation, clauses: qq(qv("", "5.4", ptr(ucum), "", "", 0))},
		{name: "code of any system", typ: observation, clauses: qq(qv("", "5.4", &empty, "tab", "", 0)), want: ids("q-tab", "q-code")},
		{name: "code nil system", typ: observation, clauses: qq(qv("", "5.4", nil, "tab", "", 0)), want: ids("q-tab", "q-code")},
		{name: "unit is not code", typ: observation, clauses: qq(qv("", "5.4", nil, "tablets", "", 0))},
		{name: "no unit", typ: observation, clauses: qq(qv("", "5.4", nil, "", "", 0)),
			want: ids("q-mg", "q-tab", "q-mgdl", "q-bare", "q-code", "q-nocanon", "q-othercc")},
		{name: "no unit gt", typ: observation, clauses: qq(qv(search.PrefixGt, "4", nil, "", "", 0)),
			want: ids("q-mg", "q-tab", "q-mgdl", "q-bare", "q-kg", "q-open", "q-code", "q-nocanon", "q-othercc")},
		{name: "no unit gt precision", typ: observation, clauses: qq(qv(search.PrefixGt, "5", nil, "", "", 0)), want: ids("q-open")},
		{name: "no unit le", typ: observation, clauses: qq(qv(search.PrefixLe, "1", nil, "", "", 0)), want: ids("q-g")},
		{name: "no unit ne", typ: observation, clauses: qq(qv(search.PrefixNe, "5.4", nil, "", "", 0)), want: ids("q-g", "q-kg", "q-open")},
		{name: "OR", typ: observation, clauses: qq(qv("", "5", ptr(ucum), "kg", "g", 1000), qv("", "5.4", ptr(units), "tab", "", 0)),
			want: ids("q-kg", "q-tab")},
		{name: "bad prefix", typ: observation, clauses: qq(qv("x", "5", nil, "", "", 0)), fails: failsWith(fhir.KindInvalid),
			msg: `the prefix "x" is not a search prefix`},
		{name: "modifier", typ: observation, clauses: []search.Clause{{Param: vq, Type: search.TypeQuantity, Modifier: search.ModBelow,
			Values: []search.Value{nv("", "1")}}}, fails: failsWith(fhir.KindInvalid),
			msg: "the modifier :below does not apply to the quantity parameter value-quantity"},
	}
}

func referenceCases() []tcase {
	r := func(param string, values ...search.Value) []search.Clause {
		return []search.Clause{refClause(param, search.ModNone, values...)}
	}
	withVersion := rv(patient, "r2")
	withVersion.Version = "5"
	return []tcase{
		{name: "Type/id", typ: docRef, clauses: r("subject", rv(patient, "r1")), want: ids("ra")},
		{name: "id of any type", typ: docRef, clauses: r("subject", rv("", "r1")), want: ids("ra", "rb")},
		{name: ":Group", typ: docRef, clauses: r("subject", rv(groupType, "r1")), want: ids("rb")},
		{name: "reference to a version and absolute URL on this server", typ: docRef, clauses: r("subject", rv(patient, "r2")),
			want: ids("rc", "rl")},
		{name: "version of the search ignored", typ: docRef, clauses: r("subject", withVersion), want: ids("rc", "rl")},
		{name: "other server's resource by Type/id", typ: docRef, clauses: r("subject", rv(patient, "77"))},
		{name: "absolute URL", typ: docRef, clauses: r("subject", url("http://remote.org/fhir/Patient/77", "")), want: ids("rd")},
		{name: "this server's URL", typ: docRef, clauses: r("subject", url("http://this.server/fhir/Patient/r2", "")), want: ids("rl")},
		{name: "other absolute URL", typ: docRef, clauses: r("subject", url("http://remote.org/fhir/Patient/78", ""))},
		{name: "target not stored", typ: docRef, clauses: r("subject", rv(patient, "nobody")), want: ids("rf")},
		{name: "id alone, target not stored", typ: docRef, clauses: r("subject", rv("", "nobody")), want: ids("rf")},
		{name: "type without id", typ: docRef, clauses: r("subject", rv(patient, ""))},
		{name: "empty value", typ: docRef, clauses: r("subject", search.Value{})},
		{name: "identifier", typ: docRef, clauses: []search.Clause{refClause("subject", search.ModIdentifier, sc("urn:mrn", "123"))}, want: ids("re")},
		{name: "identifier code", typ: docRef, clauses: []search.Clause{refClause("subject", search.ModIdentifier, code("123"))}, want: ids("re")},
		{name: "identifier other system", typ: docRef, clauses: []search.Clause{refClause("subject", search.ModIdentifier, sc("urn:x", "123"))}},
		{name: "OR", typ: docRef, clauses: r("subject", rv(patient, "r1"), rv(patient, "r2")), want: ids("ra", "rc", "rl")},
		{name: "OR of a target and a URL", typ: docRef, clauses: r("subject", rv(patient, "r1"), url("http://remote.org/fhir/Patient/77", "")),
			want: ids("ra", "rd")},
		{name: "AND", typ: docRef, clauses: []search.Clause{refClause("author", search.ModNone, rv(practitioner, "d1")),
			refClause("subject", search.ModNone, rv(patient, "r1"))}, want: ids("ra")},
		{name: "other parameter", typ: docRef, clauses: r("author", rv(patient, "r1"))},
		{name: "canonical", typ: questionnaire, clauses: r("questionnaire", url("http://q.org/Q", "")), want: ids("qa", "qb")},
		{name: "canonical with version", typ: questionnaire, clauses: r("questionnaire", url("http://q.org/Q", "2.0")), want: ids("qb")},
		{name: "canonical with another version", typ: questionnaire, clauses: r("questionnaire", url("http://q.org/Q", "3.0"))},
		{name: "canonical OR", typ: questionnaire, clauses: r("questionnaire", url("http://q.org/Q", "1.0"), url("http://q.org/Q2", "")),
			want: ids("qa", "qc")},
		{name: "not", typ: docRef, clauses: []search.Clause{refClause("subject", search.ModNot, rv(patient, "r1"))}, fails: failsWith(fhir.KindInvalid),
			msg: "the modifier :not does not apply to the reference parameter subject"},
		{name: "text", typ: docRef, clauses: []search.Clause{refClause("subject", search.ModText, text("x"))}, fails: failsWith(fhir.KindInvalid),
			msg: "the modifier :text does not apply to the reference parameter subject"},
	}
}

func uriCases() []tcase {
	u := func(mod search.Modifier, values ...string) []search.Clause {
		return []search.Clause{uriClause("url", mod, values...)}
	}
	return []tcase{
		{name: "equal", typ: valueSet, clauses: u(search.ModNone, "http://acme.org/fhir/ValueSet/123"), want: ids("v1")},
		{name: "prefix is not equal", typ: valueSet, clauses: u(search.ModNone, "http://acme.org/fhir/ValueSet/12")},
		{name: "case matters", typ: valueSet, clauses: u(search.ModNone, "http://ACME.org/")},
		{name: "OR", typ: valueSet, clauses: u(search.ModNone, "http://acme.org/", "http://other.org/fhir/ValueSet/123"), want: ids("v3", "v4")},
		{name: "equal empty", typ: valueSet, clauses: u(search.ModNone, ""), want: ids("v6")},
		{name: "below", typ: valueSet, clauses: u(search.ModBelow, "http://acme.org/fhir/"), want: ids("v1", "v2")},
		{name: "below the root", typ: valueSet, clauses: u(search.ModBelow, "http://acme.org/"), want: ids("v1", "v2", "v3")},
		{name: "below empty", typ: valueSet, clauses: u(search.ModBelow, ""), want: ids("v1", "v2", "v3", "v4", "v6")},
		{name: "above", typ: valueSet, clauses: u(search.ModAbove, "http://acme.org/fhir/ValueSet/123/_history/4"), want: ids("v1", "v3")},
		{name: "above itself", typ: valueSet, clauses: u(search.ModAbove, "http://acme.org/"), want: ids("v3")},
		{name: "above empty", typ: valueSet, clauses: u(search.ModAbove, ""), want: ids("v6")},
		{name: "above OR", typ: valueSet, clauses: u(search.ModAbove, "http://other.org/fhir/ValueSet/123", "http://acme.org/x"),
			want: ids("v3", "v4")},
		{name: "contains", typ: valueSet, clauses: u(search.ModContains, "ValueSet/123"), want: ids("v1", "v4")},
		{name: "contains empty", typ: valueSet, clauses: u(search.ModContains, ""), want: ids("v1", "v2", "v3", "v4", "v6")},
		{name: "exact", typ: valueSet, clauses: u(search.ModExact, "http://acme.org/"), fails: failsWith(fhir.KindInvalid),
			msg: "the modifier :exact does not apply to the uri parameter url"},
		{name: "not", typ: valueSet, clauses: u(search.ModNot, "http://acme.org/"), fails: failsWith(fhir.KindInvalid),
			msg: "the modifier :not does not apply to the uri parameter url"},
	}
}

func compositeCases() []tcase {
	const bp = "component-code-value-quantity"
	c := func(param string, values ...[]search.Value) []search.Clause {
		return []search.Clause{compositeClause(param, values...)}
	}
	uriValue := func(s string) search.Value { return search.Value{Text: s} }
	return []tcase{
		{name: "gt", typ: observation, clauses: c(bp, comps(sc(loinc, "8480-6"), nv(search.PrefixGt, "130"))), want: ids("c2")},
		{name: "lt any system", typ: observation, clauses: c(bp, comps(code("8480-6"), nv(search.PrefixLt, "130"))), want: ids("c1")},
		{name: "components of two entries", typ: observation, clauses: c(bp, comps(code("8480-6"), nv("", "80")))},
		{name: "second entry", typ: observation, clauses: c(bp, comps(code("8462-4"), nv("", "80"))), want: ids("c1")},
		{name: "with unit", typ: observation, clauses: c(bp, comps(sc(loinc, "8480-6"), qv("", "120", ptr(ucum), "mm[Hg]", "g.m-1.s-2", 133322))),
			want: ids("c1")},
		{name: "with another unit", typ: observation, clauses: c(bp, comps(sc(loinc, "8480-6"), qv("", "120", ptr(ucum), "mg", "g", 0.001)))},
		{name: "first component only", typ: observation, clauses: c(bp, comps(code("8462-4"))), want: ids("c1", "c2")},
		{name: "OR", typ: observation, clauses: c(bp, comps(code("8480-6"), nv("", "120")), comps(code("8462-4"), nv("", "90"))),
			want: ids("c1", "c2")},
		{name: "string component", typ: observation, clauses: c("code-value-string", comps(sc(loinc, "x"), text("pos"))), want: ids("c3")},
		{name: "string component not folded", typ: observation, clauses: c("code-value-string", comps(sc(loinc, "x"), search.Value{Text: "POS"})),
			want: ids("c3")},
		{name: "token value on a string part", typ: observation, clauses: c("code-value-string", comps(sc(loinc, "x"), code("positive")))},
		{name: "date component", typ: observation, clauses: c("code-value-date", comps(sc(loinc, "d"), dv("", "2024-03"))), want: ids("c3")},
		{name: "date component after", typ: observation, clauses: c("code-value-date", comps(sc(loinc, "d"), dv(search.PrefixGe, "2025"))),
			want: ids("c6")},
		{name: "date component ap", typ: observation, clauses: c("code-value-date", comps(sc(loinc, "d"), dv(search.PrefixAp, "2024-03-15"))),
			want: ids("c3", "c6")},
		{name: "date component at the epoch", typ: observation,
			clauses: c("code-value-date", comps(sc(loinc, "d"), dv(search.PrefixGe, "1970-01-01T00:00:00.000Z"))), want: ids("c3", "c6")},
		{name: "token component", typ: observation, clauses: c("code-value-concept", comps(sc(loinc, "y"), sc("urn:sct", "10828004"))),
			want: ids("c3")},
		{name: "token component system|", typ: observation, clauses: c("code-value-concept", comps(sc(loinc, ""), sc("urn:sct", ""))),
			want: ids("c3")},
		{name: "token component other code", typ: observation, clauses: c("code-value-concept", comps(sc(loinc, "y"), code("1")))},
		{name: "text value on a token part", typ: observation, clauses: c("code-value-concept", comps(sc(loinc, "y"), text("10828004")))},
		{name: "first component other parameter's", typ: observation, clauses: c("code-value-string", comps(code("8480-6"), text("pos")))},
		{name: "number part", typ: observation, clauses: c("x-comp", comps(sc(loinc, "z"), nv("", "7"))), want: ids("c5")},
		{name: "reference part", typ: observation, clauses: c("x-comp", comps(code("z"), nv(search.PrefixGt, "5"), rv(patient, "p1"))), want: ids("c5")},
		{name: "reference part any type", typ: observation, clauses: c("x-comp", comps(code("z"), nv("", "7"), rv("", "p1"))), want: ids("c5")},
		{name: "reference part other type", typ: observation, clauses: c("x-comp", comps(code("z"), nv("", "7"), rv(groupType, "p1")))},
		{name: "uri part", typ: observation, clauses: c("x-comp", comps(code("z"), nv(search.PrefixAp, "7"), rv(patient, "p1"), uriValue("http://x/y"))),
			want: ids("c5")},
		{name: "uri part prefix", typ: observation, clauses: c("x-comp", comps(code("z"), nv("", "7"), rv(patient, "p1"), uriValue("http://x")))},
		{name: "text value on a number part", typ: observation, clauses: c("x-comp", comps(code("z"), text("7")))},
		{name: "date value on a number part", typ: observation, clauses: c("x-comp", comps(code("z"), dv("", "2024")))},
		// A value with a prefix may stand for a number: its number test
		// has the bounds [0, 0), which 7 is above.
		{name: "date value with a prefix on a number part", typ: observation, clauses: c("x-comp", comps(code("z"), dv(search.PrefixGe, "2024"))),
			want: ids("c5")},
		{name: "empty part", typ: observation, clauses: c("x-empty", comps(code("a"), code("b")))},
		{name: "before an empty part", typ: observation, clauses: c("x-empty", comps(code("a"))), want: ids("c5")},
		{name: "more components than parts", typ: observation, clauses: c("x-short", comps(code("a"), code("b")))},
		{name: "as many components as parts", typ: observation, clauses: c("x-short", comps(code("a"))), want: ids("c5")},
		{name: "canonical part", typ: observation, clauses: c("x-canon", comps(code("a"), url("http://q.org/Q", ""))), want: ids("c5")},
		{name: "canonical part version", typ: observation, clauses: c("x-canon", comps(code("a"), url("http://q.org/Q", "1.0"))), want: ids("c5")},
		{name: "canonical part other version", typ: observation, clauses: c("x-canon", comps(code("a"), url("http://q.org/Q", "2.0")))},
		{name: "quantity part code", typ: observation, clauses: c("code-value-quantity", comps(code("v"), qv("", "5.4", nil, "tab", "", 0))),
			want: ids("c6")},
		{name: "quantity part other system", typ: observation, clauses: c("code-value-quantity", comps(code("v"), qv("", "5.4", ptr(ucum), "tab", "", 0)))},
		{name: "no components", typ: observation, clauses: c("x-comp", comps()), fails: failsWith(fhir.KindInvalid),
			msg: "the composite parameter x-comp has a value without components"},
		{name: "bad prefix", typ: observation, clauses: c("x-comp", comps(code("z"), nv("zz", "7"))), fails: failsWith(fhir.KindInvalid),
			msg: `the prefix "zz" is not a search prefix`},
		{name: "modifier", typ: observation, clauses: []search.Clause{{Param: "x-comp", Type: search.TypeComposite, Modifier: search.ModNot,
			Values: []search.Value{{Components: comps(code("z"))}}}}, fails: failsWith(fhir.KindInvalid),
			msg: "the modifier :not does not apply to the composite parameter x-comp"},
	}
}

func chainCases() []tcase {
	pt := of(patient)
	name := func(v string) search.Clause { return stringClause("name", search.ModNone, v) }
	return []tcase{
		{name: "one level", typ: report, clauses: []search.Clause{chain("subject", pt, name("smith"))}, want: ids("dr1", "dr3")},
		{name: "two levels", typ: report, clauses: []search.Clause{chain("subject", pt, chain("organization", of(organization), name("acme")))},
			want: ids("dr1")},
		{name: "two levels other", typ: report, clauses: []search.Clause{chain("subject", pt, chain("organization", of(organization), name("beta")))},
			want: ids("dr2")},
		{name: "several targets", typ: report, clauses: []search.Clause{chain("subject", of(patient, groupType), name("smith"))},
			want: ids("dr1", "dr3", "dr4")},
		{name: "any target", typ: report, clauses: []search.Clause{chain("subject", nil, name("smith"))}, want: ids("dr1", "dr3", "dr4")},
		{name: "_id", typ: report, clauses: []search.Clause{chain("subject", pt, tokenClause("_id", search.ModNone, code("p2")))}, want: ids("dr2")},
		{name: "missing inside", typ: report, clauses: []search.Clause{chain("subject", pt, missing("organization", search.TypeReference, true))},
			want: ids("dr3")},
		{name: "with another clause", typ: report, clauses: []search.Clause{chain("subject", pt, name("smith")),
			tokenClause("code", search.ModNone, code("A"))}, want: ids("dr1")},
		{name: "OR inside", typ: report, clauses: []search.Clause{chain("subject", pt, stringClause("name", search.ModNone, "jo", "smi"))},
			want: ids("dr1", "dr2", "dr3")},
		{name: "AND of two chains", typ: report, clauses: []search.Clause{chain("subject", pt, name("smith")),
			chain("subject", pt, chain("organization", of(organization), name("acme")))}, want: ids("dr1")},
		{name: "nothing matches inside", typ: report, clauses: []search.Clause{chain("subject", pt, name("nobody"))}},
		{name: "wrong target type", typ: report, clauses: []search.Clause{chain("subject", of(organization), name("acme"))}},
		{name: "reverse chain inside", typ: report, clauses: []search.Clause{chain("subject", pt,
			has(report, "subject", tokenClause("code", search.ModNone, sc(loinc, "B"))))}, want: ids("dr3")},
		{name: "error inside", typ: report, clauses: []search.Clause{chain("subject", pt, stringClause("name", search.ModText, "x"))},
			fails: failsWith(fhir.KindInvalid), msg: "the modifier :text does not apply to the string parameter name"},
		{name: "error two levels inside", typ: report, clauses: []search.Clause{chain("subject", pt,
			chain("organization", of(organization), stringClause("name", search.ModNot, "x")))},
			fails: failsWith(fhir.KindInvalid), msg: "the modifier :not does not apply to the string parameter name"},
	}
}

func hasCases() []tcase {
	pt, org := patient, organization
	code := func(c string) search.Clause { return tokenClause("code", search.ModNone, sc(loinc, c)) }
	return []tcase{
		{name: "one level", typ: pt, clauses: []search.Clause{has(report, "subject", code("A"))}, want: ids("p1", "p2")},
		{name: "other code", typ: pt, clauses: []search.Clause{has(report, "subject", code("B"))}, want: ids("p3")},
		{name: "nested", typ: org, clauses: []search.Clause{has(patient, "organization", has(report, "subject", code("A")))},
			want: ids("org1", "org2")},
		{name: "nested other", typ: org, clauses: []search.Clause{has(patient, "organization", has(report, "subject", code("B")))}},
		{name: "string inside", typ: org, clauses: []search.Clause{has(patient, "organization", stringClause("name", search.ModNone, "smith"))},
			want: ids("org1")},
		{name: "with another clause", typ: pt, clauses: []search.Clause{has(report, "subject", code("A")),
			stringClause("name", search.ModNone, "smith")}, want: ids("p1")},
		{name: "chain inside", typ: pt, clauses: []search.Clause{has(report, "subject",
			chain("subject", of(patient), stringClause("name", search.ModNone, "jones")))}, want: ids("p2")},
		{name: "_id inside", typ: pt, clauses: []search.Clause{has(report, "subject", tokenClause("_id", search.ModNone, search.Value{Code: "dr3"}))},
			want: ids("p3")},
		{name: "to a group", typ: groupType, clauses: []search.Clause{has(report, "subject", code("A"))}, want: ids("g1")},
		{name: "AND of two", typ: pt, clauses: []search.Clause{has(report, "subject", code("A")), has(report, "subject", code("B"))}},
		{name: "other reference parameter", typ: pt, clauses: []search.Clause{has(report, "performer", code("A"))}},
		{name: "error inside", typ: pt, clauses: []search.Clause{has(report, "subject", tokenClause("code", search.ModExact, sc(loinc, "A")))},
			fails: failsWith(fhir.KindInvalid), msg: "the modifier :exact does not apply to the token parameter code"},
	}
}

func missingCases() []tcase {
	m := func(param string, typ search.ParamType, want bool) []search.Clause {
		return []search.Clause{missing(param, typ, want)}
	}
	quantities := []fhir.ID{"q-mg", "q-g", "q-tab", "q-mgdl", "q-bare", "q-kg", "q-open", "q-code", "q-nocanon", "q-othercc"}
	return []tcase{
		{name: "string", typ: patient, clauses: m("family", search.TypeString, true), want: ids("p4")},
		{name: "string not", typ: patient, clauses: m("family", search.TypeString, false), want: ids("p1", "p2", "p3", "p5")},
		{name: "token", typ: patient, clauses: m("identifier", search.TypeToken, true), want: ids("p4")},
		{name: "token not, a text only", typ: patient, clauses: m("identifier", search.TypeToken, false), want: ids("p1", "p2", "p3", "p5")},
		{name: "token texts", typ: patient, clauses: m("identifier\x00text", search.TypeString, false), want: ids("p1", "p5")},
		{name: "of-type", typ: patient, clauses: m("identifier"+search.SuffixOfType, search.TypeToken, false), want: ids("p1")},
		{name: "another type's table", typ: patient, clauses: m("family", search.TypeToken, false)},
		{name: "date", typ: patient, clauses: m("birthdate", search.TypeDate, true), want: ids("p4", "p5")},
		{name: "date not", typ: encounter, clauses: m("date", search.TypeDate, false), want: allBut(encounter, "e9")},
		{name: "number, NaN", typ: riskAssess, clauses: m("probability", search.TypeNumber, true), want: ids("nnone", "nan")},
		{name: "number not", typ: riskAssess, clauses: m("probability", search.TypeNumber, false), want: allBut(riskAssess, "nnone", "nan")},
		{name: "quantity, NaN", typ: observation, clauses: m("value-quantity", search.TypeQuantity, true), want: allBut(observation, quantities...)},
		{name: "quantity not", typ: observation, clauses: m("value-quantity", search.TypeQuantity, false), want: quantities},
		{name: "reference, without type or id", typ: docRef, clauses: m("subject", search.TypeReference, true), want: ids("re", "rg", "rh")},
		{name: "reference not", typ: docRef, clauses: m("subject", search.TypeReference, false), want: ids("ra", "rb", "rc", "rd", "rl", "rf")},
		{name: "uri", typ: valueSet, clauses: m("url", search.TypeURI, true), want: ids("v5")},
		{name: "uri not, empty", typ: valueSet, clauses: m("url", search.TypeURI, false), want: ids("v1", "v2", "v3", "v4", "v6")},
		{name: "composite", typ: observation, clauses: m("component-code-value-quantity", search.TypeComposite, true),
			want: allBut(observation, "c1", "c2")},
		{name: "composite not, an empty part", typ: observation, clauses: m("x-empty", search.TypeComposite, false), want: ids("c5")},
		{name: "unknown parameter", typ: patient, clauses: m("nope", search.TypeString, true), want: allBut(patient)},
		{name: "_id", typ: patient, clauses: m("_id", search.TypeToken, true)},
		{name: "_id not", typ: patient, clauses: m("_id", search.TypeToken, false), want: allBut(patient)},
		{name: "_id special", typ: patient, clauses: m("_id", search.TypeSpecial, false), want: allBut(patient)},
		{name: "_lastUpdated", typ: patient, clauses: m("_lastUpdated", search.TypeDate, true)},
		{name: "_lastUpdated not", typ: patient, clauses: m("_lastUpdated", search.TypeDate, false), want: allBut(patient)},
		{name: "_id missing and not missing", typ: patient, clauses: []search.Clause{missing("_id", search.TypeToken, true),
			missing("_id", search.TypeToken, false)}},
		{name: "missing and not missing", typ: patient, clauses: []search.Clause{missing("birthdate", search.TypeDate, true),
			missing("identifier", search.TypeToken, false)}, want: ids("p5")},
		{name: "special", typ: patient, clauses: m("_text", search.TypeSpecial, true), fails: failsWith(fhir.KindInvalid),
			msg: `the search parameter _text has type "special", which the store cannot search`},
	}
}

func errorCases() []tcase {
	return []tcase{
		{name: "no value", typ: patient, clauses: []search.Clause{{Param: "family", Type: search.TypeString}}, fails: failsWith(fhir.KindInvalid),
			msg: "the search parameter family has no value"},
		{name: "special", typ: patient, clauses: []search.Clause{{Param: "_text", Type: search.TypeSpecial, Values: []search.Value{text("x")}}},
			fails: failsWith(fhir.KindInvalid), msg: `the search parameter _text has type "special", which the store cannot search`},
		{name: "unknown type", typ: patient, clauses: []search.Clause{{Param: "x", Type: "vector", Values: []search.Value{text("x")}}},
			fails: failsWith(fhir.KindInvalid), msg: `the search parameter x has type "vector", which the store cannot search`},
		{name: "after a clause that matches nothing", typ: patient, clauses: []search.Clause{missing("_id", search.TypeToken, true),
			{Param: "family", Type: search.TypeString}}, fails: failsWith(fhir.KindInvalid), msg: "the search parameter family has no value"},
	}
}

// TestCases checks every case of cases on the corpus.
func TestCases(t *testing.T) {
	cs := corpus()
	r := resolver(cs, fixedNow)
	n := 0
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			m, err := match.Compile(t.Context(), tc.typ, tc.clauses, fixedNow, r)
			if tc.fails != nil {
				checkError(t, err, *tc.fails, tc.msg)
				return
			}
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			checkIDs(t, matches(m, cs), tc.want)
		})
		n++
	}
	t.Logf("%d cases", n)
}

// matches returns the ids of the candidates m matches, sorted.
func matches(m *match.Matcher, cs []*match.Candidate) []fhir.ID {
	var out []fhir.ID
	for _, c := range cs {
		if m.Match(c) {
			out = append(out, c.ID)
		}
	}
	slices.Sort(out)
	return out
}

// checkIDs fails the test unless got (sorted) holds the ids of want.
func checkIDs(t *testing.T, got, want []fhir.ID) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("matches:\n got %v\nwant %v", got, want)
	}
}

// checkError fails the test unless err is a *fhir.Error of kind k with
// message msg, naming the parameter when it is of KindInvalid and has
// issues.
func checkError(t *testing.T, err error, k fhir.Kind, msg string) {
	t.Helper()
	var fe *fhir.Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T), want a *fhir.Error of kind %d", err, err, k)
	}
	if fe.Kind != k || fe.Message != msg {
		t.Errorf("error kind %d %q, want kind %d %q", fe.Kind, fe.Message, k, msg)
	}
	for _, is := range fe.Issues {
		if is.Severity != fhir.SeverityError || is.Code != fhir.IssueInvalid || is.Diagnostics != msg || len(is.Expression) != 1 {
			t.Errorf("issue %+v", is)
		}
	}
}

// TestResolver checks how Compile uses the resolver: once per chain or
// reverse chain, with the inner clause checked first, keeping only the
// references it names to the chain's targets, its errors returned.
func TestResolver(t *testing.T) {
	cs := corpus()
	ctx := t.Context()
	calls := 0
	r := match.Resolver{
		Chain: func(_ context.Context, ch *search.Chain) (map[string]bool, error) {
			calls++
			return map[string]bool{"Patient/p1": true, "Group/g1": true, "Patient/p3": false, "bad": true}, nil
		},
		Has: func(_ context.Context, typ fhir.ResourceType, h *search.Has) (map[fhir.ID]bool, error) {
			calls++
			if typ != patient || h.Type != report || h.Ref != "subject" {
				t.Errorf("Has(%s, %+v)", typ, h)
			}
			return map[fhir.ID]bool{"p2": true, "p4": false}, nil
		},
	}
	name := stringClause("name", search.ModNone, "x")
	compile := func(typ fhir.ResourceType, cl ...search.Clause) *match.Matcher {
		t.Helper()
		m, err := match.Compile(ctx, typ, cl, fixedNow, r)
		if err != nil {
			t.Fatalf("Compile: %v", err)
		}
		return m
	}
	m := compile(report, chain("subject", of(patient), name))
	checkIDs(t, matches(m, cs), ids("dr1"))
	checkIDs(t, matches(compile(report, chain("subject", nil, name)), cs), ids("dr1", "dr4"))
	checkIDs(t, matches(compile(report, chain("subject", of(groupType), name)), cs), ids("dr4"))
	checkIDs(t, matches(compile(report, chain("performer", nil, name)), cs), nil)
	checkIDs(t, matches(compile(patient, has(report, "subject", name)), cs), ids("p2"))
	if calls != 5 {
		t.Errorf("the resolver was called %d times, want 5", calls)
	}
	calls = 0
	_, err := match.Compile(ctx, report, []search.Clause{chain("subject", nil, stringClause("name", search.ModText, "x"))}, fixedNow, r)
	checkError(t, err, fhir.KindInvalid, "the modifier :text does not apply to the string parameter name")
	_, err = match.Compile(ctx, patient, []search.Clause{has(report, "subject", search.Clause{Param: "code", Type: search.TypeToken})}, fixedNow, r)
	checkError(t, err, fhir.KindInvalid, "the search parameter code has no value")
	// A chain inside a chain is checked, not resolved, before the outer
	// one is resolved.
	_, err = match.Compile(ctx, report, []search.Clause{chain("subject", nil,
		chain("organization", nil, has(report, "subject", stringClause("name", search.ModExact))))}, fixedNow, r)
	checkError(t, err, fhir.KindInvalid, "the search parameter name has no value")
	if calls != 0 {
		t.Errorf("the resolver was called %d times for clauses with errors", calls)
	}

	failing := errors.New("the store is down")
	down := match.Resolver{
		Chain: func(context.Context, *search.Chain) (map[string]bool, error) { return nil, failing },
		Has:   func(context.Context, fhir.ResourceType, *search.Has) (map[fhir.ID]bool, error) { return nil, failing },
	}
	if _, err := match.Compile(ctx, report, []search.Clause{chain("subject", nil, name)}, fixedNow, down); !errors.Is(err, failing) {
		t.Errorf("Chain failing: %v", err)
	}
	if _, err := match.Compile(ctx, patient, []search.Clause{has(report, "subject", name)}, fixedNow, down); !errors.Is(err, failing) {
		t.Errorf("Has failing: %v", err)
	}
	_, err = match.Compile(ctx, report, []search.Clause{chain("subject", nil, name)}, fixedNow, match.Resolver{})
	if !fhir.IsKind(err, fhir.KindNotImplemented) {
		t.Errorf("Chain without a resolver: %v", err)
	}
	_, err = match.Compile(ctx, patient, []search.Clause{has(report, "subject", name)}, fixedNow, match.Resolver{})
	if !fhir.IsKind(err, fhir.KindNotImplemented) {
		t.Errorf("Has without a resolver: %v", err)
	}
}

// TestApBoundaries checks the ends of the range ap widens a date to: the
// widened start is in it, the widened end is not, for a date and for
// _lastUpdated.
func TestApBoundaries(t *testing.T) {
	const day = int64(24 * time.Hour / time.Millisecond)
	// The search value x at millisecond precision is [x, x+1), widened by
	// a tenth of its distance from now (more than a day) to [lo, hi).
	x := base - 40*day
	w := (fixedNow.UnixMilli() - x) / 10
	lo, hi := x-w, x+1+w
	instant := func(ms int64) *match.Candidate { return &match.Candidate{Type: patient, ID: "p", LastUpdated: ms} }
	date := func(from, to int64) *match.Candidate {
		return &match.Candidate{Type: encounter, ID: "e", Index: &search.Index{Dates: []search.Date{{Param: "date", Lo: from, Hi: to}}}}
	}
	for _, tc := range []struct {
		name string
		c    *match.Candidate
		want bool
	}{
		{"_lastUpdated at the widened end", instant(hi), false},
		{"_lastUpdated before the widened end", instant(hi - 1), true},
		{"_lastUpdated at the widened start", instant(lo), true},
		{"_lastUpdated before the widened start", instant(lo - 1), false},
		{"date starting at the widened end", date(hi, hi+day), false},
		{"date starting before the widened end", date(hi-1, hi+day), true},
		{"date ending at the widened start", date(lo-day, lo), false},
		{"date ending after the widened start", date(lo-day, lo+1), true},
		{"point at the widened start", date(lo, lo), true},
		{"point before the widened start", date(lo-1, lo-1), false},
		{"point before the widened end", date(hi-1, hi-1), true},
		{"point at the widened end", date(hi, hi), false},
	} {
		param := "date"
		if tc.c.Type == patient {
			param = "_lastUpdated"
		}
		v := search.Value{Prefix: search.PrefixAp, DateLo: x, DateHi: x + 1}
		m, err := match.Compile(t.Context(), tc.c.Type, []search.Clause{dateClause(param, v)}, fixedNow, match.Resolver{})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Match(tc.c); got != tc.want {
			t.Errorf("%s: ap [%d, %d) widened to [%d, %d): Match = %v, want %v", tc.name, x, x+1, lo, hi, got, tc.want)
		}
	}
}

// TestCandidates: a candidate of another type matches nothing; one
// without an index has no values but its id and lastUpdated.
func TestCandidates(t *testing.T) {
	ctx := t.Context()
	m, err := match.Compile(ctx, patient, nil, fixedNow, match.Resolver{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Match(&match.Candidate{Type: patient, ID: "x"}) {
		t.Errorf("no clauses: a patient does not match")
	}
	if m.Match(&match.Candidate{Type: observation, ID: "x"}) {
		t.Errorf("an observation matches a search of patients")
	}
	bare := &match.Candidate{Type: patient, ID: "x", LastUpdated: base}
	for _, tc := range []struct {
		cl   search.Clause
		want bool
	}{
		{missing("family", search.TypeString, true), true},
		{missing("family", search.TypeString, false), false},
		{tokenClause("_id", search.ModNone, code("x")), true},
		{tokenClause("gender", search.ModNot, code("male")), true},
		{dateClause("_lastUpdated", dv("", "2024-01-01")), true},
		{dateClause("_lastUpdated", dv(search.PrefixGt, "2024-01-01")), false},
		{stringClause("family", search.ModNone, "x"), false},
	} {
		m, err := match.Compile(ctx, patient, []search.Clause{tc.cl}, fixedNow, match.Resolver{})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Match(bare); got != tc.want {
			t.Errorf("%s %+v: Match = %v, want %v", tc.cl.Param, tc.cl, got, tc.want)
		}
	}
}

// allKinds is a query of each kind of clause, for TestAllocations and
// BenchmarkMatch.
func allKinds() map[fhir.ResourceType][]search.Clause {
	return map[fhir.ResourceType][]search.Clause{
		patient: {tokenClause("identifier", search.ModNone, sc("urn:mrn", "100"), code("300")),
			tokenClause("gender", search.ModNot, code("female")), tokenClause("identifier", search.ModText, text("soc")),
			tokenClause("_id", search.ModNone, code("p1")), stringClause("family", search.ModNone, "smi"),
			stringClause("family", search.ModExact, "Smith"), dateClause("birthdate", dv(search.PrefixGe, "1960")),
			dateClause("_lastUpdated", dv(search.PrefixLt, "2024-06")), missing("telecom", search.TypeToken, true),
			has(report, "subject", tokenClause("code", search.ModNone, code("A")))},
		observation: {quantityClause("value-quantity", qv(search.PrefixAp, "5.4", ptr(ucum), "mg", "g", 0.001)),
			compositeClause("component-code-value-quantity", comps(code("8480-6"), nv(search.PrefixGt, "100")))},
		report:     {chain("subject", of(patient), stringClause("name", search.ModNone, "smith")), tokenClause("code", search.ModNone, code("A"))},
		riskAssess: {numberClause("probability", nv(search.PrefixGe, "100"), nv(search.PrefixEb, "0"))},
		valueSet:   {uriClause("url", search.ModBelow, "http://acme.org/")},
		docRef:     {refClause("subject", search.ModNone, rv(patient, "r1"), rv("", "r2"), url("http://remote.org/fhir/Patient/77", ""))},
	}
}

// TestAllocations checks that Match allocates nothing.
func TestAllocations(t *testing.T) {
	cs := corpus()
	r := resolver(cs, fixedNow)
	for typ, clauses := range allKinds() {
		for _, cl := range clauses {
			m, err := match.Compile(t.Context(), typ, []search.Clause{cl}, fixedNow, r)
			if err != nil {
				t.Fatal(err)
			}
			if n := testing.AllocsPerRun(20, func() {
				for _, c := range cs {
					m.Match(c)
				}
			}); n != 0 {
				t.Errorf("%s %s: %v allocations a run", typ, cl.Param, n)
			}
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	cs := corpus()
	r := resolver(cs, fixedNow)
	for _, typ := range []fhir.ResourceType{patient, observation, report, riskAssess, valueSet, docRef} {
		var of []*match.Candidate
		for _, c := range cs {
			if c.Type == typ {
				of = append(of, c)
			}
		}
		for _, cl := range allKinds()[typ] {
			m, err := match.Compile(b.Context(), typ, []search.Clause{cl}, fixedNow, r)
			if err != nil {
				b.Fatal(err)
			}
			name := strings.NewReplacer("\x00", "", "/", "_").Replace(string(typ) + "/" + cl.Param + ":" + string(cl.Modifier))
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					for _, c := range of {
						m.Match(c)
					}
				}
			})
		}
	}
}
