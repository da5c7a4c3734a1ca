package storetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// testSearchDates: every prefix on values of every precision, periods
// open at either end, and resources with several values. A value matches
// when the rule of its prefix (query.go) holds between its range and the
// search value's range at its precision.
func testSearchDates(t *testing.T, s engine.Store) {
	fixtures := []*fixture{
		fx(encounter, "day").date("date", "2024-03-15"),
		fx(encounter, "second").date("date", "2024-03-15T10:00:00Z"),
		fx(encounter, "month").date("date", "2024-03"),
		fx(encounter, "year").date("date", "2024"),
		fx(encounter, "period").period("date", "2024-03-10", "2024-03-20"),
		fx(encounter, "open-start").period("date", "", "2024-03-15"),
		fx(encounter, "open-end").period("date", "2024-03-15", ""),
		fx(encounter, "before").date("date", "2023-12-31"),
		fx(encounter, "after").date("date", "2025-01-01"),
		fx(encounter, "none"),
		fx(encounter, "milli").date("date", "2024-03-15T10:00:00.500Z"),
		fx(encounter, "two").date("date", "2020-01-01").date("date", "2026-06-01"),
		fx(encounter, "zone").date("date", "2024-03-15T23:30:00-02:00"),
		fx(encounter, "forever").dateRange("date", search.MinTime, search.MaxTime),
	}
	e := of(encounter)
	d := func(values ...search.Value) *search.Query { return sq(e, dateClause("date", values...)) }
	vectors := []vector{
		{name: "eq day", q: d(dv(search.PrefixEq, "2024-03-15")), want: refs(encounter, "day", "second", "milli")},
		{name: "no prefix is eq", q: d(dv("", "2024-03-15")), want: refs(encounter, "day", "second", "milli")},
		{name: "eq month", q: d(dv(search.PrefixEq, "2024-03")),
			want: refs(encounter, "day", "second", "month", "period", "milli", "zone")},
		{name: "eq year", q: d(dv(search.PrefixEq, "2024")),
			want: refs(encounter, "day", "second", "month", "year", "period", "milli", "zone")},
		{name: "eq second", q: d(dv(search.PrefixEq, "2024-03-15T10:00:00Z")), want: refs(encounter, "second", "milli")},
		{name: "eq millisecond", q: d(dv(search.PrefixEq, "2024-03-15T10:00:00.500Z")), want: refs(encounter, "milli")},
		{name: "eq in another zone", q: d(dv(search.PrefixEq, "2024-03-16")), want: refs(encounter, "zone")},
		{name: "ne month", q: d(dv(search.PrefixNe, "2024-03")),
			want: refs(encounter, "year", "open-start", "open-end", "before", "after", "two", "forever")},
		{name: "gt day", q: d(dv(search.PrefixGt, "2024-03-15")),
			want: refs(encounter, "month", "year", "period", "open-end", "after", "two", "zone", "forever")},
		{name: "lt day", q: d(dv(search.PrefixLt, "2024-03-15")),
			want: refs(encounter, "month", "year", "period", "open-start", "before", "two", "forever")},
		{name: "ge day", q: d(dv(search.PrefixGe, "2024-03-15")),
			want: refs(encounter, "day", "second", "month", "year", "period", "open-end", "after", "milli", "two", "zone", "forever")},
		{name: "le day", q: d(dv(search.PrefixLe, "2024-03-15")),
			want: refs(encounter, "day", "second", "month", "year", "period", "open-start", "before", "milli", "two", "forever")},
		{name: "sa day", q: d(dv(search.PrefixSa, "2024-03-15")), want: refs(encounter, "after", "two", "zone")},
		{name: "eb day", q: d(dv(search.PrefixEb, "2024-03-15")), want: refs(encounter, "before", "two")},
		{name: "sa year", q: d(dv(search.PrefixSa, "2024")), want: refs(encounter, "after", "two")},
		{name: "eb year", q: d(dv(search.PrefixEb, "2024")), want: refs(encounter, "before", "two")},
		{name: "gt second", q: d(dv(search.PrefixGt, "2024-03-15T10:00:00Z")),
			want: refs(encounter, "day", "month", "year", "period", "open-start", "open-end", "after", "two", "zone", "forever")},
		{name: "OR", q: d(dv("", "2023-12-31"), dv("", "2025-01-01")), want: refs(encounter, "before", "after")},
		{name: "range by AND", q: sq(e, dateClause("date", dv(search.PrefixGe, "2024-03-01")), dateClause("date", dv(search.PrefixLt, "2024-04-01"))),
			want: refs(encounter, "day", "second", "month", "period", "milli", "zone",
				"year", "open-end", "open-start", "two", "forever")},
		{name: "sa and eb", q: sq(e, dateClause("date", dv(search.PrefixSa, "2023")), dateClause("date", dv(search.PrefixEb, "2025"))),
			want: refs(encounter, "day", "second", "month", "year", "period", "milli", "zone", "two")},
		{name: "long ago", q: d(dv(search.PrefixEq, "1900")), want: nil},
		{name: "le long ago", q: d(dv(search.PrefixLe, "1900")), want: refs(encounter, "open-start", "forever")},
	}
	runVectors(t, s, fixtures, vectors)
}

// testSearchDateWindows: several clauses on one date parameter find what
// each finds alone, in common, with every pair of prefixes; whether each
// resource holds one value of the parameter (a store may then plan the
// clauses as one index range over the values' starts, knowing how long
// the values are) or some hold several, which may satisfy each clause
// with a different value.
func testSearchDateWindows(t *testing.T, s engine.Store) {
	writeFixtures(t, s, []*fixture{
		fx(patient, "in").date("birthdate", "1960-06-15"),
		fx(patient, "first").date("birthdate", "1960-01-01"),
		fx(patient, "last").date("birthdate", "1960-12-31T23:59:59Z"),
		fx(patient, "before").date("birthdate", "1959-12-31"),
		fx(patient, "after").date("birthdate", "1961-01-01"),
		fx(patient, "year").date("birthdate", "1960"),
		fx(patient, "month").date("birthdate", "1959-12"),
		fx(patient, "decades").period("birthdate", "1940", "1975"),
		fx(patient, "none"),
	})
	var clauses []search.Clause
	for _, p := range []search.Prefix{search.PrefixEq, search.PrefixGe, search.PrefixGt, search.PrefixSa, search.PrefixAp} {
		for _, v := range []string{"1959", "1960-01-01", "1960-06"} {
			clauses = append(clauses, dateClause("birthdate", dv(p, v)))
		}
	}
	for _, p := range []search.Prefix{search.PrefixLt, search.PrefixLe, search.PrefixEb, search.PrefixNe} {
		for _, v := range []string{"1960-06", "1961-01-01", "1961"} {
			clauses = append(clauses, dateClause("birthdate", dv(p, v)))
		}
	}
	clauses = append(clauses, dateClause("birthdate", dv(search.PrefixLt, "1950"), dv(search.PrefixGe, "1960-06-15")))
	pt := of(patient)
	check := func(stage string) {
		t.Helper()
		alone := make([]map[string]bool, len(clauses))
		for i, cl := range clauses {
			alone[i] = map[string]bool{}
			for _, r := range mustSearch(t, s, sq(pt, cl), 0) {
				alone[i][r.Ref()] = true
			}
		}
		both := func(sets ...map[string]bool) []string {
			var out []string
			for ref := range sets[0] {
				in := true
				for _, o := range sets[1:] {
					in = in && o[ref]
				}
				if in {
					out = append(out, ref)
				}
			}
			return out
		}
		for i := range clauses {
			for j := i + 1; j < len(clauses); j++ {
				q := sq(pt, clauses[i], clauses[j])
				name := fmt.Sprintf("%s: %+v and %+v", stage, clauses[i].Values, clauses[j].Values)
				checkRefs(t, name, mustSearch(t, s, q, 0), both(alone[i], alone[j]))
			}
		}
		// Three clauses; and the pair paged.
		for _, c := range [][3]int{{1, 16, 20}, {3, 19, 27}, {0, 4, 17}} {
			q := sq(pt, clauses[c[0]], clauses[c[1]], clauses[c[2]])
			want := both(alone[c[0]], alone[c[1]], alone[c[2]])
			checkRefs(t, fmt.Sprint(stage, ": clauses ", c), mustSearch(t, s, q, 0), want)
			checkRefs(t, fmt.Sprint(stage, ": clauses ", c, " in pages of 2"), pageAll(t, s, q, 2), want)
		}
	}
	check("one value each")
	// Two values, each satisfying one clause of a pair.
	r, idx := fx(patient, "both-ends").date("birthdate", "1900").date("birthdate", "2100").version(1)
	mustPut(t, s, r, idx)
	check("a resource with two values")
	ge := dateClause("birthdate", dv(search.PrefixGe, "1960-01-01"))
	lt := dateClause("birthdate", dv(search.PrefixLt, "1961-01-01"))
	found := mustSearch(t, s, sq(pt, ge, lt), 0)
	if !slices.ContainsFunc(found, func(r *fhir.Resource) bool { return r.ID == "both-ends" }) {
		t.Errorf("birthdate=ge1960-01-01&birthdate=lt1961-01-01 misses a Patient born in 1900 and in 2100: found %v", keys(found))
	}
}

// testSearchApproxDates: ap widens the search range by a tenth of its
// distance from now, and by a day at least. The fixtures are placed
// relative to the time of the test.
func testSearchApproxDates(t *testing.T, s engine.Store) {
	day := func(daysAgo int) string { return time.Now().UTC().AddDate(0, 0, -daysAgo).Format("2006-01-02") }
	year := func(yearsAgo int) string { return time.Now().UTC().AddDate(-yearsAgo, 0, 0).Format("2006") }
	fixtures := []*fixture{
		fx(encounter, "today").date("date", day(0)),
		fx(encounter, "ten-days").date("date", day(10)),
		fx(encounter, "thirteen-days").date("date", day(13)),
		fx(encounter, "95-years").date("date", year(95)),
		fx(encounter, "80-years").date("date", year(80)),
		fx(encounter, "period").period("date", day(30), day(20)),
	}
	e := of(encounter)
	ap := func(value string) *search.Query { return sq(e, dateClause("date", dv(search.PrefixAp, value))) }
	vectors := []vector{
		{name: "a day around today", q: ap(day(1)), want: refs(encounter, "today")},
		{name: "a day around ten days ago", q: ap(day(10)), want: refs(encounter, "ten-days")},
		{name: "overlapping a period", q: ap(day(19)), want: refs(encounter, "period")},
		{name: "a tenth of a century", q: ap(year(100)), want: refs(encounter, "95-years")},
	}
	runVectors(t, s, fixtures, vectors)
}

// testSearchLastUpdated: _lastUpdated is the instant each version was
// written, to the millisecond, searched as a date.
func testSearchLastUpdated(t *testing.T, s engine.Store) {
	var rs []*fhir.Resource
	for _, id := range []fhir.ID{"a", "b", "c"} {
		rs = append(rs, mustCreate(t, s, patient, id, 1))
		for time.Now().UnixMilli() <= rs[len(rs)-1].LastUpdated.UnixMilli() {
			time.Sleep(time.Millisecond)
		}
	}
	b := rs[1].LastUpdated.Format("2006-01-02T15:04:05.000Z07:00")
	lu := func(p search.Prefix, value string) *search.Query {
		return sq(of(patient), dateClause("_lastUpdated", dv(p, value)))
	}
	cases := []struct {
		prefix search.Prefix
		value  string
		want   []*fhir.Resource
	}{
		{search.PrefixEq, b, rs[1:2]},
		{search.PrefixGt, b, rs[2:]},
		{search.PrefixGe, b, rs[1:]},
		{search.PrefixLt, b, rs[:1]},
		{search.PrefixLe, b, rs[:2]},
		{search.PrefixSa, b, rs[2:]},
		{search.PrefixEb, b, rs[:1]},
		{search.PrefixNe, b, []*fhir.Resource{rs[0], rs[2]}},
		{search.PrefixGe, "2000", rs},
		{search.PrefixLt, "2000", nil},
	}
	for _, c := range cases {
		checkSearch(t, s, fmt.Sprintf("_lastUpdated=%s%s", c.prefix, c.value), lu(c.prefix, c.value), c.want...)
	}
	// Two clauses bound a window.
	both := func(p1 search.Prefix, v1 string, p2 search.Prefix, v2 string) *search.Query {
		return sq(of(patient), dateClause("_lastUpdated", dv(p1, v1)), dateClause("_lastUpdated", dv(p2, v2)))
	}
	a := rs[0].LastUpdated.Format("2006-01-02T15:04:05.000Z07:00")
	last := rs[2].LastUpdated.Format("2006-01-02T15:04:05.000Z07:00")
	checkSearch(t, s, "_lastUpdated=ge b&_lastUpdated=le b", both(search.PrefixGe, b, search.PrefixLe, b), rs[1])
	checkSearch(t, s, "_lastUpdated=gt a&_lastUpdated=lt c", both(search.PrefixGt, a, search.PrefixLt, last), rs[1])
	checkSearch(t, s, "_lastUpdated=ge a&_lastUpdated=lt c", both(search.PrefixGe, a, search.PrefixLt, last), rs[0], rs[1])
	checkSearch(t, s, "_lastUpdated=gt b&_lastUpdated=lt b", both(search.PrefixGt, b, search.PrefixLt, b))
	checkSearch(t, s, "_lastUpdated=ge 2000&_lastUpdated=le c", both(search.PrefixGe, "2000", search.PrefixLe, last), rs...)
	c := mustCreate(t, s, patient, "c", 2)
	checkSearch(t, s, "_lastUpdated of an update", lu(search.PrefixGt, b), c)
	checkSearch(t, s, "_lastUpdated of an update, before", lu(search.PrefixLe, b), rs[0], rs[1])
}

// testSearchNumbers: every prefix on single values (points), ranges and a
// range open above (+Inf), with the search value's implicit precision.
func testSearchNumbers(t *testing.T, s engine.Store) {
	fixtures := []*fixture{
		fx(riskAssess, "n100").num("probability", 100, 100),
		fx(riskAssess, "n100.4").num("probability", 100.4, 100.4),
		fx(riskAssess, "n99.5").num("probability", 99.5, 99.5),
		fx(riskAssess, "n100.5").num("probability", 100.5, 100.5),
		fx(riskAssess, "range").num("probability", 90, 110),
		fx(riskAssess, "n0.8").num("probability", 0.8, 0.8),
		fx(riskAssess, "none"),
		fx(riskAssess, "minus").num("probability", -5, -5),
		fx(riskAssess, "above50").num("probability", 50, math.Inf(1)),
	}
	r := of(riskAssess)
	n := func(values ...search.Value) *search.Query { return sq(r, numberClause("probability", values...)) }
	vectors := []vector{
		{name: "eq", q: n(nv(search.PrefixEq, "100")), want: refs(riskAssess, "n100", "n100.4", "n99.5")},
		{name: "eq one decimal", q: n(nv(search.PrefixEq, "100.0")), want: refs(riskAssess, "n100")},
		{name: "eq two decimals", q: n(nv("", "100.40")), want: refs(riskAssess, "n100.4")},
		{name: "ne", q: n(nv(search.PrefixNe, "100")), want: refs(riskAssess, "n100.5", "range", "n0.8", "minus", "above50")},
		{name: "gt", q: n(nv(search.PrefixGt, "100")), want: refs(riskAssess, "n100.5", "range", "above50")},
		{name: "lt", q: n(nv(search.PrefixLt, "100")), want: refs(riskAssess, "range", "n0.8", "minus", "above50")},
		{name: "ge", q: n(nv(search.PrefixGe, "100")), want: refs(riskAssess, "n100", "n100.4", "n99.5", "n100.5", "range", "above50")},
		{name: "le", q: n(nv(search.PrefixLe, "100")), want: refs(riskAssess, "n100", "n100.4", "n99.5", "range", "n0.8", "minus", "above50")},
		{name: "sa", q: n(nv(search.PrefixSa, "100")), want: refs(riskAssess, "n100.5")},
		{name: "eb", q: n(nv(search.PrefixEb, "100")), want: refs(riskAssess, "n0.8", "minus")},
		{name: "ap", q: n(nv(search.PrefixAp, "100")), want: refs(riskAssess, "n100", "n100.4", "n99.5", "n100.5", "range", "above50")},
		{name: "ap small", q: n(nv(search.PrefixAp, "1")), want: refs(riskAssess, "n0.8")},
		{name: "eq decimal", q: n(nv("", "0.8")), want: refs(riskAssess, "n0.8")},
		{name: "negative", q: n(nv("", "-5")), want: refs(riskAssess, "minus")},
		{name: "lt zero", q: n(nv(search.PrefixLt, "0")), want: refs(riskAssess, "minus")},
		// The parser sends gt, lt, ge, le, sa and eb with the range [v,
		// the next float after v), R4 ignoring their implicit precision.
		{name: "ge exactly", q: n(nvExact(search.PrefixGe, 100)), want: refs(riskAssess, "n100", "n100.4", "n100.5", "range", "above50")},
		{name: "gt exactly", q: n(nvExact(search.PrefixGt, 100)), want: refs(riskAssess, "n100.4", "n100.5", "range", "above50")},
		{name: "lt exactly", q: n(nvExact(search.PrefixLt, 100)), want: refs(riskAssess, "n99.5", "range", "n0.8", "minus", "above50")},
		{name: "le exactly", q: n(nvExact(search.PrefixLe, 100)), want: refs(riskAssess, "n100", "n99.5", "range", "n0.8", "minus", "above50")},
		{name: "inside a range", q: n(nv("", "95")), want: nil},
		{name: "OR", q: n(nv("", "0.8"), nv("", "-5")), want: refs(riskAssess, "n0.8", "minus")},
		{name: "AND", q: sq(r, numberClause("probability", nv(search.PrefixGt, "1")), numberClause("probability", nv(search.PrefixLt, "100"))),
			want: refs(riskAssess, "range", "above50")},
	}
	runVectors(t, s, fixtures, vectors)
}

// testSearchQuantities: canonical UCUM values compared across units, the
// values as written within one system and code, a code of any system
// (compared with the unit's code, not its display), and values without a
// unit.
func testSearchQuantities(t *testing.T, s engine.Store) {
	const vq = "value-quantity"
	fixtures := []*fixture{
		fx(observation, "mg").qty(vq, 5.4, ucum, "mg", "mg", "g", 0.001),
		fx(observation, "g").qty(vq, 0.0054, ucum, "g", "g", "g", 1),
		fx(observation, "tab").qty(vq, 5.4, "http://example.org/units", "tab", "tablets", "", 0),
		fx(observation, "mg/dL").qty(vq, 5.4, ucum, "mg/dL", "mg/dL", "g.m-3", 10),
		fx(observation, "bare").qty(vq, 5.4, "", "", "", "", 0),
		fx(observation, "kg").qty(vq, 5, ucum, "kg", "kg", "g", 1000),
		fx(observation, "none"),
	}
	o := of(observation)
	qq := func(values ...search.Value) *search.Query { return sq(o, quantityClause(vq, values...)) }
	empty := ""
	vectors := []vector{
		{name: "canonical", q: qq(qv("", "5.4", ptr(ucum), "mg", "g", 0.001)), want: refs(observation, "mg", "g")},
		{name: "canonical in another unit", q: qq(qv("", "0.0054", ptr(ucum), "g", "g", 1)), want: refs(observation, "mg", "g")},
		{name: "canonical gt", q: qq(qv(search.PrefixGt, "1", ptr(ucum), "g", "g", 1)), want: refs(observation, "kg")},
		{name: "canonical ap", q: qq(qv(search.PrefixAp, "5", ptr(ucum), "mg", "g", 0.001)), want: refs(observation, "mg", "g")},
		{name: "other dimension", q: qq(qv("", "5.4", ptr(ucum), "mg/dL", "g.m-3", 10)), want: refs(observation, "mg/dL")},
		{name: "system and code", q: qq(qv("", "5.4", ptr("http://example.org/units"), "tab", "", 0)), want: refs(observation, "tab")},
		{name: "other system", q: qq(qv("", "5.4", ptr("urn:other"), "tab", "", 0))},
		{name: "code of any system", q: qq(qv("", "5.4", &empty, "tab", "", 0)), want: refs(observation, "tab")},
		{name: "code nil system", q: qq(qv("", "5.4", nil, "tab", "", 0)), want: refs(observation, "tab")},
		{name: "unit is not code", q: qq(qv("", "5.4", nil, "tablets", "", 0))},
		{name: "no unit", q: qq(qv("", "5.4", nil, "", "", 0)), want: refs(observation, "mg", "tab", "mg/dL", "bare")},
		{name: "no unit gt", q: qq(qv(search.PrefixGt, "4", nil, "", "", 0)), want: refs(observation, "mg", "tab", "mg/dL", "bare", "kg")},
		{name: "no unit gt precision", q: qq(qv(search.PrefixGt, "5", nil, "", "", 0))},
		{name: "no unit le", q: qq(qv(search.PrefixLe, "1", nil, "", "", 0)), want: refs(observation, "g")},
		{name: "OR", q: qq(qv("", "5", ptr(ucum), "kg", "g", 1000), qv("", "5.4", ptr("http://example.org/units"), "tab", "", 0)),
			want: refs(observation, "kg", "tab")},
	}
	runVectors(t, s, fixtures, vectors)
}

// testSearchRangeOracle compares the store with a plain reading of the
// rules of query.go on random dates and numbers: every prefix, values and
// search ranges of random widths, points among them, resources with
// several values.
func testSearchRangeOracle(t *testing.T, s engine.Store) {
	rng := rand.New(rand.NewPCG(1, 2))
	type val struct{ lo, hi int64 }
	values := map[fhir.ID][]val{}
	var fixtures []*fixture
	for i := range 60 {
		id := fhir.ID(fmt.Sprint("r", i))
		f := fx(riskAssess, id)
		for range rng.IntN(3) {
			lo := rng.Int64N(40)
			hi := lo + rng.Int64N(6)
			if rng.IntN(8) == 0 {
				lo = search.MinTime
			}
			if rng.IntN(8) == 0 {
				hi = search.MaxTime
			}
			if lo == hi {
				f.num("probability", float64(lo), float64(hi))
			} else {
				f.num("probability", float64(lo), float64(hi))
				f.dateRange("date", lo, hi)
			}
			values[id] = append(values[id], val{lo, hi})
		}
		fixtures = append(fixtures, f)
	}
	cur := writeFixtures(t, s, fixtures)
	prefixes := []search.Prefix{search.PrefixEq, search.PrefixNe, search.PrefixGt, search.PrefixLt, search.PrefixGe,
		search.PrefixLe, search.PrefixSa, search.PrefixEb}
	for i := range 80 {
		p := prefixes[i%len(prefixes)]
		slo := rng.Int64N(44) - 2
		shi := slo + 1 + rng.Int64N(5)
		for _, asDate := range []bool{false, true} {
			var want []*fhir.Resource
			for id, vs := range values {
				for _, v := range vs {
					point := v.lo == v.hi
					if asDate && point {
						continue
					}
					if oracle(p, v.lo, v.hi, slo, shi, point) {
						want = append(want, cur[string(riskAssess)+"/"+string(id)])
						break
					}
				}
			}
			var c search.Clause
			if asDate {
				c = dateClause("date", search.Value{Prefix: p, DateLo: slo, DateHi: shi})
			} else {
				c = numberClause("probability", search.Value{Prefix: p, NumLo: float64(slo), NumHi: float64(shi), Num: float64(slo+shi) / 2})
			}
			checkSearch(t, s, fmt.Sprintf("%v %s[%d, %d)", c.Param, p, slo, shi), sq(of(riskAssess), c), want...)
		}
	}
}

// oracle is the rule of prefix p between a value [lo, hi) (a point when
// point) and a search range [slo, shi), as query.go states it.
func oracle(p search.Prefix, lo, hi, slo, shi int64, point bool) bool {
	atMost := func(x int64) bool { // hi <= x, read hi < x for a point
		if point {
			return hi < x
		}
		return hi <= x
	}
	eq := slo <= lo && atMost(shi)
	gt := !atMost(shi)
	lt := lo < slo
	switch p {
	case search.PrefixEq:
		return eq
	case search.PrefixNe:
		return !eq
	case search.PrefixGt:
		return gt
	case search.PrefixLt:
		return lt
	case search.PrefixGe:
		return gt || eq
	case search.PrefixLe:
		return lt || eq
	case search.PrefixSa:
		return lo >= shi
	case search.PrefixEb:
		return atMost(slo)
	}
	panic("oracle: prefix " + p)
}
