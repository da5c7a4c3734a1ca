package storetest

import (
	"fmt"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// testSearchReferences: Type/id, an id alone (any target type), :[type],
// absolute URLs (another server's resources have only a URL; this
// server's have Type and ID too), canonical URLs with and without
// |version, and :identifier through its derived token parameter.
func testSearchReferences(t *testing.T, s engine.Store) {
	fixtures := []*fixture{
		fx(patient, "r1"), fx(patient, "r2"), fx(groupType, "r1"), fx(practitioner, "d1"),
		fx(observation, "ra").ref("subject", patient, "r1").ref("performer", practitioner, "d1"),
		fx(observation, "rb").ref("subject", groupType, "r1"),
		fx(observation, "rc").refValue(search.Reference{Param: "subject", Type: patient, ID: "r2", Version: "3"}),
		fx(observation, "rd").refValue(search.Reference{Param: "subject", URL: "http://remote.org/fhir/Patient/77"}),
		fx(observation, "rl").refValue(search.Reference{Param: "subject", Type: patient, ID: "r2",
			URL: "http://this.server/fhir/Patient/r2"}),
		fx(observation, "re").tok("subject"+search.SuffixIdentifier, "urn:mrn", "123"),
		fx(observation, "rf").ref("subject", patient, "nobody"),
		fx(questionnaire, "qa").refValue(search.Reference{Param: "questionnaire", URL: "http://q.org/Q", Version: "1.0"}),
		fx(questionnaire, "qb").refValue(search.Reference{Param: "questionnaire", URL: "http://q.org/Q", Version: "2.0"}),
		fx(questionnaire, "qc").refValue(search.Reference{Param: "questionnaire", URL: "http://q.org/Q2"}),
	}
	o, q := of(observation), of(questionnaire)
	r := func(param string, values ...search.Value) search.Clause {
		return refClause(param, search.ModNone, values...)
	}
	url := func(u, version string) search.Value { return search.Value{URL: u, Version: version} }
	vectors := []vector{
		{name: "Type/id", q: sq(o, r("subject", rv(patient, "r1"))), want: refs(observation, "ra")},
		{name: "id of any type", q: sq(o, r("subject", rv("", "r1"))), want: refs(observation, "ra", "rb")},
		{name: ":Group", q: sq(o, r("subject", rv(groupType, "r1"))), want: refs(observation, "rb")},
		{name: "reference to a version and absolute URL on this server", q: sq(o, r("subject", rv(patient, "r2"))),
			want: refs(observation, "rc", "rl")},
		{name: "other server's resource by Type/id", q: sq(o, r("subject", rv(patient, "77")))},
		{name: "absolute URL", q: sq(o, r("subject", url("http://remote.org/fhir/Patient/77", ""))), want: refs(observation, "rd")},
		{name: "other absolute URL", q: sq(o, r("subject", url("http://remote.org/fhir/Patient/78", "")))},
		{name: "target not stored", q: sq(o, r("subject", rv(patient, "nobody"))), want: refs(observation, "rf")},
		{name: "id alone, target not stored", q: sq(o, r("subject", rv("", "nobody"))), want: refs(observation, "rf")},
		{name: "identifier", q: sq(o, refClause("subject", search.ModIdentifier, sc("urn:mrn", "123"))), want: refs(observation, "re")},
		{name: "identifier code", q: sq(o, refClause("subject", search.ModIdentifier, code("123"))), want: refs(observation, "re")},
		{name: "OR", q: sq(o, r("subject", rv(patient, "r1"), rv(patient, "r2"))), want: refs(observation, "ra", "rc", "rl")},
		{name: "OR of a target and a URL", q: sq(o, r("subject", rv(patient, "r1"), url("http://remote.org/fhir/Patient/77", ""))),
			want: refs(observation, "ra", "rd")},
		{name: "AND", q: sq(o, r("performer", rv(practitioner, "d1")), r("subject", rv(patient, "r1"))), want: refs(observation, "ra")},
		{name: "other parameter", q: sq(o, r("performer", rv(patient, "r1")))},
		{name: "canonical", q: sq(q, r("questionnaire", url("http://q.org/Q", ""))), want: refs(questionnaire, "qa", "qb")},
		{name: "canonical with version", q: sq(q, r("questionnaire", url("http://q.org/Q", "2.0"))), want: refs(questionnaire, "qb")},
		{name: "canonical with another version", q: sq(q, r("questionnaire", url("http://q.org/Q", "3.0")))},
	}
	runVectors(t, s, fixtures, vectors)
}

// chainFixtures are two organizations, three patients of them (or of
// none), a groupType, and observations about each.
func chainFixtures() []*fixture {
	return []*fixture{
		fx(organization, "org1").str("name", "Acme Hospital"),
		fx(organization, "org2").str("name", "Beta Clinic"),
		fx(organization, "org3").str("name", "Acme Annex"),
		fx(patient, "cp1").str("name", "Smith").ref("organization", organization, "org1"),
		fx(patient, "cp2").str("name", "Jones").ref("organization", organization, "org2"),
		fx(patient, "cp3").str("name", "Smith"),
		fx(groupType, "g1").str("name", "Smith family"),
		fx(observation, "co1").ref("subject", patient, "cp1").tok("code", loinc, "A"),
		fx(observation, "co2").ref("subject", patient, "cp2").tok("code", loinc, "A"),
		fx(observation, "co3").ref("subject", patient, "cp3").tok("code", loinc, "B"),
		fx(observation, "co4").ref("subject", groupType, "g1").tok("code", loinc, "A"),
		fx(observation, "co5").ref("subject", patient, "gone").tok("code", loinc, "A"),
	}
}

// testSearchChains: chained parameters to one or several target types,
// two levels deep, with other clauses, with :missing and _id inside.
func testSearchChains(t *testing.T, s engine.Store) {
	o, pt := of(observation), of(patient)
	name := func(v string) search.Clause { return stringClause("name", search.ModNone, v) }
	vectors := []vector{
		{name: "one level", q: sq(o, chain("subject", pt, name("smith"))), want: refs(observation, "co1", "co3")},
		{name: "two levels", q: sq(o, chain("subject", pt, chain("organization", of(organization), name("acme")))),
			want: refs(observation, "co1")},
		{name: "two levels other", q: sq(o, chain("subject", pt, chain("organization", of(organization), name("beta")))),
			want: refs(observation, "co2")},
		{name: "several targets", q: sq(o, chain("subject", of(patient, groupType), name("smith"))),
			want: refs(observation, "co1", "co3", "co4")},
		{name: "_id", q: sq(o, chain("subject", pt, tokenClause("_id", search.ModNone, code("cp2")))), want: refs(observation, "co2")},
		{name: "missing inside", q: sq(o, chain("subject", pt, missing("organization", search.TypeReference, true))),
			want: refs(observation, "co3")},
		{name: "with another clause", q: sq(o, chain("subject", pt, name("smith")), tokenClause("code", search.ModNone, code("A"))),
			want: refs(observation, "co1")},
		{name: "OR inside", q: sq(o, chain("subject", pt, stringClause("name", search.ModNone, "jo", "smi"))),
			want: refs(observation, "co1", "co2", "co3")},
		{name: "AND of two chains", q: sq(o, chain("subject", pt, name("smith")),
			chain("subject", pt, chain("organization", of(organization), name("acme")))), want: refs(observation, "co1")},
		{name: "nothing matches inside", q: sq(o, chain("subject", pt, name("nobody")))},
		{name: "wrong target type", q: sq(o, chain("subject", of(organization), name("acme")))},
	}
	runVectors(t, s, chainFixtures(), vectors)
}

// testSearchReverseChains: _has, nested, with other clauses and with a
// chain inside.
func testSearchReverseChains(t *testing.T, s engine.Store) {
	pt, org := of(patient), of(organization)
	code := func(c string) search.Clause { return tokenClause("code", search.ModNone, sc(loinc, c)) }
	vectors := []vector{
		{name: "one level", q: sq(pt, has(observation, "subject", code("A"))), want: refs(patient, "cp1", "cp2")},
		{name: "other code", q: sq(pt, has(observation, "subject", code("B"))), want: refs(patient, "cp3")},
		{name: "nested", q: sq(org, has(patient, "organization", has(observation, "subject", code("A")))),
			want: refs(organization, "org1", "org2")},
		{name: "nested other", q: sq(org, has(patient, "organization", has(observation, "subject", code("B"))))},
		{name: "string inside", q: sq(org, has(patient, "organization", stringClause("name", search.ModNone, "smith"))),
			want: refs(organization, "org1")},
		{name: "with another clause", q: sq(pt, has(observation, "subject", code("A")), stringClause("name", search.ModNone, "smith")),
			want: refs(patient, "cp1")},
		{name: "chain inside", q: sq(pt, has(observation, "subject", chain("subject", pt, stringClause("name", search.ModNone, "jones")))),
			want: refs(patient, "cp2")},
		{name: "to a group", q: sq(of(groupType), has(observation, "subject", code("A"))), want: refs(groupType, "g1")},
		{name: "AND of two", q: sq(pt, has(observation, "subject", code("A")), has(observation, "subject", code("B")))},
		{name: "other reference parameter", q: sq(pt, has(observation, "performer", code("A")))},
	}
	runVectors(t, s, chainFixtures(), vectors)
}

// testSearchSystem: searches over several types and over all types.
func testSearchSystem(t *testing.T, s engine.Store) {
	fixtures := []*fixture{
		fx(patient, "x").tok("identifier", "urn:s", "1"),
		fx(organization, "x").tok("identifier", "urn:s", "1"),
		fx(practitioner, "y").tok("identifier", "urn:s", "1"),
		fx(observation, "z").tok("code", "urn:s", "1"),
	}
	id := func(ids ...string) search.Clause {
		var vs []search.Value
		for _, i := range ids {
			vs = append(vs, code(i))
		}
		return tokenClause("_id", search.ModNone, vs...)
	}
	ident := tokenClause("identifier", search.ModNone, sc("urn:s", "1"))
	vectors := []vector{
		{name: "all types", q: sq(nil), want: []string{"Patient/x", "Organization/x", "Practitioner/y", "Observation/z"}},
		{name: "_id in all types", q: sq(nil, id("x")), want: []string{"Patient/x", "Organization/x"}},
		{name: "_id OR in all types", q: sq(nil, id("x", "z")), want: []string{"Patient/x", "Organization/x", "Observation/z"}},
		{name: "identifier in two types", q: sq(of(patient, organization), ident), want: []string{"Patient/x", "Organization/x"}},
		{name: "identifier in all types", q: sq(nil, ident), want: []string{"Patient/x", "Organization/x", "Practitioner/y"}},
		{name: "a type without resources", q: sq(of(patient, encounter), ident), want: []string{"Patient/x"}},
		{name: "twice the same type", q: sq(of(patient, patient), ident), want: []string{"Patient/x"}},
	}
	runVectors(t, s, fixtures, vectors)
}

// testSearchChainPages: chains and reverse chains with many matches, read
// whole and in pages of several sizes, both ways. The references cross in
// every direction: resources are written in an order unlike that of the
// resources they refer to, several observations refer to one patient, one
// observation to two patients of the same name (through performer), and a
// patient is the subject of several matching conditions, so that a store
// that lists the matches of a chain by target, or of a reverse chain by
// source, must list each match once.
func testSearchChainPages(t *testing.T, s engine.Store) {
	const patients, observations, conditions = 12, 40, 30
	pid := func(i int) fhir.ID { return fhir.ID(fmt.Sprint("gp", i%patients)) }
	kuhn := func(i int) bool { return i%patients%2 == 0 }
	performers := func(i int) [2]int { return [2]int{i * 5 % patients, i * 7 % patients} }
	var obs, cons, pats []*fixture
	for i := range observations {
		f := fx(observation, fhir.ID(fmt.Sprint("go", i))).ref("subject", patient, pid(i))
		for _, p := range performers(i) {
			f.ref("performer", patient, pid(p))
		}
		f.tok("code", loinc, map[bool]string{true: "B", false: "A"}[i%3 == 0])
		obs = append(obs, f)
	}
	for i := range conditions {
		cons = append(cons, fx(condition, fhir.ID(fmt.Sprint("gc", i))).ref("subject", patient, pid(i*7)).
			tok("code", loinc, map[bool]string{true: "X", false: "Y"}[i%2 == 0]))
	}
	for i := range patients {
		pats = append(pats, fx(patient, pid(i)).str("name", map[bool]string{true: "Kuhn", false: "Lowe"}[kuhn(i)]))
	}
	// Half the observations and conditions first, the patients in reverse,
	// then the rest.
	fixtures := append(append([]*fixture{}, obs[:observations/2]...), cons[:conditions/2]...)
	for i := range pats {
		fixtures = append(fixtures, pats[len(pats)-1-i])
	}
	fixtures = append(append(fixtures, obs[observations/2:]...), cons[conditions/2:]...)

	wantObs := func(match func(i int) bool) []string {
		var out []string
		for i := range observations {
			if match(i) {
				out = append(out, fmt.Sprint("Observation/go", i))
			}
		}
		return out
	}
	wantPatients := func(match func(p int) bool) []string {
		var out []string
		for p := range patients {
			if match(p) {
				out = append(out, fmt.Sprint("Patient/gp", p))
			}
		}
		return out
	}
	performedBy := func(i int, match func(p int) bool) bool {
		return match(performers(i)[0]) || match(performers(i)[1])
	}
	hasCondition := func(p int, code string) bool {
		for i := range conditions {
			if i*7%patients == p && (i%2 == 0) == (code == "X") {
				return true
			}
		}
		return false
	}
	o, pt := of(observation), of(patient)
	name := func(v string) search.Clause { return stringClause("name", search.ModNone, v) }
	tok := func(c string) search.Clause { return tokenClause("code", search.ModNone, sc(loinc, c)) }
	vectors := []vector{
		{name: "chain", q: sq(o, chain("subject", pt, name("kuhn"))), want: wantObs(kuhn)},
		{name: "chain through two references", q: sq(o, chain("performer", pt, name("kuhn"))),
			want: wantObs(func(i int) bool { return performedBy(i, kuhn) })},
		{name: "chain and a filter", q: sq(o, chain("performer", pt, name("kuhn")), tok("A")),
			want: wantObs(func(i int) bool { return performedBy(i, kuhn) && i%3 != 0 })},
		{name: "reverse chain", q: sq(pt, has(condition, "subject", tok("X"))),
			want: wantPatients(func(p int) bool { return hasCondition(p, "X") })},
		{name: "reverse chain through two references", q: sq(pt, has(observation, "performer", tok("A"))),
			want: wantPatients(func(p int) bool {
				for i := range observations {
					if i%3 != 0 && (performers(i)[0] == p || performers(i)[1] == p) {
						return true
					}
				}
				return false
			})},
		{name: "reverse chain and a filter", q: sq(pt, has(condition, "subject", tok("Y")), name("lowe")),
			want: wantPatients(func(p int) bool { return hasCondition(p, "Y") && !kuhn(p) })},
	}
	runVectors(t, s, fixtures, vectors)
	for _, v := range vectors {
		for _, n := range []int{1, 3, 7} {
			checkRefs(t, fmt.Sprintf("%s in pages of %d", v.name, n), pageAll(t, s, v.q, n), v.want)
		}
	}
}
