package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// year returns the start of year y in Unix milliseconds.
func year(y int) int64 { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() }

// putBirthdates writes Patient/id with the given birthdate ranges.
func putBirthdates(t *testing.T, s *Store, id fhir.ID, dates ...[2]int64) {
	t.Helper()
	idx := &search.Index{}
	for _, d := range dates {
		idx.Dates = append(idx.Dates, search.Date{Param: "birthdate", Lo: d[0], Hi: d[1]})
	}
	putIndexed(t, s, "Patient", id, idx)
}

// putIndexed stores a resource with an empty body and the search values
// idx, as a new version of it if it exists.
func putIndexed(t *testing.T, s *Store, typ fhir.ResourceType, id fhir.ID, idx *search.Index) {
	t.Helper()
	err := s.Write(t.Context(), func(tx engine.Tx) error {
		v := int64(1)
		if cur, err := tx.Read(t.Context(), typ, id); err == nil {
			v = cur.Version + 1
		}
		return tx.Put(t.Context(), &fhir.Resource{Type: typ, ID: id, Version: v, Method: fhir.MethodPut,
			LastUpdated: tx.Now(), Body: []byte(`{}`)}, idx)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// born1960 is birthdate=ge1960&birthdate=lt1961 on Patients.
func born1960(count int, total search.Total) *search.Query {
	return &search.Query{Types: []fhir.ResourceType{"Patient"}, Count: count, Total: total, Clauses: []search.Clause{
		{Param: "birthdate", Type: search.TypeDate, Values: []search.Value{{Prefix: search.PrefixGe, DateLo: year(1960), DateHi: year(1961)}}},
		{Param: "birthdate", Type: search.TypeDate, Values: []search.Value{{Prefix: search.PrefixLt, DateLo: year(1961), DateHi: year(1962)}}},
	}}
}

// bornIn1960 searches birthdate=ge1960&birthdate=lt1961 and returns the
// ids found and the statements run.
func bornIn1960(t *testing.T, s *Store) (ids []string, stmts []string) {
	t.Helper()
	var res *engine.SearchResult
	stmts, _ = traced(func() {
		var err error
		if res, err = s.Search(t.Context(), born1960(100, search.TotalDefault)); err != nil {
			t.Fatal(err)
		}
	})
	for _, r := range res.Resources {
		ids = append(ids, string(r.ID))
	}
	return ids, stmts
}

// usedWindow reports whether a statement listed a date window (an index
// range on the values' starts, see datestat.go).
func usedWindow(stmts []string) bool {
	for _, q := range stmts {
		if strings.Contains(q, ".lo >= ? AND") && strings.Contains(q, "FROM date") {
			return true
		}
	}
	return false
}

// TestDateWindows: a pair of date clauses is planned as one range over
// the values' starts, widened by the longest value, only while no
// resource holds two values; the statistics that allow it survive a
// failed write, a restart and the migration that computes them for an
// older database.
func TestDateWindows(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	day := int64(24 * time.Hour / time.Millisecond)
	// 200 Patients born long before or after 1960: the window is by far
	// the most selective way to the few born in it.
	for i := range 100 {
		putBirthdates(t, s, fhir.ID(fmt.Sprint("early", i)), [2]int64{year(1900) + int64(i)*day, year(1900) + int64(i+1)*day})
		putBirthdates(t, s, fhir.ID(fmt.Sprint("late", i)), [2]int64{year(2000) + int64(i)*day, year(2000) + int64(i+1)*day})
	}
	putBirthdates(t, s, "june", [2]int64{year(1960) + 160*day, year(1960) + 161*day})
	// A failed write of a value 35 years long, then the same write.
	long := [2]int64{year(1940), year(1975)}
	fail := errors.New("failing on purpose")
	err := s.Write(t.Context(), func(tx engine.Tx) error {
		if err := tx.Put(t.Context(), &fhir.Resource{Type: "Patient", ID: "decades", Version: 1, Method: fhir.MethodPut,
			LastUpdated: tx.Now(), Body: []byte(`{}`)}, &search.Index{Dates: []search.Date{{Param: "birthdate", Lo: long[0], Hi: long[1]}}}); err != nil {
			return err
		}
		return fail
	})
	if !errors.Is(err, fail) {
		t.Fatalf("the failing write: %v", err)
	}
	putBirthdates(t, s, "decades", long)
	k := paramKey("Patient", "birthdate")
	want := dateStat{span: long[1] - long[0]}
	check := func(stage string, window bool) {
		t.Helper()
		if st, ok := s.dates.get(k); !ok || st != want {
			t.Errorf("%s: birthdate statistics %+v (%v), want %+v", stage, st, ok, want)
		}
		ids, stmts := bornIn1960(t, s)
		if got := strings.Join(ids, ","); got != "june,decades" {
			t.Errorf("%s: born in 1960: %s, want june and decades", stage, got)
		}
		if usedWindow(stmts) != window {
			t.Errorf("%s: a date window was used: %v, want %v; statements:\n%s", stage, !window, window, strings.Join(stmts, "\n"))
		}
	}
	check("after writing", true)
	s.Close()
	s = openTest(t, dir)
	check("after reopening", true)

	// The migration from schema 2 computes the same statistics.
	s.Close()
	db, err := sql.Open("sqlite", "file:"+dir+"/"+DBFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE datestat`, `DROP TABLE deferred_index`, `DROP TABLE index_queue`, `PRAGMA user_version = 2`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s = openTest(t, dir)
	check("after the migration", true)

	// A Patient with two birthdates ends the windows: each clause could
	// be met by another of its values.
	putBirthdates(t, s, "twice", [2]int64{year(1900), year(1900) + day}, [2]int64{year(2100), year(2100) + day})
	want.multi = true
	ids, stmts := bornIn1960(t, s)
	if got := strings.Join(ids, ","); got != "june,decades,twice" {
		t.Errorf("with a Patient born twice: %s, want june, decades and twice", got)
	}
	if usedWindow(stmts) {
		t.Errorf("a date window was used though a Patient has two birthdates")
	}
	if st, _ := s.dates.get(k); st != want {
		t.Errorf("birthdate statistics %+v, want %+v", st, want)
	}
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	if st, _ := s.dates.get(k); st != want {
		t.Errorf("after reopening, birthdate statistics %+v, want %+v", st, want)
	}
}

// TestDateWindowEstimate: the estimated total of a pair of date clauses
// takes their window's count for both, rather than multiplying three
// selectivities as if the window were independent of the clauses.
func TestDateWindowEstimate(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	day := int64(24 * time.Hour / time.Millisecond)
	for i := range 100 {
		putBirthdates(t, s, fhir.ID(fmt.Sprint("early", i)), [2]int64{year(1900) + int64(i)*day, year(1900) + int64(i+1)*day})
		putBirthdates(t, s, fhir.ID(fmt.Sprint("late", i)), [2]int64{year(2000) + int64(i)*day, year(2000) + int64(i+1)*day})
	}
	for i := range 150 {
		putBirthdates(t, s, fhir.ID(fmt.Sprint("in", i)), [2]int64{year(1960) + int64(i)*day, year(1960) + int64(i+1)*day})
	}
	q := born1960(1, search.TotalEstimate)
	res, err := s.Search(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if res.Total < 149 || res.Total > 151 {
		t.Errorf("estimated total of the 150 born in 1960: %d", res.Total)
	}
}

// TestSpanOf: spans SQLite computed as REAL convert back exactly, and an
// open-ended value's span is unbounded.
func TestSpanOf(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want int64
	}{{0, 0}, {86400000, 86400000}, {float64(year(1975) - year(1940)), year(1975) - year(1940)},
		{float64(math.MaxInt64), math.MaxInt64}, {math.Inf(1), math.MaxInt64}, {1 << 53, math.MaxInt64}} {
		if got := spanOf(c.in); got != c.want {
			t.Errorf("spanOf(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}
