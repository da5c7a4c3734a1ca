package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
)

// TestBackgroundCheckpoint: the pages that commits append to the log
// reach the database file without the writer checkpointing (it does only
// past walBackstop pages, which these writes stay under), and the data
// reads back the same from a store opened afresh.
func TestBackgroundCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ctx := context.Background()
	const n = 60
	for i := range n {
		if err := put(ctx, s, fhir.ID(fmt.Sprint("p", i))); err != nil {
			t.Fatal(err)
		}
	}
	var pages, size int64
	if err := s.w.QueryRowContext(ctx, `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	var wal int64
	if fi, err := os.Stat(filepath.Join(dir, DBFile+"-wal")); err == nil {
		wal = fi.Size()
	}
	if wal/4096 >= walBackstop {
		t.Fatalf("the writes filled %d bytes of log: past the writer's own checkpoint, the test shows nothing", wal)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		fi, err := os.Stat(filepath.Join(dir, DBFile))
		if err != nil {
			t.Fatal(err)
		}
		if size = fi.Size(); size >= pages || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if size < pages {
		t.Fatalf("database file %d bytes, the database %d: the log was not checkpointed", size, pages)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir)
	defer s.Close()
	for i := range n {
		r, err := s.Read(ctx, "Patient", fhir.ID(fmt.Sprint("p", i)))
		if err != nil || r.Version != 1 {
			t.Fatalf("Patient/p%d after reopening: %v", i, err)
		}
	}
}
