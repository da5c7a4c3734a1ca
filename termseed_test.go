package main

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/store/sqlite"
	"github.com/cpms-fhir/cpms/terminology"
)

// TestSeedStored stores the embedded seed as resources the way `cpms
// serve` does in the background, then restarts twice: the stored seed is
// adopted, not stored or read again, and a seed value set deleted through
// the API stays deleted.
func TestSeedStored(t *testing.T) {
	if testing.Short() {
		t.Skip("stores the whole terminology seed (about 20 s)")
	}
	dir := t.TempDir()
	ctx := context.Background()
	start := func() (*terms, *engine.Engine, func()) {
		store, err := sqlite.Open(ctx, dir, sqlite.Options{Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		tm, err := loadTerminology(discardLogger(), terminology.New())
		if err != nil {
			t.Fatal(err)
		}
		eng, err := engine.New(store, engine.Options{Logger: discardLogger(), Observe: tm.observe, ObserveTypes: terminology.ResourceTypes})
		if err != nil {
			t.Fatal(err)
		}
		if err := tm.readSeedState(ctx, eng); err != nil {
			t.Fatal(err)
		}
		sctx, cancel := context.WithCancel(ctx)
		if err := eng.Start(sctx); err != nil {
			t.Fatal(err)
		}
		tm.engineStarted()
		return tm, eng, func() { cancel(); store.Close() }
	}

	tm, eng, stop := start()
	t0 := time.Now()
	if err := tm.storeSeed(ctx, eng); err != nil {
		t.Fatal(err)
	}
	t.Logf("seed stored in %v", time.Since(t0))
	r, err := eng.Read(ctx, "CodeSystem", "hpo-2026-01-08")
	if err != nil || r.Version != 1 {
		t.Fatalf("the HPO CodeSystem is not stored: %v", err)
	}
	page, err := eng.Search(ctx, engine.SearchRequest{Type: "CodeSystem", Params: url.Values{"url": {terminology.OrphaURL}}})
	if err != nil || len(page.Matches) != 1 {
		t.Fatalf("search CodeSystem?url=%s: %v", terminology.OrphaURL, err)
	}
	if _, ok := tm.StoredCanonical("CodeSystem/hpo-2026-01-08"); !ok {
		t.Error("the stored HPO CodeSystem is not adopted")
	}
	t0 = time.Now()
	if err := tm.storeSeed(ctx, eng); err != nil || time.Since(t0) > time.Second {
		t.Errorf("storing the same seed again: %v, took %v", err, time.Since(t0))
	}
	if _, err := eng.Delete(ctx, "ValueSet", "administrative-gender", 0); err != nil {
		t.Fatal(err)
	}
	stop()

	tm, eng, stop = start()
	if len(tm.adopted) < 1000 {
		t.Errorf("%d seed resources adopted at restart, want all", len(tm.adopted))
	}
	if _, ok := tm.ValueSet("http://hl7.org/fhir/ValueSet/administrative-gender", ""); ok {
		t.Error("a seed value set deleted through the API is back after a restart")
	}
	if _, ok := tm.System(terminology.HPOURL, ""); !ok {
		t.Error("HPO is gone after a restart")
	}
	if v, _ := eng.Read(ctx, "CodeSystem", "hpo-2026-01-08"); v == nil || v.Version != 1 {
		t.Error("a restart wrote the seed again")
	}
	stop()

	// A binary whose seed no longer carries a stored seed resource (here:
	// no seed at all) reads it from the store like any other.
	store, err := sqlite.Open(ctx, dir, sqlite.Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	bare := &terms{Service: terminology.New(), log: discardLogger(), writing: map[string]seedRecord{}, adopted: map[string]bool{},
		started: make(chan struct{})}
	eng, err = engine.New(store, engine.Options{Logger: discardLogger(), Observe: bare.observe, ObserveTypes: terminology.ResourceTypes})
	if err != nil {
		t.Fatal(err)
	}
	if err := bare.readSeedState(ctx, eng); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := eng.Start(sctx); err != nil {
		t.Fatal(err)
	}
	bare.engineStarted()
	if !bare.Knows("CodeSystem", terminology.HPOURL, "2026-01-08") {
		t.Error("a stored seed CodeSystem this binary does not carry is not served")
	}
}
