package storetest

import (
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

var searchTests = []test{
	{name: "Criteria", run: testSearchCriteria},
	{name: "Limit", run: testSearchLimit},
	{name: "DeletedNeverFound", run: testSearchDeletedNeverFound},
	{name: "IndexReplacedOnUpdate", run: testSearchIndexReplacedOnUpdate},
	{name: "TokenValuesWithBars", run: testSearchTokenValuesWithBars},
	{name: "ParamsAreDistinct", run: testSearchParamsAreDistinct},
	{name: "Tokens", run: testSearchTokens},
	{name: "Strings", run: testSearchStrings},
	{name: "Dates", run: testSearchDates},
	{name: "DateWindows", run: testSearchDateWindows},
	{name: "ApproxDates", run: testSearchApproxDates},
	{name: "LastUpdated", run: testSearchLastUpdated},
	{name: "Numbers", run: testSearchNumbers},
	{name: "Quantities", run: testSearchQuantities},
	{name: "RangeOracle", run: testSearchRangeOracle},
	{name: "References", run: testSearchReferences},
	{name: "URIs", run: testSearchURIs},
	{name: "Composites", run: testSearchComposites},
	{name: "Missing", run: testSearchMissing},
	{name: "Unions", run: testSearchUnions},
	{name: "Compartments", run: testSearchCompartments},
	{name: "CareDates", run: testSearchCareDates},
	{name: "Chains", run: testSearchChains},
	{name: "ReverseChains", run: testSearchReverseChains},
	{name: "ChainPages", run: testSearchChainPages},
	{name: "System", run: testSearchSystem},
	{name: "Sort", run: testSearchSort},
	{name: "SortNumbers", run: testSearchSortNumbers},
	{name: "SortSystem", run: testSearchSortSystem},
	{name: "PagingWhileWriting", run: testSearchPagingWhileWriting},
	{name: "Totals", run: testSearchTotals},
	{name: "BadCursor", run: testSearchBadCursor},
	{name: "DeletedEverywhere", run: testSearchDeletedEverywhere},
	{name: "AllKindsReplaced", run: testSearchAllKindsReplaced},
	{name: "Reindex", run: testSearchReindex},
}

// seedSearch writes the resources the criteria cases search and returns
// their current versions by id.
func seedSearch(t *testing.T, s engine.Store) map[string]*fhir.Resource {
	cur := map[string]*fhir.Resource{
		"p1": mustCreate(t, s, patient, "p1", 1, ident("s1", "a"), ident("s2", "b")),
		"p2": mustCreate(t, s, patient, "p2", 1, ident("s1", "b")),
		"p3": mustCreate(t, s, patient, "p3", 1, ident("", "a")),
		"p4": mustCreate(t, s, patient, "p4", 1, ident("s2", "c")),
		"p5": mustCreate(t, s, patient, "p5", 1, ident("s1", "a"), ident("", "a")),
		"p6": mustCreate(t, s, patient, "p6", 1),
		"P1": mustCreate(t, s, patient, "P1", 1, ident("s3", "x")),
		"o1": mustCreate(t, s, organization, "o1", 1, ident("s1", "a"), ident("s2", "c")),
	}
	cur["p5"] = mustDelete(t, s, patient, "p5", 2)
	return cur
}

// testSearchCriteria runs searches by _id and by identifier tokens in the
// four forms (system|code, |code, system|, code), with OR within a clause
// and AND across clauses, and checks each finds exactly the current,
// not deleted resources it should, of its type only.
func testSearchCriteria(t *testing.T, s engine.Store) {
	cur := seedSearch(t, s)
	cases := []struct {
		typ   fhir.ResourceType
		query string
		want  []string
	}{
		{patient, "", []string{"p1", "p2", "p3", "p4", "p6", "P1"}},
		{organization, "", []string{"o1"}},

		{patient, "_id=p1", []string{"p1"}},
		{patient, "_id=P1", []string{"P1"}},
		{patient, "_id=p1,p2,p5,nope", []string{"p1", "p2"}},
		{patient, "_id=p1,p2&_id=p2,p3", []string{"p2"}},
		{patient, "_id=p1&_id=p2", nil},
		{patient, "_id=o1", nil},
		{organization, "_id=p1,o1", []string{"o1"}},

		{patient, "identifier=s1|a", []string{"p1"}},
		{patient, "identifier=|a", []string{"p3"}},
		{patient, "identifier=s1|", []string{"p1", "p2"}},
		{patient, "identifier=a", []string{"p1", "p3"}},
		{patient, "identifier=b", []string{"p1", "p2"}},
		{patient, "identifier=c", []string{"p4"}},
		{patient, "identifier=|c", nil},
		{patient, "identifier=s9|a", nil},
		{patient, "identifier=s1|zz", nil},
		{patient, "identifier=s", nil},

		{patient, "identifier=s1|a,s2|c", []string{"p1", "p4"}},
		{patient, "identifier=|a,s1|b", []string{"p2", "p3"}},
		{patient, "identifier=s3|,s2|", []string{"p1", "p4", "P1"}},
		{patient, "identifier=zz,yy", nil},

		{patient, "identifier=s1|a&identifier=s2|b", []string{"p1"}},
		{patient, "identifier=s1|a&identifier=s1|b", nil},
		{patient, "identifier=a&identifier=b", []string{"p1"}},
		{patient, "identifier=s1|,s2|&identifier=b", []string{"p1", "p2"}},
		{patient, "identifier=s1|a&identifier=|a", nil},

		{patient, "_id=p1,p2,p3&identifier=a", []string{"p1", "p3"}},
		{patient, "_id=p2&identifier=s1|a", nil},
		{patient, "_id=p4,P1&identifier=s2|,s3|&identifier=c", []string{"p4"}},

		{organization, "identifier=s1|a", []string{"o1"}},
		{organization, "identifier=c&identifier=s1|", []string{"o1"}},
		{organization, "identifier=s1|b", nil},
		{organization, "identifier=|a", nil},
	}
	for _, c := range cases {
		t.Run(string(c.typ)+"?"+c.query, func(t *testing.T) {
			var want []*fhir.Resource
			for _, id := range c.want {
				want = append(want, cur[id])
			}
			checkSearch(t, s, "search", query(t, c.typ, c.query), want...)
		})
	}
}

// testSearchLimit checks that a positive limit caps the number of
// results, each distinct and matching, and that a limit of 0 or less
// means no cap.
func testSearchLimit(t *testing.T, s engine.Store) {
	all := map[fhir.ID]*fhir.Resource{}
	for _, id := range []fhir.ID{"l1", "l2", "l3", "l4", "l5"} {
		all[id] = mustCreate(t, s, patient, id, 1, ident("urn:limit", "x"))
	}
	mustCreate(t, s, patient, "other", 1, ident("urn:limit", "y"))
	mustCreate(t, s, organization, "l6", 1, ident("urn:limit", "x"))
	q := query(t, patient, "identifier=urn:limit|x")
	for _, c := range []struct{ limit, want int }{{1, 1}, {2, 2}, {4, 4}, {5, 5}, {6, 5}, {100, 5}, {0, 5}, {-1, 5}} {
		found := mustSearch(t, s, q, c.limit)
		if len(found) != c.want {
			t.Errorf("limit %d: %d results %v, want %d", c.limit, len(found), keys(found), c.want)
		}
		seen := map[fhir.ID]bool{}
		for _, r := range found {
			if seen[r.ID] {
				t.Errorf("limit %d: %s found twice", c.limit, r.ID)
			}
			seen[r.ID] = true
			if want, ok := all[r.ID]; !ok {
				t.Errorf("limit %d: %s does not match", c.limit, key(r))
			} else {
				checkVersion(t, "limited search", r, want)
			}
		}
	}
}

// testSearchDeletedNeverFound checks that a deleted resource matches no
// search, by _id, identifier or no criteria, until it is created again.
func testSearchDeletedNeverFound(t *testing.T, s engine.Store) {
	mustCreate(t, s, patient, "d", 1, ident("urn:s", "old"))
	mustCreate(t, s, patient, "d", 2, ident("urn:s", "old"))
	mustDelete(t, s, patient, "d", 3)
	for _, raw := range []string{"", "_id=d", "identifier=urn:s|old", "identifier=old", "identifier=urn:s|"} {
		checkSearch(t, s, "search after the deletion: "+raw, query(t, patient, raw))
	}
	v4 := mustCreate(t, s, patient, "d", 4, ident("urn:s", "new"))
	checkSearch(t, s, "search by _id after re-creation", query(t, patient, "_id=d"), v4)
	checkSearch(t, s, "search by the new identifier", query(t, patient, "identifier=urn:s|new"), v4)
	checkSearch(t, s, "search by the identifier before the deletion", query(t, patient, "identifier=urn:s|old"))
	checkSearch(t, s, "search without criteria", query(t, patient, ""), v4)
}

// testSearchIndexReplacedOnUpdate checks that each version's index
// replaces the previous one: an identifier removed by an update no longer
// matches, one added does, and an empty index leaves the resource
// findable by _id only.
func testSearchIndexReplacedOnUpdate(t *testing.T, s engine.Store) {
	mustCreate(t, s, patient, "u", 1, ident("urn:s", "one"), ident("urn:t", "keep"))
	v2 := mustCreate(t, s, patient, "u", 2, ident("urn:s", "two"), ident("urn:t", "keep"))
	checkSearch(t, s, "removed identifier", query(t, patient, "identifier=urn:s|one"))
	checkSearch(t, s, "added identifier", query(t, patient, "identifier=urn:s|two"), v2)
	checkSearch(t, s, "kept identifier", query(t, patient, "identifier=urn:t|keep"), v2)
	checkSearch(t, s, "removed and kept identifiers (AND)", query(t, patient, "identifier=urn:s|one&identifier=urn:t|keep"))
	v3, idx := newVersion(patient, "u", 3)
	mustPut(t, s, v3, idx)
	for _, raw := range []string{"identifier=urn:s|two", "identifier=urn:t|keep", "identifier=urn:s|", "identifier=keep"} {
		checkSearch(t, s, "after an update with no identifiers: "+raw, query(t, patient, raw))
	}
	checkSearch(t, s, "by _id after an update with no identifiers", query(t, patient, "_id=u"), v3)
	v4 := mustCreate(t, s, patient, "u", 4, ident("urn:s", "one"))
	checkSearch(t, s, "an identifier given back", query(t, patient, "identifier=urn:s|one"), v4)
}

// testSearchTokenValuesWithBars checks that systems and codes containing
// '|' or ',' are matched as whole values: a store that joins system and
// code into one string must not confuse urn:a|b + c with urn:a + b|c.
func testSearchTokenValuesWithBars(t *testing.T, s engine.Store) {
	x := mustCreate(t, s, patient, "x", 1, ident("urn:a|b", "c"))
	y := mustCreate(t, s, patient, "y", 1, ident("urn:a", "b|c"))
	z := mustCreate(t, s, patient, "z", 1, ident("", "a,b"))
	cases := []struct {
		query string
		want  []*fhir.Resource
	}{
		{`identifier=urn:a\|b|c`, []*fhir.Resource{x}},
		{`identifier=urn:a|b\|c`, []*fhir.Resource{y}},
		{`identifier=urn:a\|b|`, []*fhir.Resource{x}},
		{`identifier=urn:a|`, []*fhir.Resource{y}},
		{`identifier=urn:a|b`, nil},
		{`identifier=c`, []*fhir.Resource{x}},
		{`identifier=b\|c`, []*fhir.Resource{y}},
		{`identifier=|a\,b`, []*fhir.Resource{z}},
		{`identifier=a,b`, nil},
		{`identifier=a\,b`, []*fhir.Resource{z}},
	}
	for _, c := range cases {
		checkSearch(t, s, c.query, query(t, patient, c.query), c.want...)
	}
}

// testSearchParamsAreDistinct checks that index values are kept per
// search parameter: a token of one parameter does not match a clause on
// another.
func testSearchParamsAreDistinct(t *testing.T, s engine.Store) {
	r, _ := newVersion(patient, "c", 1)
	code := search.Token{Param: "code", System: "urn:s", Code: "x"}
	mustPut(t, s, r, &search.Index{Tokens: []search.Token{code}})
	id := mustCreate(t, s, patient, "i", 1, ident("urn:s", "x"))
	byParam := func(param string) *search.Query {
		return tokenQuery(patient, param, search.Value{System: ptr("urn:s"), Code: "x"})
	}
	checkSearch(t, s, "identifier=urn:s|x", byParam("identifier"), id)
	checkSearch(t, s, "code=urn:s|x", byParam("code"), r)
	checkSearch(t, s, "other=urn:s|x", byParam("other"))
}
