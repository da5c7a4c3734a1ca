package engine

import (
	"context"
	"errors"
	"slices"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// ImportItem is one resource to import, stored under its own id.
type ImportItem struct {
	Type fhir.ResourceType
	ID   fhir.ID
	Body []byte
}

// ImportOptions configure Import.
type ImportOptions struct {
	// SkipValidation stores resources that are only checked for FHIR's
	// JSON rules, not validated against the specification: for data
	// already validated elsewhere, and for measuring the store alone.
	SkipValidation bool
}

// Import stores items as updates by id (creating the resources that do
// not exist; content equal to the current version writes nothing), all in
// one transaction. It returns one error per item (nil when stored): an
// item that fails does not stop the others. A failure of the transaction
// itself is returned as the second result.
//
// An item whose content equals the current version, as the store holds
// it before the transaction, is not validated or indexed again: that
// version was, when it was written, and an import run twice costs a read
// and a comparison per resource the second time. The transaction checks
// that the version is still current; if another write came in between,
// the item is prepared in full and the transaction runs again.
func (e *Engine) Import(ctx context.Context, items []ImportItem, opts ImportOptions) ([]error, error) {
	errs := make([]error, len(items))
	type ready struct {
		i   int
		p   *fhir.Prepared
		idx *search.Index
		// same is the current version the item's content equals (its
		// p and idx unset), 0 when the item is prepared in full.
		same int64
	}
	var ok []ready
	stored := e.currentVersions(ctx, items)
	for i, it := range items {
		if v := e.storedAlready(ctx, it, stored); v > 0 {
			ok = append(ok, ready{i: i, same: v})
			continue
		}
		p, idx, err := e.prepareImport(ctx, it, opts)
		if err != nil {
			errs[i] = err
			continue
		}
		ok = append(ok, ready{i: i, p: p, idx: idx})
	}
	for {
		if len(ok) == 0 {
			return errs, nil
		}
		results := make([]*Result, len(ok))
		moved := -1 // the item found changed since it was compared
		err := e.retry(ctx, func(tx Tx) error {
			for k, r := range ok {
				it := items[r.i]
				if r.same > 0 {
					cur, err := tx.Read(ctx, it.Type, it.ID)
					if err != nil && !fhir.IsKind(err, fhir.KindNotFound) {
						return err
					}
					if err != nil || cur.Version != r.same || cur.Deleted {
						moved = k
						return errMoved
					}
					results[k] = &Result{Resource: cur, Unchanged: true}
					continue
				}
				res, err := e.update(ctx, tx, it.Type, it.ID, r.p, r.idx, 0)
				if err != nil {
					return err
				}
				results[k] = res
			}
			return nil
		})
		if errors.Is(err, errMoved) {
			r := &ok[moved]
			p, idx, perr := e.prepareImport(ctx, items[r.i], opts)
			if perr != nil {
				errs[r.i] = perr
				ok = slices.Delete(ok, moved, moved+1)
			} else {
				r.p, r.idx, r.same = p, idx, 0
			}
			continue
		}
		if err == nil {
			for _, res := range results {
				e.afterWrite(ctx, res)
			}
		}
		return errs, err
	}
}

// Matches returns the ids of at most two resources of type t that search
// criteria ("identifier=s|v") match, as a conditional create or reference
// finds them: criteria the server cannot evaluate are refused (KindInvalid).
func (e *Engine) Matches(ctx context.Context, t fhir.ResourceType, criteria string) ([]fhir.ID, error) {
	if err := CheckType(t); err != nil {
		return nil, err
	}
	if err := e.allow(ctx, InteractionSearchType, t, "", nil); err != nil {
		return nil, err
	}
	q, err := e.parseCriteria(t, criteria)
	if err != nil {
		return nil, err
	}
	found, err := e.store.Search(ctx, atMostTwo(q))
	if err != nil {
		return nil, err
	}
	ids := make([]fhir.ID, len(found.Resources))
	for i, r := range found.Resources {
		ids[i] = r.ID
	}
	return ids, nil
}

// errMoved ends an import's transaction that found a resource changed
// since the import compared it with the item.
var errMoved = errors.New("a resource changed since it was compared")

// importKey names an item's resource.
type importKey struct {
	t  fhir.ResourceType
	id fhir.ID
}

// currentVersions reads the current versions of the items' resources
// that exist and are not deleted, with one search by _id per type and
// hundred items rather than a read each (which is most of the cost of an
// import into an empty store). It returns nil when a search fails: each
// item is then read on its own.
func (e *Engine) currentVersions(ctx context.Context, items []ImportItem) map[importKey]*fhir.Resource {
	const perSearch = 100
	byType := map[fhir.ResourceType][]search.Value{}
	for _, it := range items {
		if CheckType(it.Type) == nil && CheckID(it.ID) == nil {
			byType[it.Type] = append(byType[it.Type], search.Value{Code: string(it.ID)})
		}
	}
	out := map[importKey]*fhir.Resource{}
	for _, t := range sortedTypes(byType) {
		for ids := range slices.Chunk(byType[t], perSearch) {
			res, err := e.store.Search(ctx, &search.Query{Types: []fhir.ResourceType{t}, Count: len(ids), Total: search.TotalNone,
				Clauses: []search.Clause{{Param: "_id", Type: search.TypeToken, Values: ids}}})
			if err != nil || res.Next != "" {
				return nil
			}
			for _, r := range res.Resources {
				out[importKey{r.Type, r.ID}] = r
			}
		}
	}
	return out
}

// storedAlready returns the current version of the item's resource when
// the item's content equals it, and 0 otherwise (or when anything about
// the item would fail: the full preparation reports it). The current
// versions are looked up in stored, or read when stored is nil.
func (e *Engine) storedAlready(ctx context.Context, it ImportItem, stored map[importKey]*fhir.Resource) int64 {
	if CheckType(it.Type) != nil || CheckID(it.ID) != nil || e.allow(ctx, InteractionUpdate, it.Type, it.ID, nil) != nil {
		return 0
	}
	cur, ok := stored[importKey{it.Type, it.ID}]
	if stored == nil {
		var err error
		cur, err = e.store.Read(ctx, it.Type, it.ID)
		ok = err == nil
	}
	if !ok || cur.Deleted {
		return 0
	}
	p, err := fhir.Prepare(it.Body)
	if err != nil || len(p.Issues) > 0 || p.Type != it.Type || checkBodyID(p, it.ID) != nil || !p.SameContent(cur) {
		return 0
	}
	return cur.Version
}

func (e *Engine) prepareImport(ctx context.Context, it ImportItem, opts ImportOptions) (*fhir.Prepared, *search.Index, error) {
	if err := CheckType(it.Type); err != nil {
		return nil, nil, err
	}
	if err := CheckID(it.ID); err != nil {
		return nil, nil, err
	}
	if err := e.allow(ctx, InteractionUpdate, it.Type, it.ID, nil); err != nil {
		return nil, nil, err
	}
	if !opts.SkipValidation {
		p, idx, err := e.prepare(ctx, it.Type, it.ID, it.Body)
		if err != nil {
			return nil, nil, err
		}
		return p, idx, checkBodyID(p, it.ID)
	}
	p, err := fhir.Prepare(it.Body)
	if err != nil {
		return nil, nil, err
	}
	if len(p.Issues) > 0 {
		return nil, nil, &fhir.Error{Kind: fhir.KindInvalid, Issues: p.Issues}
	}
	if p.Type != it.Type {
		return nil, nil, invalid(fhir.IssueInvalid, "resourceType", "the resource is a %s, not a %s", p.Type, it.Type)
	}
	if err := checkBodyID(p, it.ID); err != nil {
		return nil, nil, err
	}
	idx, err := e.extract(it.Type, p.Render(it.ID, 1, timeZero))
	if err != nil {
		return nil, nil, err
	}
	return p, idx, nil
}
