package mongo

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/cpms-fhir/cpms/internal/ferret"
)

// TestSharedWaitsWithoutLocking: writers that come while a transaction
// holds the commit lock exclusively wait without taking it shared, even
// for a moment (an exclusive holder waiting for the shared locks to end
// would see those moments, and writers retrying in step could keep it
// waiting for ever); they take it once the holder is done.
func TestSharedWaitsWithoutLocking(t *testing.T) {
	f := ferret.Start(t)
	ctx := t.Context()
	s, err := Open(ctx, f.URI(), Options{Logger: slog.New(slog.DiscardHandler), Database: "locks"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.lockExclusive(ctx, "holder"); err != nil {
		t.Fatal(err)
	}
	const writers = 4
	var wg sync.WaitGroup
	got := make(chan []string, writers)
	for i := range writers {
		wg.Go(func() {
			held, err := s.lockShared(ctx, "writer"+string(rune('a'+i)))
			if err != nil {
				t.Error(err)
			}
			got <- held
		})
	}
	// For a while, as the holder would, look for shared locks: none.
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		n, err := s.locks.CountDocuments(ctx, bson.D{{Key: "kind", Value: lockShared}})
		if err != nil {
			t.Error(err)
			break
		}
		if n > 0 || len(got) > 0 {
			t.Errorf("%d shared locks taken, %d writers done, while the commit lock is held exclusively", n, len(got))
			break
		}
	}
	s.unlock([]string{commitLock})
	wg.Wait()
	close(got)
	for held := range got {
		if len(held) != 1 {
			t.Errorf("a writer holds %v after the exclusive holder left, want its shared lock", held)
		}
		s.unlock(held)
	}
}
