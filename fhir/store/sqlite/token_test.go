package sqlite

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// putTokens stores an Observation whose code parameter has the given
// system|code values.
func putTokens(t *testing.T, s *Store, id fhir.ID, codes ...[2]string) {
	t.Helper()
	idx := &search.Index{}
	for _, c := range codes {
		idx.Tokens = append(idx.Tokens, search.Token{Param: "code", System: c[0], Code: c[1]})
	}
	putIndexed(t, s, "Observation", id, idx)
}

// codeSearch searches Observations by code with values written
// system|code ("|code" for no system, "code" for any system) and returns
// the ids found and the plans of the statements run.
func codeSearch(t *testing.T, s *Store, values ...string) (ids []string, plans []string) {
	t.Helper()
	var vals []search.Value
	for _, v := range values {
		if sys, code, ok := strings.Cut(v, "|"); ok {
			vals = append(vals, search.Value{System: &sys, Code: code})
		} else {
			vals = append(vals, search.Value{Code: v})
		}
	}
	var res *engine.SearchResult
	plans = tracedPlans(t, s, func() {
		var err error
		res, err = s.Search(t.Context(), &search.Query{Types: []fhir.ResourceType{"Observation"}, Count: 100,
			Clauses: []search.Clause{{Param: "code", Type: search.TypeToken, Values: vals}}})
		if err != nil {
			t.Fatal(err)
		}
	})
	for _, r := range res.Resources {
		ids = append(ids, string(r.ID))
	}
	slices.Sort(ids)
	return ids, plans
}

// TestTokenSystemCode: a code in a system is found through the index on
// codes alone (token_v, whose entries hold sv), never by reading the
// table, and only in its own system; a database of schema 3 loses its
// index on sv and answers the same.
func TestTokenSystemCode(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	defer func() { s.Close() }()
	putTokens(t, s, "a-x", [2]string{"http://a", "x"})
	putTokens(t, s, "b-x", [2]string{"http://b", "x"})
	putTokens(t, s, "none-x", [2]string{"", "x"})
	putTokens(t, s, "a-y", [2]string{"http://a", "y"})
	putTokens(t, s, "a-x-b-y", [2]string{"http://a", "x"}, [2]string{"http://b", "y"})
	// Many with other codes, so that a scan would not be the cheaper plan.
	for i := range 200 {
		putTokens(t, s, fhir.ID(fmt.Sprint("other", i)), [2]string{"http://a", fmt.Sprint("c", i)})
	}
	cases := []struct {
		values []string
		want   string
	}{
		{[]string{"http://a|x"}, "a-x,a-x-b-y"},
		{[]string{"http://b|x"}, "b-x"},
		{[]string{"|x"}, "none-x"},
		{[]string{"x"}, "a-x,a-x-b-y,b-x,none-x"},
		{[]string{"http://b|y"}, "a-x-b-y"},
		// Several values: the code of one in the system of another is no
		// match (a-x has a|x, which code=a|y,b|x does not ask for).
		{[]string{"http://a|y", "http://b|y"}, "a-x-b-y,a-y"},
		{[]string{"http://a|y", "http://b|x"}, "a-y,b-x"},
		{[]string{"http://c|x", "http://c|y"}, ""},
	}
	run := func(stage string) {
		t.Helper()
		for _, c := range cases {
			ids, plans := codeSearch(t, s, c.values...)
			if got := strings.Join(ids, ","); got != c.want {
				t.Errorf("%s: code=%s: %s, want %s", stage, strings.Join(c.values, ","), got, c.want)
			}
			for _, p := range plans {
				if !strings.Contains(p, "FROM token") {
					continue
				}
				if strings.Contains(p, "SCAN t") || !strings.Contains(p, "COVERING INDEX token_v") {
					t.Errorf("%s: code=%s: a statement does not search the code index alone:\n%s", stage, strings.Join(c.values, ","), p)
				}
			}
		}
	}
	run("schema 4")

	// A database of schema 3 has the index on sv, which the migration drops.
	s.Close()
	db, err := sql.Open("sqlite", "file:"+dir+"/"+DBFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`CREATE INDEX token_sv ON token (sv, rid)`, `CREATE INDEX comp_sv ON comp (sv, rid) WHERE sv IS NOT NULL`, `DROP TABLE deferred_index`, `DROP TABLE index_queue`, `PRAGMA user_version = 3`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s = openTest(t, dir)
	var n int
	if err := s.r.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_schema WHERE name IN ('token_sv', 'comp_sv')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("after the migration, %d indexes on sv are left", n)
	}
	run("after the migration")
}
