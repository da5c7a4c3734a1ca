package storetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// sortFixtures are patients written in the order a to g, with ties and
// missing values: a and d share a family name (folded) and a birthdate,
// g shares the birthdate, c has two birthdates, e has nothing.
func sortFixtures() []*fixture {
	return []*fixture{
		fx(patient, "a").str("family", "Adams").date("birthdate", "1980-05-01").tok("gender", gender, "male"),
		fx(patient, "b").str("family", "Brown").date("birthdate", "1975").tok("gender", gender, "female"),
		fx(patient, "c").str("family", "Clark").date("birthdate", "1990-01-01").date("birthdate", "1960-01-01").
			tok("gender", gender, "male"),
		fx(patient, "d").str("family", "adams").date("birthdate", "1980-05-01").tok("gender", gender, "female"),
		fx(patient, "e"),
		fx(patient, "f").str("family", "Évora").tok("gender", gender, "other"),
		fx(patient, "g").str("family", "Brown").date("birthdate", "1980-05-01").tok("gender", gender, "male"),
	}
}

// by is one sort key.
func by(param string, typ search.ParamType, desc bool) search.Sort {
	return search.Sort{Param: param, Type: typ, Desc: desc}
}

// testSearchSort: each key type ascending and descending, a resource's
// lowest value ascending and highest descending, missing values last,
// ties broken by the next key and then by creation order in the direction
// of the last key, several keys, sorting with clauses; each order the same
// when read in pages of 1, 2 and 3.
func testSearchSort(t *testing.T, s engine.Store) {
	writeFixtures(t, s, sortFixtures())
	birth, family := search.TypeDate, search.TypeString
	cases := []struct {
		name    string
		sort    []search.Sort
		clauses []search.Clause
		want    string
	}{
		{"birthdate", []search.Sort{by("birthdate", birth, false)}, nil, "c b a d g e f"},
		{"-birthdate", []search.Sort{by("birthdate", birth, true)}, nil, "c g d a b f e"},
		{"family", []search.Sort{by("family", family, false)}, nil, "a d b g c f e"},
		{"-family", []search.Sort{by("family", family, true)}, nil, "f c g b d a e"},
		{"family,-birthdate", []search.Sort{by("family", family, false), by("birthdate", birth, true)}, nil, "d a g b c f e"},
		{"-birthdate,family", []search.Sort{by("birthdate", birth, true), by("family", family, false)}, nil, "c a d g b f e"},
		{"gender", []search.Sort{by("gender", search.TypeToken, false)}, nil, "b d a c g f e"},
		{"-gender", []search.Sort{by("gender", search.TypeToken, true)}, nil, "f g c a d b e"},
		{"_id", []search.Sort{by("_id", search.TypeToken, false)}, nil, "a b c d e f g"},
		{"-_id", []search.Sort{by("_id", search.TypeToken, true)}, nil, "g f e d c b a"},
		{"_lastUpdated", []search.Sort{by("_lastUpdated", birth, false)}, nil, "a b c d e f g"},
		{"-_lastUpdated", []search.Sort{by("_lastUpdated", birth, true)}, nil, "g f e d c b a"},
		{"-birthdate of family b", []search.Sort{by("birthdate", birth, true)},
			[]search.Clause{stringClause("family", search.ModNone, "b")}, "g b"},
		{"family of males", []search.Sort{by("family", family, false)},
			[]search.Clause{tokenClause("gender", search.ModNone, code("male"))}, "a g c"},
		{"birthdate ge1980 or lt1970", []search.Sort{by("birthdate", birth, false)},
			[]search.Clause{dateClause("birthdate", dv(search.PrefixGe, "1980"), dv(search.PrefixLt, "1970"))}, "c a d g"},
		{"-family of missing birthdate", []search.Sort{by("family", family, true)},
			[]search.Clause{missing("birthdate", birth, true)}, "f e"},
		{"unsorted", nil, nil, "a b c d e f g"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := &search.Query{Types: of(patient), Clauses: c.clauses, Sort: c.sort}
			want := strings.Fields(c.want)
			for _, n := range []int{100, 1, 2, 3} {
				checkOrder(t, fmt.Sprintf("pages of %d", n), pageAll(t, s, q, n), want)
			}
		})
	}
}

// testSearchSortNumbers: numbers sort by their low end ascending and their
// high end descending, open ends (infinities) included, read whole and
// in pages of one.
func testSearchSortNumbers(t *testing.T, s engine.Store) {
	writeFixtures(t, s, []*fixture{
		fx(riskAssess, "five").num("probability", 5, 5),
		fx(riskAssess, "from-one").num("probability", 1, math.Inf(1)),
		fx(riskAssess, "to-three").num("probability", math.Inf(-1), 3),
		fx(riskAssess, "none"),
		fx(riskAssess, "four").num("probability", 4, 4).num("probability", 6, 6),
	})
	for _, c := range []struct {
		desc bool
		want string
	}{{false, "to-three from-one four five none"}, {true, "from-one four five to-three none"}} {
		q := &search.Query{Types: of(riskAssess), Sort: []search.Sort{by("probability", search.TypeNumber, c.desc)}}
		for _, n := range []int{100, 1, 2} {
			checkOrder(t, fmt.Sprintf("desc %v, pages of %d", c.desc, n), pageAll(t, s, q, n), strings.Fields(c.want))
		}
	}
}

// checkOrder fails the test unless found are the patients of want, in
// order.
func checkOrder(t testing.TB, what string, found []*fhir.Resource, want []string) {
	t.Helper()
	got := make([]string, len(found))
	for i, r := range found {
		got[i] = string(r.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

// testSearchSortSystem: a sort across resource types merges them.
func testSearchSortSystem(t *testing.T, s engine.Store) {
	for i, id := range []fhir.ID{"m", "c", "x", "a", "k"} {
		typ := patient
		if i%2 == 1 {
			typ = organization
		}
		mustCreate(t, s, typ, id, 1)
	}
	q := &search.Query{Sort: []search.Sort{by("_id", search.TypeToken, false)}}
	for _, n := range []int{100, 1, 2} {
		checkOrder(t, fmt.Sprintf("all types by _id, pages of %d", n), pageAll(t, s, q, n), strings.Fields("a c k m x"))
	}
	q = &search.Query{Types: of(organization, patient)}
	for _, n := range []int{100, 1, 2} {
		checkOrder(t, fmt.Sprintf("two types in creation order, pages of %d", n), pageAll(t, s, q, n), strings.Fields("m c x a k"))
	}
}

// testSearchPagingWhileWriting pages through sorted and unsorted searches
// while resources are created, updated and deleted between pages: every
// resource not changed meanwhile comes exactly once, in order, and none
// comes after its deletion.
func testSearchPagingWhileWriting(t *testing.T, s engine.Store) {
	orders := []struct {
		name string
		sort []search.Sort
	}{
		{"creation order", nil},
		{"-birthdate", []search.Sort{by("birthdate", search.TypeDate, true)}},
		{"family,birthdate", []search.Sort{by("family", search.TypeString, false), by("birthdate", search.TypeDate, false)}},
	}
	for oi, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(oi), 7))
			prefix := fmt.Sprint("w", oi, "-")
			patientFx := func(id string) *fixture {
				f := fx(patient, fhir.ID(prefix+id)).tok("identifier", "urn:batch", prefix)
				if rng.IntN(5) > 0 {
					f.date("birthdate", fmt.Sprintf("19%02d", 50+rng.IntN(10)))
				}
				if rng.IntN(5) > 0 {
					f.str("family", []string{"Ames", "Bell", "Cole"}[rng.IntN(3)])
				}
				return f
			}
			version := map[string]int64{}
			var all []string
			for i := range 40 {
				id := fmt.Sprint(i)
				r, idx := patientFx(id).version(1)
				mustPut(t, s, r, idx)
				version[id], all = 1, append(all, id)
			}
			// The expected order of the untouched ones is the order before
			// paging.
			q := &search.Query{Types: of(patient), Sort: o.sort,
				Clauses: []search.Clause{tokenClause("identifier", search.ModNone, sc("urn:batch", prefix))}}
			before := pageAll(t, s, q, 1000)
			touched, deleted := map[string]bool{}, map[string]bool{}
			seen := map[string]int{}
			var order []string
			p := limited(q, 5)
			next := 40
			for page := 0; ; page++ {
				res, err := s.Search(t.Context(), p)
				if err != nil {
					t.Fatalf("page %d: %v", page, err)
				}
				for _, r := range res.Resources {
					id := strings.TrimPrefix(string(r.ID), prefix)
					if deleted[id] {
						t.Errorf("page %d holds %s, deleted before", page, r.ID)
					}
					seen[id]++
					order = append(order, id)
				}
				if res.Next == "" {
					break
				}
				p.Cursor = res.Next
				// Between pages: a creation, an update, a deletion.
				id := fmt.Sprint(next)
				next++
				r, idx := patientFx(id).version(1)
				mustPut(t, s, r, idx)
				version[id], touched[id] = 1, true
				up := all[rng.IntN(len(all))]
				if !deleted[up] {
					version[up]++
					r, idx := patientFx(up).version(version[up])
					mustPut(t, s, r, idx)
					touched[up] = true
				}
				del := all[rng.IntN(len(all))]
				if !deleted[del] {
					version[del]++
					mustDelete(t, s, patient, fhir.ID(prefix+del), version[del])
					touched[del], deleted[del] = true, true
				}
			}
			var want []string
			for _, r := range before {
				if id := strings.TrimPrefix(string(r.ID), prefix); !touched[id] {
					want = append(want, id)
				}
			}
			var got []string
			for _, id := range order {
				if !touched[id] {
					got = append(got, id)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("the resources not changed while paging:\n got %v\nwant %v", got, want)
			}
			for id, n := range seen {
				if n > 1 && !touched[id] {
					t.Errorf("%s came %d times", id, n)
				}
			}
		})
	}
}

// testSearchTotals: accurate totals whatever the page, none, estimates,
// the default, and the total alone (Count 0).
func testSearchTotals(t *testing.T, s engine.Store) {
	for i := range 5 {
		mustCreate(t, s, patient, fhir.ID(fmt.Sprint("m", i)), 1, ident("urn:total", "x"))
	}
	for i := range 3 {
		mustCreate(t, s, patient, fhir.ID(fmt.Sprint("o", i)), 1, ident("urn:total", "y"))
	}
	mustCreate(t, s, patient, "gone", 1, ident("urn:total", "x"))
	mustDelete(t, s, patient, "gone", 2)
	mustCreate(t, s, organization, "org", 1, ident("urn:total", "x"))
	match := query(t, patient, "identifier=urn:total|x")
	all := query(t, patient, "")
	run := func(q *search.Query, count int, total search.Total, cursor string) *engine.SearchResult {
		t.Helper()
		c := *q
		c.Count, c.Total, c.Cursor = count, total, cursor
		res, err := s.Search(t.Context(), &c)
		if err != nil {
			t.Fatalf("search: %v", err)
		}
		return res
	}
	for _, c := range []struct {
		name  string
		q     *search.Query
		count int
		total search.Total
		want  []int // the totals allowed
	}{
		{"accurate", match, 2, search.TotalAccurate, []int{5}},
		{"accurate all", all, 2, search.TotalAccurate, []int{8}},
		{"accurate last page", match, 10, search.TotalAccurate, []int{5}},
		{"none", match, 2, search.TotalNone, []int{-1}},
		{"default", match, 2, search.TotalDefault, []int{5, -1}},
		{"default, one page", match, 10, search.TotalDefault, []int{5, -1}},
		{"count only", match, 0, search.TotalDefault, []int{5}},
		{"count only, accurate", match, 0, search.TotalAccurate, []int{5}},
		{"count only, all", all, 0, search.TotalAccurate, []int{8}},
		{"count only, none", match, 0, search.TotalNone, []int{-1}},
		{"no match", query(t, patient, "identifier=urn:total|z"), 2, search.TotalAccurate, []int{0}},
		{"system", sq(nil, tokenClause("identifier", search.ModNone, sc("urn:total", "x"))), 0, search.TotalAccurate, []int{6}},
	} {
		res := run(c.q, c.count, c.total, "")
		if !slices.Contains(c.want, res.Total) {
			t.Errorf("%s: total %d, want one of %v", c.name, res.Total, c.want)
		}
		if c.count == 0 && (len(res.Resources) != 0 || res.Next != "") {
			t.Errorf("%s: Count 0 returned %d resources, next %q", c.name, len(res.Resources), res.Next)
		}
	}
	if res := run(match, 2, search.TotalEstimate, ""); res.Total < 0 {
		t.Errorf("estimate: total %d, want an estimate", res.Total)
	}
	first := run(match, 2, search.TotalAccurate, "")
	if second := run(match, 2, search.TotalAccurate, first.Next); second.Total != 5 || len(second.Resources) != 2 {
		t.Errorf("second page: total %d, %d resources; want 5, 2", second.Total, len(second.Resources))
	}
}

// testSearchBadCursor: a cursor the store did not make is invalid.
func testSearchBadCursor(t *testing.T, s engine.Store) {
	mustCreate(t, s, patient, "a", 1)
	for _, c := range []string{"garbage", "%%%", "s1.", "1", "-1", "{}"} {
		q := query(t, patient, "")
		q.Count, q.Cursor = 10, c
		_, err := s.Search(t.Context(), q)
		checkKind(t, "cursor "+c, err, fhir.KindInvalid)
	}
}

// testSearchDeletedEverywhere: a deleted resource matches no clause of any
// kind, leads no chain or reverse chain, and sorts nowhere.
func testSearchDeletedEverywhere(t *testing.T, s engine.Store) {
	writeFixtures(t, s, chainFixtures())
	mustDelete(t, s, patient, "cp1", 2)
	mustDelete(t, s, observation, "co2", 2)
	mustDelete(t, s, organization, "org3", 2)
	pt, o := of(patient), of(observation)
	checkRefs(t, "name", mustSearch(t, s, sq(pt, stringClause("name", search.ModNone, "smith")), 0), refs(patient, "cp3"))
	checkRefs(t, "chain to a deleted patient", mustSearch(t, s, sq(o, chain("subject", pt, stringClause("name", search.ModNone, "smith"))), 0),
		refs(observation, "co3"))
	checkRefs(t, "reverse chain from a deleted observation",
		mustSearch(t, s, sq(pt, has(observation, "subject", tokenClause("code", search.ModNone, code("A")))), 0), nil)
	checkRefs(t, "reverse chain to a deleted patient", mustSearch(t, s, sq(of(organization),
		has(patient, "organization", stringClause("name", search.ModNone, "smith"))), 0), nil)
	checkRefs(t, "organizations", mustSearch(t, s, sq(of(organization), stringClause("name", search.ModNone, "acme")), 0),
		refs(organization, "org1"))
	sorted := &search.Query{Types: of(organization), Sort: []search.Sort{by("name", search.TypeString, false)}}
	checkRefs(t, "sorted", pageAll(t, s, sorted, 1), refs(organization, "org1", "org2"))
	checkRefs(t, "missing", mustSearch(t, s, sq(pt, missing("organization", search.TypeReference, true)), 0), refs(patient, "cp3"))
	checkRefs(t, "all observations", mustSearch(t, s, sq(o), 0), refs(observation, "co1", "co3", "co4", "co5"))
}

// testSearchAllKindsReplaced: an update replaces the values of every kind;
// a deletion and a re-creation start from the new index.
func testSearchAllKindsReplaced(t *testing.T, s engine.Store) {
	v1 := fx(observation, "u").str("name", "Old").date("date", "2020").ref("subject", patient, "p1").
		num("probability", 1, 1).uri("url", "http://old").tok("code", loinc, "old")
	r, idx := v1.version(1)
	mustPut(t, s, r, idx)
	v2 := fx(observation, "u").str("name", "New").date("date", "2024").ref("subject", patient, "p2").
		num("probability", 2, 2).uri("url", "http://new").tok("code", loinc, "new")
	r, idx = v2.version(2)
	cur := mustPut(t, s, r, idx)
	o := of(observation)
	for _, c := range []struct {
		name     string
		old, new search.Clause
	}{
		{"string", stringClause("name", search.ModNone, "old"), stringClause("name", search.ModNone, "new")},
		{"date", dateClause("date", dv("", "2020")), dateClause("date", dv("", "2024"))},
		{"reference", refClause("subject", search.ModNone, rv(patient, "p1")), refClause("subject", search.ModNone, rv(patient, "p2"))},
		{"number", numberClause("probability", nv("", "1")), numberClause("probability", nv("", "2"))},
		{"uri", uriClause("url", search.ModNone, "http://old"), uriClause("url", search.ModNone, "http://new")},
		{"token", tokenClause("code", search.ModNone, code("old")), tokenClause("code", search.ModNone, code("new"))},
	} {
		checkSearch(t, s, c.name+" of the old version", sq(o, c.old))
		checkSearch(t, s, c.name+" of the new version", sq(o, c.new), cur)
	}
	sorted := &search.Query{Types: o, Sort: []search.Sort{by("date", search.TypeDate, false)},
		Clauses: []search.Clause{dateClause("date", dv(search.PrefixLt, "2022"))}}
	checkSearch(t, s, "sorted by the old date", sorted)
	mustDelete(t, s, observation, "u", 3)
	r, idx = fx(observation, "u").str("name", "Again").version(4)
	again := mustPut(t, s, r, idx)
	checkSearch(t, s, "new version's string after re-creation", sq(o, stringClause("name", search.ModNone, "new")))
	checkSearch(t, s, "re-created", sq(o, stringClause("name", search.ModNone, "again")), again)
	checkSearch(t, s, "date missing after re-creation", sq(o, missing("date", search.TypeDate, true)), again)
}
