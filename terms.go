package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/terminology"
)

// terms is the terminology service of a running server, following the
// CodeSystems, ValueSets and ConceptMaps of the store.
//
// The embedded seed is loaded from the binary at every start, and also
// stored (once per seed, in the background) as resources that can be
// read and searched like any other. The store's setting seedKey records
// which seed it holds and the version of each seed resource the server
// wrote: at start, and while the seed is being stored, those versions
// are adopted without being read again; a version someone else wrote
// (an update through the API, a newer release imported) is read as usual.
type terms struct {
	*terminology.Service
	log *slog.Logger

	mu   sync.Mutex
	seed seedState
	// writing are the seed resources being stored now.
	writing map[string]seedRecord
	// adopted are the stored seed resources met since the start.
	adopted map[string]bool
	// started is closed once the engine has started (engineStarted).
	started chan struct{}
}

// seedKey is the store setting that records the stored seed.
const seedKey = "terminology.seed"

// seedState is the value of seedKey.
type seedState struct {
	Digest    string                `json:"digest"`
	Resources map[string]seedRecord `json:"resources"` // by "Type/id"
}

// seedRecord is one stored seed resource: the version the server wrote
// and the canonical it holds.
type seedRecord struct {
	Version int64  `json:"v"`
	URL     string `json:"url"`
	CSVer   string `json:"version,omitempty"`
}

// loadTerminology fills svc (new: terminology.New()) with the embedded
// seed and the CodeSystems, ValueSets and ConceptMaps of the other
// sources (the CPMS codes, the consultation form's value sets), which
// storeSeed stores with it.
func loadTerminology(log *slog.Logger, svc *terminology.Service, sources ...seedSource) (*terms, error) {
	start := time.Now()
	for _, src := range sources {
		err := src(func(rt fhir.ResourceType, id fhir.ID, body []byte) error {
			if !slices.Contains(terminology.ResourceTypes, rt) {
				return nil
			}
			return svc.Load(body)
		})
		if err != nil {
			return nil, err
		}
	}
	if err := terminology.LoadSeed(svc); err != nil {
		return nil, err
	}
	log.Info("terminology seed loaded", "codeSystems", len(svc.Systems()), "took", time.Since(start).Round(time.Millisecond).String())
	t := &terms{Service: svc, log: log.With("component", "terminology"), writing: map[string]seedRecord{}, adopted: map[string]bool{},
		started: make(chan struct{})}
	// The type-ahead and mapping indexes are built in the background
	// while the server starts answering; a request that needs one first
	// builds it.
	go func() {
		start := time.Now()
		svc.Warm()
		// Loading decoded some hundred megabytes of JSON (the seed, and
		// the stored terminology resources the engine passed at its
		// start) that are garbage now: give the memory back rather than
		// keep it mapped.
		<-t.started
		debug.FreeOSMemory()
		log.Info("terminology indexes built", "took", time.Since(start).Round(time.Millisecond).String())
	}()
	return t, nil
}

// engineStarted says the engine has passed the stored resources to
// observe (see loadTerminology).
func (t *terms) engineStarted() {
	close(t.started)
	t.dropDeletedSeed()
}

// readSeedState reads which seed the store holds; call it before the
// engine starts, so that its stored seed resources are adopted.
func (t *terms) readSeedState(ctx context.Context, eng *engine.Engine) error {
	v, err := eng.Setting(ctx, seedKey)
	if err != nil || v == "" {
		return err
	}
	var st seedState
	if err := json.Unmarshal([]byte(v), &st); err != nil {
		t.log.Warn("the stored terminology seed record is unreadable: the seed will be stored again", "error", err.Error())
		return nil
	}
	t.mu.Lock()
	t.seed = st
	t.mu.Unlock()
	return nil
}

// dropDeletedSeed forgets the seed resources deleted from the store (or
// replaced by a resource under another URL): call it after the engine
// started, when every stored one has been met.
func (t *terms) dropDeletedSeed() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for key, rec := range t.seed.Resources {
		if !t.adopted[key] {
			typ, _, _ := strings.Cut(key, "/")
			if _, replaced := t.StoredCanonical(key); !replaced {
				t.Drop(fhir.ResourceType(typ), rec.URL, rec.CSVer)
			}
		}
	}
}

// seedSource iterates definitional resources the binary embeds.
type seedSource func(fn func(t fhir.ResourceType, id fhir.ID, body []byte) error) error

// seedDigest identifies the terminology seed and the other sources' content.
func seedDigest(sources []seedSource) (string, error) {
	digest, err := terminology.SeedDigest()
	if err != nil || len(sources) == 0 {
		return digest, err
	}
	h := sha256.New()
	h.Write([]byte(digest))
	for _, src := range sources {
		err := src(func(rt fhir.ResourceType, id fhir.ID, body []byte) error {
			fmt.Fprintf(h, "%s/%s %d\n", rt, id, len(body))
			h.Write(body)
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// seedStored returns the digest of the seed and sources, and whether the
// store holds that seed already.
func (t *terms) seedStored(sources []seedSource) (digest string, stored bool, err error) {
	if digest, err = seedDigest(sources); err != nil {
		return "", false, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return digest, t.seed.Digest == digest, nil
}

// storeSearchParameters stores the seed's SearchParameters, when the seed
// is not stored yet, before the server takes requests. A parameter defined
// after resources of its types were written must be backfilled: the engine
// reindexes every such resource, in the single writer. Stored by the
// background seed, seconds after the server opened, the CPMS parameters
// made a fresh server reindex every Patient created meanwhile, once per
// parameter (a quarter of its CPU under a create load), and searches by
// them were answered with the parameter ignored until then. Stored first,
// they index every resource from the first write. The seed stores them
// again, unchanged, with the rest.
func (t *terms) storeSearchParameters(ctx context.Context, eng *engine.Engine, sources ...seedSource) error {
	_, stored, err := t.seedStored(sources)
	if err != nil || stored {
		return err
	}
	var items []engine.ImportItem
	for _, src := range sources {
		err := src(func(rt fhir.ResourceType, id fhir.ID, body []byte) error {
			if rt == "SearchParameter" {
				items = append(items, engine.ImportItem{Type: rt, ID: id, Body: body})
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(items) == 0 {
		return nil
	}
	errs, err := eng.Import(ctx, items, engine.ImportOptions{SkipValidation: true})
	if err != nil {
		return err
	}
	for i, e := range errs {
		if e != nil {
			// The seed tries again and reports it.
			t.log.Warn("a seed SearchParameter could not be stored", "resource", string(items[i].Type)+"/"+string(items[i].ID), "error", e.Error())
		}
	}
	return nil
}

// storeSeed stores the embedded seed's resources, and those of the other
// sources (the CPMS profiles, the consultation form), unless the store
// holds this seed already. Resources equal to the stored version write
// nothing, so a newer binary stores only what its seed changed. The seed
// is generated and its importers validate what they write, and the
// other sources' tests validate theirs, so they are not validated again
// here.
func (t *terms) storeSeed(ctx context.Context, eng *engine.Engine, sources ...seedSource) error {
	digest, stored, err := t.seedStored(sources)
	if err != nil || stored {
		return err
	}
	start := time.Now()
	state := seedState{Digest: digest, Resources: map[string]seedRecord{}}
	var items []engine.ImportItem
	var recs []seedRecord
	failed := 0
	flush := func() error {
		t.mu.Lock()
		for i, it := range items {
			t.writing[string(it.Type)+"/"+string(it.ID)] = recs[i]
		}
		t.mu.Unlock()
		errs, err := eng.Import(ctx, items, engine.ImportOptions{SkipValidation: true})
		if err == nil {
			for i, it := range items {
				if errs[i] != nil {
					failed++
					t.log.Warn("a seed resource could not be stored", "resource", string(it.Type)+"/"+string(it.ID), "error", errs[i].Error())
					continue
				}
				r, rerr := eng.Read(ctx, it.Type, it.ID)
				if rerr != nil {
					err = rerr
					break
				}
				recs[i].Version = r.Version
				state.Resources[string(it.Type)+"/"+string(it.ID)] = recs[i]
			}
		}
		t.mu.Lock()
		for _, it := range items {
			delete(t.writing, string(it.Type)+"/"+string(it.ID))
		}
		t.mu.Unlock()
		items, recs = items[:0], recs[:0]
		return err
	}
	add := func(rt fhir.ResourceType, id fhir.ID, body []byte) error {
		var head struct{ URL, Version string }
		if err := json.Unmarshal(body, &head); err != nil {
			return err
		}
		items = append(items, engine.ImportItem{Type: rt, ID: id, Body: body})
		recs = append(recs, seedRecord{URL: head.URL, CSVer: head.Version})
		if len(items) == 50 || len(body) > 1<<20 {
			return flush()
		}
		return nil
	}
	for _, src := range append([]seedSource{terminology.SeedResources}, sources...) {
		if err = src(add); err != nil {
			break
		}
	}
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	if failed > 0 {
		// Not recorded: the next start tries again.
		return fmt.Errorf("%d seed resources could not be stored", failed)
	}
	b, err := json.Marshal(state)
	if err != nil {
		return err
	}
	if err := eng.PutSetting(ctx, seedKey, string(b)); err != nil {
		return err
	}
	t.mu.Lock()
	t.seed = state
	t.mu.Unlock()
	debug.FreeOSMemory() // the seed's JSON, decoded and indexed, is garbage now
	t.log.Info("terminology seed stored", "resources", len(state.Resources), "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// observe is the engine's Observe hook: a stored version replaces what
// the resource registered before; a delete removes it.
func (t *terms) observe(ctx context.Context, r *fhir.Resource) {
	if r.Deleted {
		t.Deleted(r.Type, r.ID)
		return
	}
	key := r.Ref()
	t.mu.Lock()
	rec, writing := t.writing[key]
	if !writing {
		if stored, ok := t.seed.Resources[key]; ok && stored.Version == r.Version {
			rec, writing = stored, true
		}
	}
	t.mu.Unlock()
	if writing && !t.Knows(r.Type, rec.URL, rec.CSVer) && slices.Contains(terminology.ResourceTypes, r.Type) {
		// Stored from an older binary's seed that this one no longer
		// carries (an older release): read it like any other.
		writing = false
	}
	if writing {
		// A seed resource the server stored: the seed already loaded it.
		t.Adopt(r.Type, r.ID, rec.URL, rec.CSVer)
		t.mu.Lock()
		t.adopted[key] = true
		t.mu.Unlock()
		return
	}
	if err := t.Stored(r.Type, r.ID, r.Body); err != nil {
		t.log.Warn("a stored terminology resource cannot be used", "resource", r.Ref(), "error", err.Error())
	}
}
