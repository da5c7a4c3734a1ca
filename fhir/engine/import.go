package engine

import (
	"context"

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
func (e *Engine) Import(ctx context.Context, items []ImportItem, opts ImportOptions) ([]error, error) {
	errs := make([]error, len(items))
	type ready struct {
		i   int
		p   *fhir.Prepared
		idx *search.Index
	}
	var ok []ready
	for i, it := range items {
		p, idx, err := e.prepareImport(ctx, it, opts)
		if err != nil {
			errs[i] = err
			continue
		}
		ok = append(ok, ready{i, p, idx})
	}
	if len(ok) == 0 {
		return errs, nil
	}
	results := make([]*Result, len(ok))
	err := e.retry(ctx, func(tx Tx) error {
		for k, r := range ok {
			it := items[r.i]
			res, err := e.update(ctx, tx, it.Type, it.ID, r.p, r.idx, 0)
			if err != nil {
				return err
			}
			results[k] = res
		}
		return nil
	})
	if err == nil {
		for _, res := range results {
			e.afterWrite(ctx, res)
		}
	}
	return errs, err
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
