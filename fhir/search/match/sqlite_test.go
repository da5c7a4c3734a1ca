package match_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/fhir/search/match"
	"github.com/cpms-fhir/cpms/fhir/store/sqlite"
)

// openSQLite opens a SQLite store in a temporary directory and writes cs
// into it, each as version 1 with its lastUpdated and index.
func openSQLite(t *testing.T, cs []*match.Candidate) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	for _, c := range cs {
		body, _ := json.Marshal(map[string]any{"resourceType": c.Type, "id": c.ID})
		r := &fhir.Resource{Type: c.Type, ID: c.ID, Version: 1, Method: fhir.MethodPost, Body: body,
			LastUpdated: time.UnixMilli(c.LastUpdated).UTC()}
		if err := s.Write(t.Context(), func(tx engine.Tx) error { return tx.Put(t.Context(), r, c.Index) }); err != nil {
			t.Fatalf("Write %s: %v", r.Ref(), err)
		}
	}
	return s
}

// searchSQLite returns the ids (sorted) of the resources of type typ that
// the store finds for clauses, reading every page.
func searchSQLite(ctx context.Context, s *sqlite.Store, typ fhir.ResourceType, clauses []search.Clause) ([]fhir.ID, error) {
	q := &search.Query{Types: []fhir.ResourceType{typ}, Clauses: clauses, Count: 7}
	var out []fhir.ID
	for {
		res, err := s.Search(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, r := range res.Resources {
			if r.Type != typ {
				return nil, fmt.Errorf("a search of %s found %s", typ, r.Ref())
			}
			out = append(out, r.ID)
		}
		if res.Next == "" {
			slices.Sort(out)
			return out, nil
		}
		q.Cursor = res.Next
	}
}

// TestAgreesWithSQLite writes the corpus into a SQLite store and checks
// that for every case the store finds exactly the resources Match
// accepts, or fails with the same error, chains and reverse chains
// resolved over the corpus through Match itself.
func TestAgreesWithSQLite(t *testing.T) {
	cs := corpus()
	s := openSQLite(t, cs)
	now := time.Now()
	r := resolver(cs, now)
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			m, err := match.Compile(t.Context(), tc.typ, tc.clauses, now, r)
			want, sqlErr := searchSQLite(t.Context(), s, tc.typ, tc.clauses)
			if err != nil || sqlErr != nil {
				sameError(t, err, sqlErr)
				return
			}
			if got := matches(m, cs); !slices.Equal(got, want) {
				t.Errorf("Match finds %v\n SQLite finds %v", got, want)
			}
		})
	}
}

// sameError fails the test unless got (from Compile) and want (from the
// SQLite store) are the same *fhir.Error: kind, message and issues.
func sameError(t *testing.T, got, want error) {
	t.Helper()
	var g, w *fhir.Error
	if !errors.As(got, &g) || !errors.As(want, &w) {
		t.Fatalf("Compile: %v; SQLite: %v", got, want)
	}
	if g.Kind != w.Kind || g.Message != w.Message || !reflect.DeepEqual(g.Issues, w.Issues) {
		t.Errorf("Compile fails with\n%d %q %+v\nSQLite with\n%d %q %+v", g.Kind, g.Message, g.Issues, w.Kind, w.Message, w.Issues)
	}
}

// TestRangesAgreeWithSQLite compares Match with the SQLite store on random
// dates, numbers and quantities: every prefix, values and search ranges
// of random widths on a small scale (so that bounds often coincide),
// points and open ends among them, resources with several values, alone
// and in composites.
func TestRangesAgreeWithSQLite(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const day = int64(24 * time.Hour / time.Millisecond)
	now := time.Now()
	// Dates are on a grid of 41 hours around now, so that ap widens by a
	// day (near now) or by a tenth of a distance of up to 44 days, which
	// falls between the points of the grid; numbers on a grid of
	// quarters.
	const half = 41 * day / 24
	today := now.UnixMilli() / day * day
	var cs []*match.Candidate
	for i := range 80 {
		f := fx(riskAssess, fhir.ID(fmt.Sprint("r", i)))
		for range rng.IntN(3) {
			lo := rng.Int64N(40)
			hi := lo + rng.Int64N(6)
			dlo, dhi := today+(lo-20)*half, today+(hi-20)*half
			flo, fhi := float64(lo)/4, float64(hi)/4
			if rng.IntN(8) == 0 {
				dlo, flo = search.MinTime, math.Inf(-1)
			}
			if rng.IntN(8) == 0 {
				dhi, fhi = search.MaxTime, math.Inf(1)
			}
			f.num("probability", flo, fhi)
			f.dateRange("date", dlo, dhi)
			q := search.Quantity{Param: "value-quantity", Lo: flo, Hi: fhi, System: ucum, Code: "mg"}
			if rng.IntN(2) == 0 {
				q.CanonicalCode, q.CanonicalLo, q.CanonicalHi = "g", flo/1000, fhi/1000
			}
			f.qtyValue(q)
			f.comp("code-value", tokPart(loinc, "n"), search.Part{Number: &search.Number{Lo: flo, Hi: fhi}})
			f.comp("code-value", tokPart(loinc, "d"), search.Part{Date: &search.Date{Lo: dlo, Hi: dhi}})
		}
		c := f.c
		c.LastUpdated = base + int64(i)*1000
		cs = append(cs, &c)
	}
	s := openSQLite(t, cs)
	prefixes := []search.Prefix{search.PrefixEq, search.PrefixNe, search.PrefixGt, search.PrefixLt, search.PrefixGe,
		search.PrefixLe, search.PrefixSa, search.PrefixEb, search.PrefixAp}
	checked := 0
	for i := range 450 {
		p := prefixes[i%len(prefixes)]
		slo := rng.Int64N(44) - 2
		shi := slo + 1 + rng.Int64N(5)
		x := float64(slo+shi) / 2
		date := search.Value{Prefix: p, DateLo: today + (slo-20)*half, DateHi: today + (shi-20)*half}
		number := search.Value{Prefix: p, NumLo: float64(slo) / 4, NumHi: float64(shi) / 4, Num: x / 4}
		canonical := number
		canonical.System, canonical.Code = ptr(ucum), "mg"
		canonical.CanonicalCode, canonical.CanonicalLo, canonical.CanonicalHi, canonical.Canonical = "g", number.NumLo/1000, number.NumHi/1000, number.Num/1000
		unit := number
		unit.Code = "mg"
		for _, cl := range []search.Clause{
			dateClause("date", date),
			numberClause("probability", number),
			quantityClause("value-quantity", number),
			quantityClause("value-quantity", canonical),
			quantityClause("value-quantity", unit),
			compositeClause("code-value", comps(code("n"), number)),
			compositeClause("code-value", comps(code("d"), date)),
			compositeClause("code-value", comps(sc(loinc, ""), canonical)),
		} {
			m, err := match.Compile(t.Context(), riskAssess, []search.Clause{cl}, now, match.Resolver{})
			if err != nil {
				t.Fatal(err)
			}
			want, err := searchSQLite(t.Context(), s, riskAssess, []search.Clause{cl})
			if err != nil {
				t.Fatal(err)
			}
			if got := matches(m, cs); !slices.Equal(got, want) {
				t.Errorf("%s %s [%d, %d):\n Match finds %v\nSQLite finds %v", cl.Param, p, slo, shi, got, want)
			}
			checked++
		}
	}
	t.Logf("%d searches", checked)
}
