package engine

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Custom search parameters. A SearchParameter resource with status active
// that is stored on the server defines a search parameter: from the write
// on, new and updated resources are indexed for it, and the values of the
// resources stored before are backfilled by a reindex, in the background
// (Start) or offline ("cpms reindex"). Until the backfill of a parameter
// has finished, a search that uses it fails with KindConflict instead of
// returning partial results. The backfill state is kept in the store, so
// a restart resumes it.

// pendingKey is the store setting that marks a parameter's backfill as
// unfinished.
func pendingKey(url string) string { return "search.reindex.pending " + url }

// custom is the engine's state of custom parameters.
type custom struct {
	mu      sync.Mutex
	pending map[string]bool // parameter URL → backfill unfinished
	wake    chan struct{}   // pokes the background reindexer
}

// searchParameterStatus reads what a SearchParameter body says about
// itself.
func searchParameterStatus(body []byte) (url, status string) {
	var sp struct {
		URL    string `json:"url"`
		Status string `json:"status"`
	}
	json.Unmarshal(body, &sp)
	return sp.URL, sp.Status
}

// checkSearchParameter refuses an active SearchParameter that could not be
// indexed or searched (KindUnprocessable with its issues).
func (e *Engine) checkSearchParameter(body []byte) error {
	if _, status := searchParameterStatus(body); status != "active" {
		return nil
	}
	p, err := e.params.ParamFromResource(body)
	if err != nil {
		return err
	}
	return e.params.CanAdd(p)
}

// afterWrite keeps the custom search parameters in step with a stored
// SearchParameter version. The write has happened: a failure here is
// logged, and the parameter stays as it was.
func (e *Engine) afterWrite(ctx context.Context, res *Result) {
	if res == nil || res.Resource == nil || res.Unchanged {
		return
	}
	if e.observe != nil && slices.Contains(e.observed, res.Resource.Type) {
		e.observe(ctx, res.Resource)
	}
	if res.Resource.Type != "SearchParameter" {
		return
	}
	var prev *fhir.Resource
	if v := res.Resource.Version; v > 1 {
		prev, _ = e.store.VRead(ctx, res.Resource.Type, res.Resource.ID, v-1)
	}
	if err := e.applySearchParameter(ctx, res.Resource, prev); err != nil {
		e.log.Error("a stored SearchParameter could not be applied", "resource", res.Resource.Ref(), "error", err.Error())
	}
}

// applySearchParameter registers, replaces or removes the parameter a
// SearchParameter version defines, after it was stored, and marks it for
// backfill when it is new or changed. prev is the version it replaced
// (nil if none).
func (e *Engine) applySearchParameter(ctx context.Context, r, prev *fhir.Resource) error {
	if prev != nil && !prev.Deleted {
		if url, status := searchParameterStatus(prev.Body); status == "active" && (r.Deleted || url != urlOf(r)) {
			e.params.Remove(url)
			e.setPending(ctx, url, false)
		}
	}
	if r.Deleted {
		return nil
	}
	url, status := searchParameterStatus(r.Body)
	if status != "active" {
		e.params.Remove(url)
		return e.setPending(ctx, url, false)
	}
	p, err := e.params.ParamFromResource(r.Body)
	if err != nil {
		return err
	}
	if err := e.params.Add(p); err != nil {
		return err
	}
	// A parameter over types of which nothing is stored has nothing to
	// backfill, and is searchable at once: on a fresh store, a parameter
	// defined before the first write. A resource whose write read the
	// parameters before Add and commits after this look is missed, as it
	// is by the backfill's own scan.
	res, err := e.store.Search(ctx, &search.Query{Types: p.Base, Count: 1, Total: search.TotalNone})
	if err != nil {
		return err
	}
	return e.setPending(ctx, url, len(res.Resources) > 0)
}

func urlOf(r *fhir.Resource) string {
	url, _ := searchParameterStatus(r.Body)
	return url
}

// setPending records a parameter's backfill state, in the store and in
// memory, and wakes the reindexer for a new one.
func (e *Engine) setPending(ctx context.Context, url string, pending bool) error {
	if url == "" {
		return nil
	}
	value := ""
	if pending {
		value = "1"
	}
	if err := e.write(ctx, func(tx Tx) error { return tx.PutSetting(ctx, pendingKey(url), value) }); err != nil {
		return err
	}
	e.custom.mu.Lock()
	if pending {
		e.custom.pending[url] = true
	} else {
		delete(e.custom.pending, url)
	}
	e.custom.mu.Unlock()
	if pending {
		select {
		case e.custom.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// checkPending fails a search that uses a parameter whose backfill has
// not finished: its results would silently miss older resources.
func (e *Engine) checkPending(q *search.Query) error {
	e.custom.mu.Lock()
	defer e.custom.mu.Unlock()
	if len(e.custom.pending) == 0 {
		return nil
	}
	var issues []fhir.Issue
	check := func(t fhir.ResourceType, code string) {
		if p, ok := e.params.Lookup(t, code); ok && e.custom.pending[p.URL] {
			issues = append(issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueTransient, Expression: []string{code},
				Diagnostics: "the search parameter " + code + " (" + p.URL + ") is still being indexed for the resources stored before it was defined; retry when the reindex has finished"})
		}
	}
	var walk func(types []fhir.ResourceType, c search.Clause)
	walk = func(types []fhir.ResourceType, c search.Clause) {
		for _, t := range types {
			check(t, c.Param)
		}
		if c.Chain != nil {
			walk(c.Chain.Targets, c.Chain.Clause)
		}
		if c.Has != nil {
			check(c.Has.Type, c.Has.Ref)
			walk([]fhir.ResourceType{c.Has.Type}, c.Has.Clause)
		}
	}
	for _, c := range q.Clauses {
		walk(q.Types, c)
	}
	for _, s := range q.Sort {
		for _, t := range q.Types {
			check(t, s.Param)
		}
	}
	if len(issues) > 0 {
		return &fhir.Error{Kind: fhir.KindConflict, Issues: issues}
	}
	return nil
}

// Start loads the custom search parameters stored on the server and runs
// the background reindexer until ctx ends. Without Start, custom
// parameters written through the engine are indexed for new resources and
// refused in searches until "cpms reindex" has backfilled them.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.loadCustomParams(ctx); err != nil {
		return err
	}
	if err := e.loadObserved(ctx); err != nil {
		return err
	}
	go e.reindexLoop(ctx)
	return nil
}

// loadObserved passes every current resource of the observed types to
// Observe.
func (e *Engine) loadObserved(ctx context.Context) error {
	if e.observe == nil || len(e.observed) == 0 {
		return nil
	}
	q := &search.Query{Types: e.observed, Count: 20, Total: search.TotalNone}
	for {
		res, err := e.store.Search(ctx, q)
		if err != nil {
			return err
		}
		for _, r := range res.Resources {
			e.observe(ctx, r)
		}
		if res.Next == "" {
			return nil
		}
		q.Cursor = res.Next
	}
}

// loadCustomParams registers the active SearchParameter resources of the
// store and reads their backfill state.
func (e *Engine) loadCustomParams(ctx context.Context) error {
	q := &search.Query{Types: []fhir.ResourceType{"SearchParameter"}, Count: 200, Total: search.TotalNone}
	for {
		res, err := e.store.Search(ctx, q)
		if err != nil {
			return err
		}
		for _, r := range res.Resources {
			url, status := searchParameterStatus(r.Body)
			if status != "active" {
				continue
			}
			p, err := e.params.ParamFromResource(r.Body)
			if err == nil {
				err = e.params.Add(p)
			}
			if err != nil {
				e.log.Warn("a stored SearchParameter cannot be used", "resource", r.Ref(), "error", err.Error())
				continue
			}
			v, err := e.store.Setting(ctx, pendingKey(url))
			if err != nil {
				return err
			}
			if v != "" {
				e.custom.mu.Lock()
				e.custom.pending[url] = true
				e.custom.mu.Unlock()
			}
		}
		if res.Next == "" {
			return nil
		}
		q.Cursor = res.Next
	}
}

// reindexLoop backfills pending parameters until ctx ends.
func (e *Engine) reindexLoop(ctx context.Context) {
	for {
		e.custom.mu.Lock()
		var urls []string
		for url := range e.custom.pending {
			urls = append(urls, url)
		}
		e.custom.mu.Unlock()
		for _, url := range urls {
			p, ok := e.params.ByURL(url)
			if !ok {
				continue
			}
			e.log.Info("reindexing for a new search parameter", "param", url)
			n, err := e.Reindex(ctx, p.Base)
			if errors.Is(err, context.Canceled) {
				return
			}
			if err != nil {
				e.log.Error("reindex failed", "param", url, "error", err.Error())
				continue
			}
			if err := e.setPending(ctx, url, false); err != nil {
				e.log.Error("reindex state not saved", "param", url, "error", err.Error())
				continue
			}
			e.log.Info("reindexed", "param", url, "resources", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-e.custom.wake:
		}
	}
}

// reindexBatch is how many resources one reindex transaction rewrites.
const reindexBatch = 200

// Reindex recomputes the search values of every current resource of the
// given types (all types when none) and returns how many it rewrote.
// Resources written meanwhile are indexed by their own write and skipped.
func (e *Engine) Reindex(ctx context.Context, types []fhir.ResourceType) (int, error) {
	q := &search.Query{Types: types, Count: reindexBatch, Total: search.TotalNone}
	n := 0
	for {
		res, err := e.store.Search(ctx, q)
		if err != nil {
			return n, err
		}
		idxs := make([]*search.Index, len(res.Resources))
		for i, r := range res.Resources {
			idx, err := e.extract(r.Type, r.Body)
			if err != nil {
				return n, err
			}
			idxs[i] = stamped(idx, r)
		}
		err = e.write(ctx, func(tx Tx) error {
			for i, r := range res.Resources {
				if err := tx.Reindex(ctx, r, idxs[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += len(res.Resources)
		if res.Next == "" {
			return n, nil
		}
		q.Cursor = res.Next
	}
}

// Backfill is the offline reindex ("cpms reindex"): it loads the custom
// parameters, recomputes the search values of every resource of types
// (all types when none), and marks finished the backfill of the pending
// parameters it covered. It returns how many resources it rewrote.
func (e *Engine) Backfill(ctx context.Context, types []fhir.ResourceType) (int, error) {
	if err := e.loadCustomParams(ctx); err != nil {
		return 0, err
	}
	n, err := e.Reindex(ctx, types)
	if err != nil {
		return n, err
	}
	e.custom.mu.Lock()
	var done []string
	for url := range e.custom.pending {
		p, ok := e.params.ByURL(url)
		if ok && covers(types, p.Base) {
			done = append(done, url)
		}
	}
	e.custom.mu.Unlock()
	for _, url := range done {
		if err := e.setPending(ctx, url, false); err != nil {
			return n, err
		}
	}
	return n, nil
}

// covers reports whether reindexing types (all when empty) reaches every
// type of base.
func covers(types, base []fhir.ResourceType) bool {
	if len(types) == 0 {
		return true
	}
	for _, b := range base {
		if !slices.Contains(types, b) {
			return false
		}
	}
	return true
}
