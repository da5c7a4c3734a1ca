package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

func openTest(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dir, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCountsStayExact writes, updates and deletes resources at random,
// with transactions that fail half way, and checks that typecount and
// paramcount always equal what the tables hold.
func TestCountsStayExact(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	// Groups drain the queue often, with transactions failing around.
	s.queueLimit = 5
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(5, 5))
	version := map[string]int64{}
	deleted := map[string]bool{}
	randomIndex := func() *search.Index {
		idx := &search.Index{}
		for range rng.IntN(3) {
			idx.Tokens = append(idx.Tokens, search.Token{Param: fmt.Sprint("t", rng.IntN(3)), Code: fmt.Sprint(rng.IntN(4))})
		}
		for range rng.IntN(3) {
			idx.Dates = append(idx.Dates, search.Date{Param: "d", Lo: rng.Int64N(10), Hi: 10 + rng.Int64N(10)})
		}
		if rng.IntN(2) == 0 {
			idx.Strings = append(idx.Strings, search.String{Param: "s", Value: "x", Exact: fmt.Sprint("X", rng.IntN(3))})
		}
		if rng.IntN(2) == 0 {
			idx.References = append(idx.References, search.Reference{Param: "r", Type: "Patient", ID: fhir.ID(fmt.Sprint(rng.IntN(5)))})
		}
		if rng.IntN(3) == 0 {
			idx.Composites = append(idx.Composites, search.Composite{Param: "c", Parts: []search.Part{
				{Token: &search.Token{Code: "a"}}, {Number: &search.Number{Lo: 1, Hi: 1}}}})
		}
		return idx
	}
	for i := range 300 {
		typ := fhir.ResourceType([]string{"Patient", "Observation"}[rng.IntN(2)])
		id := fmt.Sprint(rng.IntN(30))
		key := string(typ) + "/" + id
		fail := rng.IntN(5) == 0
		err := s.Write(ctx, func(tx engine.Tx) error {
			r := &fhir.Resource{Type: typ, ID: fhir.ID(id), Version: version[key] + 1, Method: fhir.MethodPut,
				LastUpdated: tx.Now(), Body: []byte(`{}`)}
			var idx *search.Index
			if version[key] > 0 && !deleted[key] && rng.IntN(4) == 0 {
				r.Deleted, r.Method = true, fhir.MethodDelete
			} else {
				idx = randomIndex()
			}
			if err := tx.Put(ctx, r, idx); err != nil {
				return err
			}
			if fail {
				return errors.New("fail")
			}
			version[key], deleted[key] = r.Version, r.Deleted
			return nil
		})
		if (err != nil) != fail {
			t.Fatalf("write %d: %v", i, err)
		}
		if i%25 == 0 {
			checkCounts(t, s)
		}
	}
	checkCounts(t, s)
}

// checkCounts compares typecount and paramcount with the tables, once
// the index has caught up with the writes.
func checkCounts(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	if err := s.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
	compare := func(what, got, want string) {
		t.Helper()
		g, w := dump(t, s, got), dump(t, s, want)
		if g != w {
			t.Errorf("%s:\n got %s\nwant %s", what, g, w)
		}
	}
	compare("typecount", `SELECT type, n FROM typecount WHERE n != 0 ORDER BY type`,
		`SELECT type, count(*) FROM resource WHERE deleted = 0 GROUP BY type ORDER BY type`)
	var union []string
	for _, table := range valueTables {
		union = append(union, "SELECT rid, k FROM "+table)
	}
	compare("paramcount", `SELECT k, n FROM paramcount WHERE n != 0 ORDER BY k`,
		`SELECT k, count(DISTINCT rid) FROM (`+strings.Join(union, " UNION ALL ")+`) GROUP BY k ORDER BY k`)
	_ = ctx
}

func dump(t *testing.T, s *Store, query string) string {
	t.Helper()
	rows, err := s.r.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var a, n any
		if err := rows.Scan(&a, &n); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%v=%v ", a, n)
	}
	return b.String()
}

// TestMigrateFromSchema1 opens a database of schema 1 (resources and
// identifier tokens) and checks that searches find its resources by
// identifier after the migration, and by every new kind of value after
// an update.
func TestMigrateFromSchema1(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+dir+"/"+DBFile)
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{migrations[0].sql,
		`INSERT INTO resource (rid, type, id, version, seq, deleted) VALUES (1, 'Patient', 'a', 1, 1, 0), (2, 'Patient', 'b', 2, 3, 1)`,
		`INSERT INTO version VALUES (1, 1, 'Patient', 1, 1000, 'POST', '{"resourceType":"Patient","id":"a"}'),
			(2, 2, 'Patient', 1, 1001, 'POST', '{"resourceType":"Patient","id":"b"}'), (3, 2, 'Patient', 2, 1002, 'DELETE', NULL)`,
		`INSERT INTO token VALUES (1, 'Patient', 'identifier', 'urn:s', 'a1')`,
		`PRAGMA user_version = 1`}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s := openTest(t, dir)
	defer s.Close()
	sys := "urn:s"
	q := &search.Query{Types: []fhir.ResourceType{"Patient"}, Count: 10, Total: search.TotalAccurate,
		Clauses: []search.Clause{{Param: "identifier", Type: search.TypeToken, Values: []search.Value{{System: &sys, Code: "a1"}}}}}
	res, err := s.Search(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Resources) != 1 || res.Resources[0].ID != "a" || res.Total != 1 {
		t.Fatalf("search by identifier after the migration: %v, total %d", res.Resources, res.Total)
	}
	lu := &search.Query{Types: []fhir.ResourceType{"Patient"}, Count: 10, Clauses: []search.Clause{{Param: "_lastUpdated",
		Type: search.TypeDate, Values: []search.Value{{Prefix: search.PrefixEq, DateLo: 1000, DateHi: 1001}}}}}
	if res, err := s.Search(t.Context(), lu); err != nil || len(res.Resources) != 1 {
		t.Fatalf("search by _lastUpdated after the migration: %v, %v", res, err)
	}
	checkCounts(t, s)
}

// TestSearchManyValues: clauses with hundreds of alternatives stay within
// SQLite's limits (depth of expressions, SELECTs of a compound).
func TestSearchManyValues(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	err := s.Write(ctx, func(tx engine.Tx) error {
		for i := range 10 {
			id := fhir.ID(fmt.Sprint("p", i))
			idx := &search.Index{
				Tokens:  []search.Token{{Param: "identifier", Code: fmt.Sprint(i)}},
				Strings: []search.String{{Param: "name", Value: fmt.Sprint("n", i), Exact: fmt.Sprint("n", i)}},
				Dates:   []search.Date{{Param: "birthdate", Lo: int64(i) * 10, Hi: int64(i)*10 + 10}},
			}
			if err := tx.Put(ctx, &fhir.Resource{Type: "Patient", ID: id, Version: 1, Method: fhir.MethodPost,
				LastUpdated: tx.Now(), Body: []byte(`{}`)}, idx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	clause := func(param string, typ search.ParamType, n int, value func(i int) search.Value) search.Clause {
		c := search.Clause{Param: param, Type: typ}
		for i := range n {
			c.Values = append(c.Values, value(i))
		}
		return c
	}
	cases := []search.Clause{
		clause("_id", search.TypeToken, 520, func(i int) search.Value { return search.Value{Code: fmt.Sprint("p", i%20)} }),
		clause("identifier", search.TypeToken, 520, func(i int) search.Value { return search.Value{Code: fmt.Sprint(i % 20)} }),
		clause("name", search.TypeString, 520, func(i int) search.Value { return search.Value{Text: fmt.Sprint("n", i%20)} }),
		clause("birthdate", search.TypeDate, 520, func(i int) search.Value {
			return search.Value{DateLo: int64(i%20) * 10, DateHi: int64(i%20)*10 + 10}
		}),
	}
	for _, c := range cases {
		for _, plan := range []string{"", "scan", "drive", "walk"} {
			forcedPlan.Store(map[string]int32{"scan": forceScan, "drive": forceDrive, "walk": forceWalk}[plan])
			res, err := s.Search(ctx, &search.Query{Types: []fhir.ResourceType{"Patient"}, Count: 100,
				Total: search.TotalAccurate, Clauses: []search.Clause{c}})
			forcedPlan.Store(forceNone)
			if err != nil {
				t.Fatalf("%s with %d values, plan %q: %v", c.Param, len(c.Values), plan, err)
			}
			if len(res.Resources) != 10 || res.Total != 10 {
				t.Errorf("%s with %d values, plan %q: %d resources, total %d; want 10", c.Param, len(c.Values), plan,
					len(res.Resources), res.Total)
			}
		}
	}
	// Ids bound their matches: planning a search by ids (a bulk load
	// looks up the current versions of its resources so) counts nothing.
	var res *engine.SearchResult
	stmts, _ := traced(func() {
		res, err = s.Search(ctx, &search.Query{Types: []fhir.ResourceType{"Patient"}, Count: 520,
			Total: search.TotalNone, Clauses: []search.Clause{cases[0]}})
	})
	if err != nil || len(res.Resources) != 10 {
		t.Fatalf("search by ids: %v, %d resources", err, len(res.Resources))
	}
	for _, q := range stmts {
		if strings.Contains(q, "count(") {
			t.Errorf("search by ids counted its matches:\n%s", q)
		}
	}
}

// TestCursorOfAnotherSearch: a cursor continues the search it came from
// only.
func TestCursorOfAnotherSearch(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	for i := range 3 {
		err := s.Write(ctx, func(tx engine.Tx) error {
			return tx.Put(ctx, &fhir.Resource{Type: "Patient", ID: fhir.ID(fmt.Sprint("p", i)), Version: 1,
				Method: fhir.MethodPost, LastUpdated: tx.Now(), Body: []byte(`{}`)}, &search.Index{})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	q := &search.Query{Types: []fhir.ResourceType{"Patient"}, Count: 1}
	res, err := s.Search(ctx, q)
	if err != nil || res.Next == "" {
		t.Fatalf("first page: %v, next %q", err, res.Next)
	}
	other := &search.Query{Types: []fhir.ResourceType{"Organization"}, Count: 1, Cursor: res.Next}
	if _, err := s.Search(ctx, other); !fhir.IsKind(err, fhir.KindInvalid) {
		t.Errorf("a Patient cursor in an Organization search: %v, want KindInvalid", err)
	}
	sorted := &search.Query{Types: []fhir.ResourceType{"Patient"}, Count: 1, Cursor: res.Next,
		Sort: []search.Sort{{Param: "_id", Type: search.TypeToken}}}
	if _, err := s.Search(ctx, sorted); !fhir.IsKind(err, fhir.KindInvalid) {
		t.Errorf("an unsorted cursor in a sorted search: %v, want KindInvalid", err)
	}
	q.Count = 5
	q.Cursor = res.Next
	if res, err := s.Search(ctx, q); err != nil || len(res.Resources) != 2 {
		t.Errorf("the same search with another page size: %v, %v", res, err)
	}
}

// tableScan matches a plan step that reads a whole table or index of the
// store rather than a range of it.
var tableScan = regexp.MustCompile(`^\s*SCAN (resource|version|token|string|date|number|quantity|ref|uri|comp|t\d+|r|w)\b`)

// TestMixPlansUseIndexes runs the benchmark's query mix on a small data set
// and checks that no statement reads a whole table: every step is an index
// search (or a scan of a subquery's rows).
func TestMixPlansUseIndexes(t *testing.T) {
	set := newBenchSet(30)
	dir := t.TempDir()
	if err := set.build(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	set.s = openTest(t, dir)
	defer set.s.Close()
	for name, stmts := range traceMix(t, set) {
		for _, stmt := range stmts {
			for _, line := range strings.Split(stmt, "\n") {
				if tableScan.MatchString(line) {
					t.Errorf("%s scans a table:\n%s", name, stmt)
				}
			}
		}
	}
}

// TestTokenUnionReadsOnce: a token clause on a union (Patient's telecom:
// telecom, email and phone) reads the rows of all its parts in one
// statement of the index, as for one parameter, and finds the values of
// each part.
func TestTokenUnionReadsOnce(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	err := s.Write(ctx, func(tx engine.Tx) error {
		for i := range 6 {
			param := []string{"phone", "email", "telecom"}[i%3]
			idx := &search.Index{Tokens: []search.Token{{Param: param, System: "phone", Code: fmt.Sprint("0", i)}}}
			if err := tx.Put(ctx, &fhir.Resource{Type: "Patient", ID: fhir.ID(fmt.Sprint("p", i)), Version: 1, Method: fhir.MethodPost,
				LastUpdated: tx.Now(), Body: []byte(`{}`)}, idx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sys := "phone"
	for _, tc := range []struct {
		name   string
		values []search.Value
		mod    search.Modifier
		want   int
	}{
		{"codes", []search.Value{{Code: "00"}, {Code: "01"}, {Code: "02"}}, search.ModNone, 3},
		{"system|code", []search.Value{{System: &sys, Code: "04"}, {System: &sys, Code: "05"}}, search.ModNone, 2},
		{"system|", []search.Value{{System: &sys}}, search.ModNone, 6},
		{"not", []search.Value{{Code: "00"}, {Code: "04"}}, search.ModNot, 4},
	} {
		var res *engine.SearchResult
		stmts, _ := traced(func() {
			res, err = s.Search(ctx, &search.Query{Types: []fhir.ResourceType{"Patient"}, Count: 10, Total: search.TotalAccurate,
				Clauses: []search.Clause{{Param: "telecom", Type: search.TypeToken, Modifier: tc.mod, Values: tc.values}}})
		})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(res.Resources) != tc.want {
			t.Errorf("%s: %d matches, want %d", tc.name, len(res.Resources), tc.want)
		}
		for _, q := range stmts {
			if n := strings.Count(q, "FROM token"); n > 1 {
				t.Errorf("%s: a statement reads the token index %d times:\n%s", tc.name, n, q)
			}
		}
	}
}
