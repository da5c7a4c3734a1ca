package sqlite

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
)

// indexSQL returns the definitions of the indexes of the value tables,
// by name.
func indexSQL(t *testing.T, s *Store) map[string]string {
	t.Helper()
	rows, err := s.w.QueryContext(t.Context(), `SELECT name, sql FROM sqlite_schema
		WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('`+strings.Join(valueTables, "', '")+`')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		out[name] = def
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeferIndexes: a bulk load into a store smaller than it drops the
// value-ordered indexes and keeps those by rid; searches answer the same
// all along, rows written meanwhile are found through the indexes built
// at the end, and a store closed before the end builds them when it next
// opens. A store larger than the load keeps its indexes.
func TestDeferIndexes(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	defer func() { s.Close() }()
	for i := range 100 {
		putTokens(t, s, fhir.ID(fmt.Sprint("before", i)), [2]string{"http://a", fmt.Sprint("c", i%10)})
	}
	all := indexSQL(t, s)
	want, _ := codeSearch(t, s, "http://a|c3")
	if len(want) != 10 {
		t.Fatalf("before: %d found, want 10", len(want))
	}

	if ok, err := s.DeferIndexes(t.Context(), 1000); err != nil || ok {
		t.Fatalf("a load smaller than the store: deferred %v, %v", ok, err)
	}
	if got := indexSQL(t, s); len(got) != len(all) {
		t.Fatalf("a load smaller than the store dropped indexes: %d of %d left", len(got), len(all))
	}

	if ok, err := s.DeferIndexes(t.Context(), 1<<30); err != nil || !ok {
		t.Fatalf("a load larger than the store: deferred %v, %v", ok, err)
	}
	left := indexSQL(t, s)
	for name, def := range all {
		byRid := strings.Contains(def, "(rid")
		if _, kept := left[name]; kept != byRid {
			t.Errorf("index %s (%s): kept %v", name, def, kept)
		}
	}
	if _, kept := left["token_v"]; kept {
		t.Fatal("token_v kept")
	}
	// Searched from the table meanwhile.
	ids, plans := codeSearch(t, s, "http://a|c3")
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("indexes deferred: %v, want %v", ids, want)
	}
	if !strings.Contains(strings.Join(plans, "\n"), "token") {
		t.Errorf("no plan reads the tokens: %v", plans)
	}
	for i := range 20 {
		putTokens(t, s, fhir.ID(fmt.Sprint("during", i)), [2]string{"http://a", fmt.Sprint("c", i%10)})
	}
	// A second deferral (a load that did not end) finds nothing to drop.
	if ok, err := s.DeferIndexes(t.Context(), 1<<30); err != nil || ok {
		t.Fatalf("deferring again: %v, %v", ok, err)
	}

	// Closed before the end: the next Open builds them.
	s.Close()
	s = openTest(t, dir)
	got := indexSQL(t, s)
	if len(got) != len(all) {
		t.Fatalf("after reopening: %d indexes, want %d", len(got), len(all))
	}
	for name, def := range all {
		if got[name] != def {
			t.Errorf("index %s rebuilt as %q, want %q", name, got[name], def)
		}
	}
	var pending int
	if err := s.w.QueryRowContext(t.Context(), `SELECT count(*) FROM deferred_index`).Scan(&pending); err != nil || pending != 0 {
		t.Fatalf("deferred_index after the build: %d rows, %v", pending, err)
	}
	ids, plans = codeSearch(t, s, "http://a|c3")
	if len(ids) != 12 || ids[0] != "before13" || !strings.Contains(strings.Join(ids, ","), "during3") {
		t.Errorf("after the build: %v", ids)
	}
	if p := strings.Join(plans, "\n"); !strings.Contains(p, "COVERING INDEX token_v") {
		t.Errorf("after the build, the search does not use token_v:\n%s", p)
	}

	// The same through BuildIndexes, in the process that loads.
	if ok, err := s.DeferIndexes(t.Context(), 1<<30); err != nil || !ok {
		t.Fatalf("deferring again: %v, %v", ok, err)
	}
	if err := s.BuildIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := indexSQL(t, s); len(got) != len(all) {
		t.Fatalf("after BuildIndexes: %d indexes, want %d", len(got), len(all))
	}
	if err := s.BuildIndexes(t.Context()); err != nil {
		t.Fatalf("nothing left to build: %v", err)
	}
}
