package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/terminology"
)

// terms is the terminology service of a running server, following the
// CodeSystems, ValueSets and ConceptMaps of the store.
type terms struct {
	*terminology.Service
	log *slog.Logger
}

// loadTerminology builds the terminology service with the embedded seed.
func loadTerminology(log *slog.Logger) (*terms, error) {
	start := time.Now()
	svc := terminology.New()
	if err := terminology.LoadSeed(svc); err != nil {
		return nil, err
	}
	log.Info("terminology seed loaded", "codeSystems", len(svc.Systems()), "took", time.Since(start).Round(time.Millisecond).String())
	// The type-ahead and mapping indexes are built in the background
	// while the server starts answering; a request that needs one first
	// builds it.
	go func() {
		start := time.Now()
		svc.Warm()
		// Loading decoded some hundred megabytes of JSON that are garbage
		// now: give the memory back rather than keep it mapped.
		debug.FreeOSMemory()
		log.Info("terminology indexes built", "took", time.Since(start).Round(time.Millisecond).String())
	}()
	return &terms{Service: svc, log: log.With("component", "terminology")}, nil
}

// observe is the engine's Observe hook: a stored version replaces what
// the resource registered before; a delete removes it.
func (t *terms) observe(ctx context.Context, r *fhir.Resource) {
	if r.Deleted {
		t.Deleted(r.Type, r.ID)
		return
	}
	if err := t.Stored(r.Type, r.ID, r.Body); err != nil {
		t.log.Warn("a stored terminology resource cannot be used", "resource", r.Ref(), "error", err.Error())
	}
}
