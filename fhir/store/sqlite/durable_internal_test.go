package sqlite

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// heldSyncs replaces the store's sync of the log with one that waits for
// a value on release (nil: sync the log, else fail with it), or for the
// end of the test, and reports each call on calls.
func heldSyncs(t *testing.T, s *Store) (calls chan struct{}, release chan error) {
	calls, release = make(chan struct{}, 100), make(chan error)
	real, done := s.sync.syncLog, t.Context().Done()
	s.sync.mu.Lock()
	s.sync.syncFn = func() error {
		calls <- struct{}{}
		select {
		case err := <-release:
			if err != nil {
				return err
			}
		case <-done:
		}
		return real()
	}
	s.sync.mu.Unlock()
	return calls, release
}

func putPatient(ctx context.Context, s *Store, id fhir.ID) error {
	return s.Write(ctx, func(tx engine.Tx) error {
		r := &fhir.Resource{Type: "Patient", ID: id, Version: 1, Method: fhir.MethodPut, LastUpdated: tx.Now(), Body: []byte(`{}`)}
		return tx.Put(ctx, r, &search.Index{})
	})
}

// returned reports whether ch delivers within a short while.
func returned[T any](ch <-chan T) (T, bool) {
	select {
	case v := <-ch:
		return v, true
	case <-time.After(200 * time.Millisecond):
		var zero T
		return zero, false
	}
}

// A write is answered only once the log is synced after its commit, and
// a read that finds what it wrote waits for that sync too; the next write
// runs on the write connection meanwhile.
func TestWritesAndReadsWaitForTheSync(t *testing.T) {
	s := tempStore(t)
	ctx := t.Context()
	calls, release := heldSyncs(t, s)
	g0 := s.sync.begun.Load() // the commits of Open

	wrote := make(chan error, 1)
	go func() { wrote <- putPatient(ctx, s, "a") }()
	if _, ok := returned(calls); !ok {
		t.Fatal("no sync of the log began after a commit")
	}
	if err, ok := returned(wrote); ok {
		t.Fatalf("the write returned (%v) before the log was synced", err)
	}
	// The commit is visible: a read finds it, but answers after the sync.
	read := make(chan error, 1)
	go func() {
		_, err := s.Read(ctx, "Patient", "a")
		read <- err
	}()
	if err, ok := returned(read); ok {
		t.Fatalf("a read of the unsynced write returned (%v) before the sync", err)
	}
	// Another write commits while the sync is under way.
	second := make(chan error, 1)
	go func() { second <- putPatient(ctx, s, "b") }()
	deadline := time.Now().Add(5 * time.Second)
	for s.sync.begun.Load() < g0+2 || s.sync.synced.Load() != g0 {
		if time.Now().After(deadline) {
			t.Fatalf("the second write did not commit during the first sync (begun %d, synced %d)", s.sync.begun.Load(), s.sync.synced.Load())
		}
		time.Sleep(time.Millisecond)
	}
	release <- nil
	for name, ch := range map[string]chan error{"write": wrote, "read": read} {
		if err, ok := returned(ch); !ok || err != nil {
			t.Fatalf("after the sync the %s returned %v, %v", name, ok, err)
		}
	}
	if err, ok := returned(second); ok {
		t.Fatalf("the second write returned (%v) before a sync after its commit", err)
	}
	if _, ok := returned(calls); !ok {
		t.Fatal("no second sync")
	}
	release <- nil
	if err, ok := returned(second); !ok || err != nil {
		t.Fatalf("after the second sync the write returned %v, %v", ok, err)
	}
	// With nothing left to sync, reads do not wait.
	if _, err := s.Read(ctx, "Patient", "b"); err != nil {
		t.Fatal(err)
	}
}

// When the log cannot be synced, the writes waiting for it fail, and so
// do later writes and reads of what may not be durable: a client is never
// told of a commit that may be lost.
func TestFailedSyncStopsTheStore(t *testing.T) {
	s := tempStore(t)
	ctx := t.Context()
	if err := putPatient(ctx, s, "before"); err != nil {
		t.Fatal(err)
	}
	calls, release := heldSyncs(t, s)
	wrote := make(chan error, 1)
	go func() { wrote <- putPatient(ctx, s, "a") }()
	if _, ok := returned(calls); !ok {
		t.Fatal("no sync of the log began after a commit")
	}
	release <- errors.New("input/output error")
	err, ok := returned(wrote)
	if !ok || !fhir.IsKind(err, fhir.KindInternal) {
		t.Fatalf("the write waiting for a failed sync returned %v, %v; want an internal error", ok, err)
	}
	if err := putPatient(ctx, s, "b"); !fhir.IsKind(err, fhir.KindInternal) {
		t.Fatalf("a write after a failed sync returned %v; want an internal error", err)
	}
	if _, err := s.Read(ctx, "Patient", "before"); !fhir.IsKind(err, fhir.KindInternal) {
		t.Fatalf("a read after a failed sync returned %v; want an internal error", err)
	}
}

// Close syncs what was committed and answers the writes that wait.
func TestCloseAnswersWaitingWrites(t *testing.T) {
	s := tempStore(t)
	calls, release := heldSyncs(t, s)
	wrote := make(chan error, 1)
	go func() { wrote <- putPatient(context.Background(), s, "a") }()
	if _, ok := returned(calls); !ok {
		t.Fatal("no sync of the log began after a commit")
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	release <- nil
	if err, ok := returned(wrote); !ok || err != nil {
		t.Fatalf("the write returned %v, %v", ok, err)
	}
	if err, ok := returned(closed); !ok || err != nil {
		t.Fatalf("Close returned %v, %v", ok, err)
	}
}

// The syncer syncs the file at the log's path: when the file there is
// replaced, it opens the new one.
func TestSyncLogFollowsTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "db-wal")
	l := newLogSyncer(path, slog.New(slog.DiscardHandler))
	defer l.close()
	if err := l.syncLog(); err != nil || l.f != nil {
		t.Fatalf("without a log: %v, file %v", err, l.f)
	}
	if err := os.WriteFile(path, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := l.syncLog(); err != nil || l.f == nil {
		t.Fatalf("with a log: %v, file %v", err, l.f)
	}
	first := l.f
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := l.syncLog(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	cur, _ := l.f.Stat()
	if l.f == first || !os.SameFile(fi, cur) {
		t.Fatal("the syncer kept the replaced file")
	}
}
