package sqlite

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// withoutIndexer stops the store's indexer, so that only writes and
// searches drain the queue.
func withoutIndexer(s *Store) { s.stopIndexing() }

// queueLen counts the queue's entries in the database.
func queueLen(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.w.QueryRow(`SELECT count(*) FROM index_queue`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// putFamily writes version v of Patient/id with the family name family
// (a deletion when family is "").
func putFamily(ctx context.Context, s *Store, id fhir.ID, v int64, family string) error {
	return s.Write(ctx, func(tx engine.Tx) error {
		r := &fhir.Resource{Type: "Patient", ID: id, Version: v, Method: fhir.MethodPut, LastUpdated: tx.Now(), Body: []byte(`{}`)}
		if family == "" {
			r.Deleted, r.Method = true, fhir.MethodDelete
			return tx.Put(ctx, r, nil)
		}
		return tx.Put(ctx, r, &search.Index{Strings: []search.String{{Param: "family", Value: search.Fold(family), Exact: family}},
			Tokens: []search.Token{{Param: "gender", Code: "other"}}})
	})
}

// findFamily returns the ids of the Patients with family name family.
func findFamily(t *testing.T, s *Store, family string) []fhir.ID {
	t.Helper()
	res, err := s.Search(t.Context(), &search.Query{Types: []fhir.ResourceType{"Patient"}, Count: 100,
		Clauses: []search.Clause{{Param: "family", Type: search.TypeString, Modifier: search.ModExact,
			Values: []search.Value{{Text: family}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []fhir.ID
	for _, r := range res.Resources {
		ids = append(ids, r.ID)
	}
	return ids
}

// The values a crash left queued reach the index when the store opens
// again: the new ones are found, those replaced or deleted are not.
func TestQueueSurvivesACrash(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := openTest(t, dir)
	withoutIndexer(s)
	for _, w := range []struct {
		id     fhir.ID
		v      int64
		family string
	}{{"kept", 1, "Kept"}, {"renamed", 1, "Before"}, {"gone", 1, "Gone"}} {
		if err := putFamily(ctx, s, w.id, w.v, w.family); err != nil {
			t.Fatal(err)
		}
	}
	// A search drains the queue: "renamed" and "gone" have rows now.
	if got := findFamily(t, s, "Gone"); len(got) != 1 {
		t.Fatalf("Gone before the crash: %v", got)
	}
	if n := queueLen(t, s); n != 0 {
		t.Fatalf("%d entries queued after a search, want none", n)
	}
	for _, w := range []struct {
		id     fhir.ID
		v      int64
		family string
	}{{"renamed", 2, "After"}, {"gone", 2, ""}, {"new", 1, "New"}, {"new", 2, "Newer"}} {
		if err := putFamily(ctx, s, w.id, w.v, w.family); err != nil {
			t.Fatal(err)
		}
	}
	if n := queueLen(t, s); n != 4 {
		t.Fatalf("%d entries queued, want 4", n)
	}
	// A crash: the databases closed with nothing drained.
	if err := s.closeAll(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, dir)
	defer s.Close()
	if n := queueLen(t, s); n != 0 {
		t.Fatalf("%d entries queued after opening, want none", n)
	}
	for family, want := range map[string]string{"Kept": "kept", "Before": "", "After": "renamed", "Gone": "", "New": "", "Newer": "new"} {
		got := findFamily(t, s, family)
		if (want == "" && len(got) != 0) || (want != "" && (len(got) != 1 || got[0] != fhir.ID(want))) {
			t.Errorf("family %s found %v, want %q", family, got, want)
		}
	}
	checkCounts(t, s)
}

// A group of writes that leaves the queue at its limit has it drained
// before the next group runs; below the limit, entries stay queued until a
// search.
func TestGroupDrainsTheQueueAtItsLimit(t *testing.T) {
	ctx := t.Context()
	s := tempStore(t)
	withoutIndexer(s)
	s.queueLimit = 3
	for i, id := range []fhir.ID{"a", "b"} {
		if err := putFamily(ctx, s, id, 1, "F"); err != nil {
			t.Fatal(err)
		}
		if n := queueLen(t, s); n != i+1 {
			t.Fatalf("after %d writes, %d entries queued", i+1, n)
		}
	}
	if err := putFamily(ctx, s, "c", 1, "F"); err != nil {
		t.Fatal(err)
	}
	// The drain runs after the write is answered, holding the writer.
	s.writer <- struct{}{}
	<-s.writer
	if n := queueLen(t, s); n != 0 || s.queued.Load() != 0 {
		t.Fatalf("at the limit, %d entries queued (%d counted), want none", n, s.queued.Load())
	}
	// Read straight from the read pool: the rows are in the tables.
	res, err, ok := s.searchSnapshot(ctx, &search.Query{Types: []fhir.ResourceType{"Patient"}, Count: 10,
		Clauses: []search.Clause{{Param: "family", Type: search.TypeString, Values: []search.Value{{Text: "F"}}}}}, true)
	if err != nil || !ok || len(res.Resources) != 3 {
		t.Fatalf("search of the read pool: %v, %v, ok %v", res, err, ok)
	}
	checkCounts(t, s)
}

// Once writes pause, the indexer drains the queue.
func TestIndexerDrainsWhenWritesPause(t *testing.T) {
	ctx := t.Context()
	s := tempStore(t)
	if err := putFamily(ctx, s, "a", 1, "F"); err != nil {
		t.Fatal(err)
	}
	// The count of queued entries is set once the drain has committed,
	// so a moment after the table is seen empty.
	deadline := time.Now().Add(10 * time.Second)
	for queueLen(t, s) > 0 || s.queued.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the last write, %d entries queued and %d counted", queueLen(t, s), s.queued.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Close drains the queue: a store closed cleanly leaves nothing queued.
func TestCloseDrainsTheQueue(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	withoutIndexer(s)
	if err := putFamily(t.Context(), s, "a", 1, "F"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir)
	defer s.Close()
	withoutIndexer(s)
	if n := queueLen(t, s); n != 0 {
		t.Errorf("%d entries queued after a clean close", n)
	}
}

// Every kind of value survives the queue's encoding as it was given.
func TestQueueEncoding(t *testing.T) {
	rows := map[string][][]any{
		"quantity": {{int64(7), int64(-3), 1.5, 2.5, "http://unitsofmeasure.org", "mg", "mg", nil, nil, nil, 3},
			{int64(7), int64(1 << 62), -0.0, 1e300, "", "", "", "g", 0.0015, 0.0025, 0}},
		"string": {{int64(7), int64(5), "ä", "Ä\x00b", 1}},
	}
	var e entryRows
	for _, table := range []string{"quantity", "string"} {
		if err := e.add(table, rows[table]); err != nil {
			t.Fatal(err)
		}
	}
	tables := make([][][]any, len(valueTables))
	if err := decodeRows(e.buf, 7, tables); err != nil {
		t.Fatal(err)
	}
	for i, table := range valueTables {
		want := rows[table]
		if len(tables[i]) != len(want) {
			t.Fatalf("%s: %d rows, want %d", table, len(tables[i]), len(want))
		}
		for j, r := range tables[i] {
			for c, v := range r {
				w := want[j][c]
				if n, ok := w.(int); ok {
					w = int64(n)
				}
				if v != w {
					t.Errorf("%s row %d column %d: %#v, want %#v", table, j, c, v, w)
				}
			}
		}
	}
	// An entry cut anywhere but between two tables' rows is corrupt.
	var first entryRows
	if err := first.add("quantity", rows["quantity"]); err != nil {
		t.Fatal(err)
	}
	for cut := 1; cut < len(e.buf); cut++ {
		err := decodeRows(e.buf[:cut], 7, make([][][]any, len(valueTables)))
		if (err == nil) != (cut == len(first.buf)) {
			t.Errorf("entry cut after %d of %d bytes: %v", cut, len(e.buf), err)
		}
	}
	if err := decodeRows([]byte{byte(len(valueTables))}, 7, tables); err == nil {
		t.Error("an entry of an unknown table decoded")
	}
	if err := decodeRows([]byte{0, 1, 1, 9}, 7, tables); err == nil {
		t.Error("an entry with an unknown value tag decoded")
	}
}

// A search on _id and _lastUpdated alone reads the resource table, which
// every committed write is in: it runs on the read pool and leaves the
// queue; a search on a value drains it first.
func TestSearchesOfTheResourceTableLeaveTheQueue(t *testing.T) {
	ctx := t.Context()
	s := tempStore(t)
	withoutIndexer(s)
	for _, id := range []fhir.ID{"a", "b"} {
		if err := putFamily(ctx, s, id, 1, "F"); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []*search.Query{
		{Types: []fhir.ResourceType{"Patient"}, Count: 10, Total: search.TotalAccurate},
		{Types: []fhir.ResourceType{"Patient"}, Count: 10, Clauses: []search.Clause{{Param: "_id", Type: search.TypeToken, Values: []search.Value{{Code: "a"}, {Code: "b"}}}}},
		{Types: []fhir.ResourceType{"Patient"}, Count: 10, Sort: []search.Sort{{Param: "_lastUpdated", Type: search.TypeDate, Desc: true}},
			Clauses: []search.Clause{{Param: "_lastUpdated", Type: search.TypeDate, Values: []search.Value{{Prefix: search.PrefixGe, DateLo: 946684800000, DateHi: 946771200000}}}}},
	} {
		res, err := s.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Resources) != 2 {
			t.Errorf("%+v: found %d resources, want 2", q, len(res.Resources))
		}
		if n := queueLen(t, s); n != 2 {
			t.Fatalf("%+v: %d entries queued after the search, want 2", q, n)
		}
	}
	if got := findFamily(t, s, "F"); len(got) != 2 {
		t.Errorf("family F: %v", got)
	}
	if n := queueLen(t, s); n != 0 {
		t.Errorf("%d entries queued after a search by family, want none", n)
	}
}

// A search that needed a drain runs after the writer is free again: a
// write made while it runs commits without waiting for it, and the search
// answers from the snapshot it began with, without that write.
func TestSearchAfterADrainLeavesTheWriter(t *testing.T) {
	ctx := t.Context()
	s := tempStore(t)
	withoutIndexer(s)
	if err := putFamily(ctx, s, "before", 1, "Same"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	hook := func(string, []any) {
		once.Do(func() {
			done := make(chan error, 1)
			go func() { done <- putFamily(ctx, s, "during", 1, "Same") }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("the write during the search: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("a write waited for a search to end")
			}
		})
	}
	traceSQL.Store(&hook)
	got := findFamily(t, s, "Same")
	traceSQL.Store(nil)
	if !slices.Equal(got, []fhir.ID{"before"}) {
		t.Errorf("the search found %v, want [before]: its snapshot is the state after the drain", got)
	}
	if got := findFamily(t, s, "Same"); len(got) != 2 {
		t.Errorf("the next search found %v, want both", got)
	}
}

// A search whose client went away still drains the queue it found, so
// that the searches after it need not.
func TestDrainOutlivesItsSearch(t *testing.T) {
	ctx := t.Context()
	s := tempStore(t)
	withoutIndexer(s)
	if err := putFamily(ctx, s, "a", 1, "F"); err != nil {
		t.Fatal(err)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	s.writer <- struct{}{}
	_, err := s.drainAndPin(gone)
	s.release()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("the search of a client gone: %v, want its context's error", err)
	}
	if n := queueLen(t, s); n != 0 {
		t.Errorf("%d entries queued after the drain of a search whose client went away", n)
	}
}

// A drain that fails is rolled back whole: the search that needed it
// fails, and the queue and the value tables stay as they were.
func TestFailedDrainChangesNothing(t *testing.T) {
	ctx := t.Context()
	s := tempStore(t)
	withoutIndexer(s)
	if err := putFamily(ctx, s, "a", 1, "Old"); err != nil {
		t.Fatal(err)
	}
	if got := findFamily(t, s, "Old"); len(got) != 1 {
		t.Fatalf("Old: %v", got)
	}
	if err := putFamily(ctx, s, "a", 2, "New"); err != nil {
		t.Fatal(err)
	}
	// An entry that does not decode, after the one that replaces a's rows.
	if _, err := s.w.Exec(`INSERT INTO index_queue (rid, fresh, rows) VALUES (12345, 0, x'ff')`); err != nil {
		t.Fatal(err)
	}
	rows := dump(t, s, `SELECT rid, count(*) FROM string GROUP BY rid`)
	_, err := s.Search(ctx, &search.Query{Types: []fhir.ResourceType{"Patient"}, Count: 10,
		Clauses: []search.Clause{{Param: "family", Type: search.TypeString, Values: []search.Value{{Text: "New"}}}}})
	if !fhir.IsKind(err, fhir.KindInternal) {
		t.Fatalf("search over a corrupt queue: %v, want an internal error", err)
	}
	if n := queueLen(t, s); n != 2 {
		t.Errorf("%d entries queued after the failed drain, want 2", n)
	}
	if got := dump(t, s, `SELECT rid, count(*) FROM string GROUP BY rid`); got != rows {
		t.Errorf("string rows after the failed drain: %s, want %s", got, rows)
	}
}
