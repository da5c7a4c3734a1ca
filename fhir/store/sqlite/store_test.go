package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/fhir/store/sqlite"
	"github.com/cpms-fhir/cpms/fhir/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// open opens the store in dir and fails the test if it cannot.
func open(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), dir, sqlite.Options{Logger: quiet})
	if err != nil {
		t.Fatalf("Open %s: %v", dir, err)
	}
	return s
}

// TestContract runs the store contract suite, skipping nothing.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) engine.Store { return open(t, t.TempDir()) })
}

// TestContractPlans runs the search part of the contract suite with each
// kind of plan forced wherever it applies, so that every clause is
// checked through each of its paths (tested on a resource, listed from an
// index, walked in order), whatever the planner would choose on the
// suite's small data.
func TestContractPlans(t *testing.T) {
	for _, p := range []string{"scan", "drive", "walk", "group"} {
		t.Run(p, func(t *testing.T) {
			defer sqlite.ForcePlan(p)()
			storetest.Run(t, func(t *testing.T) engine.Store { return open(t, t.TempDir()) },
				storetest.Options{Groups: []string{"Search"}})
		})
	}
}

// put writes r with idx in a transaction of its own, stamped with the
// transaction's time, and returns r.
func put(t *testing.T, s engine.Store, r *fhir.Resource, idx *search.Index) *fhir.Resource {
	t.Helper()
	err := s.Write(t.Context(), func(tx engine.Tx) error {
		if r.LastUpdated.IsZero() {
			r.LastUpdated = tx.Now()
		}
		return tx.Put(t.Context(), r, idx)
	})
	if err != nil {
		t.Fatalf("Write %s: %v", r.Ref(), err)
	}
	return r
}

// putPatient writes version v of Patient/id with identifier urn:s|code in
// a transaction of its own and returns it.
func putPatient(t *testing.T, s engine.Store, id fhir.ID, v int64, code string) *fhir.Resource {
	t.Helper()
	r, idx := patient(id, v, code)
	return put(t, s, r, idx)
}

// patient returns version v of Patient/id with one identifier urn:s|code.
func patient(id fhir.ID, v int64, code string) (*fhir.Resource, *search.Index) {
	body := `{"resourceType":"Patient","id":"` + string(id) + `","identifier":[{"system":"urn:s","value":"` + code + `"}]}`
	return &fhir.Resource{Type: "Patient", ID: id, Version: v, Method: fhir.MethodPut, Body: []byte(body)},
		&search.Index{Tokens: []search.Token{{Param: "identifier", System: "urn:s", Code: code}}}
}

// snapshot is what a store holds, as its readers see it.
type snapshot struct {
	history []*fhir.Resource
	current map[fhir.ID]*fhir.Resource
	found   []fhir.ID // Patients with an identifier in urn:s
}

func take(t *testing.T, s engine.Store, ids ...fhir.ID) snapshot {
	t.Helper()
	page, err := s.History(t.Context(), engine.HistoryQuery{Count: 1000})
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	snap := snapshot{history: page.Versions, current: map[fhir.ID]*fhir.Resource{}}
	for _, id := range ids {
		r, err := s.Read(t.Context(), "Patient", id)
		if err != nil {
			t.Fatalf("Read %s: %v", id, err)
		}
		snap.current[id] = r
	}
	sys := "urn:s"
	found, err := s.Search(t.Context(), &search.Query{Types: []fhir.ResourceType{"Patient"}, Count: 1000,
		Clauses: []search.Clause{{Param: "identifier", Type: search.TypeToken, Values: []search.Value{{System: &sys}}}}})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	for _, r := range found.Resources {
		snap.found = append(snap.found, r.ID)
	}
	return snap
}

// same fails the test unless got and want describe the same stored data.
func same(t *testing.T, what string, got, want snapshot) {
	t.Helper()
	if len(got.history) != len(want.history) {
		t.Fatalf("%s: history of %d versions, want %d", what, len(got.history), len(want.history))
	}
	for i, g := range got.history {
		sameResource(t, what+": history", g, want.history[i])
	}
	for id, w := range want.current {
		sameResource(t, what+": Read", got.current[id], w)
	}
	if strings.Join(ids(got.found), ",") != strings.Join(ids(want.found), ",") {
		t.Errorf("%s: search finds %v, want %v", what, got.found, want.found)
	}
}

func ids(in []fhir.ID) []string {
	out := make([]string, len(in))
	for i, id := range in {
		out[i] = string(id)
	}
	return out
}

func sameResource(t *testing.T, what string, got, want *fhir.Resource) {
	t.Helper()
	if got == nil || got.Type != want.Type || got.ID != want.ID || got.Version != want.Version ||
		got.Deleted != want.Deleted || got.Method != want.Method || !got.LastUpdated.Equal(want.LastUpdated) ||
		string(got.Body) != string(want.Body) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}

// TestReopenKeepsData checks that everything written is there after the
// store is closed and opened again on the same directory.
func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	putPatient(t, s, "a", 1, "a1")
	putPatient(t, s, "a", 2, "a2")
	putPatient(t, s, "b", 1, "b1")
	put(t, s, &fhir.Resource{Type: "Patient", ID: "b", Version: 2, Method: fhir.MethodDelete, Deleted: true}, nil)
	putPatient(t, s, "c", 1, "c1")
	before := take(t, s, "a", "b", "c")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = open(t, dir)
	defer s.Close()
	same(t, "after reopening", take(t, s, "a", "b", "c"), before)
	if _, err := s.VRead(t.Context(), "Patient", "a", 1); err != nil {
		t.Errorf("VRead after reopening: %v", err)
	}
}

// TestSecondOpenFails checks that a directory open in one store cannot be
// opened by another, with an error saying it is in use, and can be once
// the first store is closed.
func TestSecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	second, err := sqlite.Open(t.Context(), dir, sqlite.Options{Logger: quiet})
	if err == nil {
		second.Close()
		t.Fatal("a second Open of a directory in use succeeded")
	}
	if !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), dir) {
		t.Errorf("second Open: %q, want an error saying %s is in use", err, dir)
	}
	// The failed Open must leave the first store working.
	putPatient(t, s, "a", 1, "a1")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = open(t, dir)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// TestReopenContinuesOrder checks that after a reopen new versions come
// after the stored ones: lastUpdated not before theirs, even when the
// stored ones were stamped ahead of the clock, and history newest first.
func TestReopenContinuesOrder(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	putPatient(t, s, "a", 1, "a1")
	ahead, idx := patient("b", 1, "b1")
	ahead.LastUpdated = time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	put(t, s, ahead, idx)
	before := take(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = open(t, dir)
	defer s.Close()
	a2 := putPatient(t, s, "a", 2, "a2")
	c1 := putPatient(t, s, "c", 1, "c1")
	if a2.LastUpdated.Before(ahead.LastUpdated) {
		t.Errorf("a version written after reopening has lastUpdated %v, before the stored %v", a2.LastUpdated, ahead.LastUpdated)
	}
	after := take(t, s)
	want := append([]*fhir.Resource{c1, a2}, before.history...)
	if len(after.history) != len(want) {
		t.Fatalf("history after reopening: %d versions, want %d", len(after.history), len(want))
	}
	for i := range want {
		sameResource(t, "history after reopening", after.history[i], want[i])
	}
	// Paging goes through the old and the new versions alike.
	page, err := s.History(t.Context(), engine.HistoryQuery{Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	rest, err := s.History(t.Context(), engine.HistoryQuery{Count: 2, Cursor: page.Next})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.Versions) != 2 || rest.Next != "" {
		t.Fatalf("second page: %d versions, next %q", len(rest.Versions), rest.Next)
	}
	sameResource(t, "second page", rest.Versions[0], want[2])
	sameResource(t, "second page", rest.Versions[1], want[3])
}

// TestNewerSchemaRefused checks that a database of a newer schema than the
// server's is refused, and that the refused Open releases the directory.
func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	putPatient(t, s, "a", 1, "a1")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	current := userVersion(t, dir)
	setUserVersion(t, dir, 99)
	if s, err := sqlite.Open(t.Context(), dir, sqlite.Options{Logger: quiet}); err == nil {
		s.Close()
		t.Fatal("Open of a database of schema 99 succeeded")
	} else if !strings.Contains(err.Error(), "schema version 99") {
		t.Errorf("Open of a database of schema 99: %v", err)
	}
	setUserVersion(t, dir, current)
	s = open(t, dir)
	defer s.Close()
	if _, err := s.Read(t.Context(), "Patient", "a"); err != nil {
		t.Errorf("Read: %v", err)
	}
}

func userVersion(t *testing.T, dir string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func setUserVersion(t *testing.T, dir string, v int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
		t.Fatal(err)
	}
}

// TestCanceledWrite checks that a transaction whose context is canceled
// commits nothing and leaves the store usable.
func TestCanceledWrite(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	err := s.Write(ctx, func(tx engine.Tx) error {
		r, idx := patient("a", 1, "a1")
		r.LastUpdated = tx.Now()
		if err := tx.Put(ctx, r, idx); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if err == nil {
		// The commit may have won the race with the cancellation; then
		// the write must be whole.
		if _, err := s.Read(t.Context(), "Patient", "a"); err != nil {
			t.Fatalf("Write succeeded but Read fails: %v", err)
		}
	} else {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Write with a canceled context: %v, want context.Canceled", err)
		}
		if _, err := s.Read(t.Context(), "Patient", "a"); !fhir.IsKind(err, fhir.KindNotFound) {
			t.Errorf("Read after a canceled write: %v, want KindNotFound", err)
		}
	}
	r := putPatient(t, s, "b", 1, "b1")
	if got, err := s.Read(t.Context(), "Patient", "b"); err != nil || got.Version != r.Version {
		t.Errorf("Read after the next write: %v, %v", got, err)
	}
}
