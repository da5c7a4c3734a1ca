package engine

import (
	"context"
	"strconv"

	"github.com/cpms-fhir/cpms/fhir"
)

// Read returns the current version of a resource. A deleted resource
// answers with an error of kind KindGone.
func (e *Engine) Read(ctx context.Context, t fhir.ResourceType, id fhir.ID) (*fhir.Resource, error) {
	if err := CheckType(t); err != nil {
		return nil, err
	}
	if err := e.allow(ctx, InteractionRead, t, id, nil); err != nil {
		return nil, err
	}
	if !id.Valid() {
		return nil, notFound(t, id)
	}
	r, err := e.reader(ctx).Read(ctx, t, id)
	if err != nil {
		if fhir.IsKind(err, fhir.KindNotFound) {
			return nil, notFound(t, id)
		}
		return nil, err
	}
	if err := e.allow(ctx, InteractionRead, t, id, r); err != nil {
		return nil, err
	}
	if r.Deleted {
		return nil, gone(r)
	}
	return r, nil
}

// VRead returns one version of a resource. The version of a deletion
// answers with an error of kind KindGone.
func (e *Engine) VRead(ctx context.Context, t fhir.ResourceType, id fhir.ID, vid string) (*fhir.Resource, error) {
	if err := CheckType(t); err != nil {
		return nil, err
	}
	if err := e.allow(ctx, InteractionVRead, t, id, nil); err != nil {
		return nil, err
	}
	v, err := strconv.ParseInt(vid, 10, 64)
	if err != nil || v < 1 || !id.Valid() {
		return nil, &fhir.Error{Kind: fhir.KindNotFound, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueNotFound, Diagnostics: "version " + quoteShort(vid) + " of " + string(t) + "/" + string(id) + " is not known"}}}
	}
	r, err := e.store.VRead(ctx, t, id, v)
	if err != nil {
		if fhir.IsKind(err, fhir.KindNotFound) {
			return nil, &fhir.Error{Kind: fhir.KindNotFound, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
				Code: fhir.IssueNotFound, Diagnostics: "version " + vid + " of " + string(t) + "/" + string(id) + " is not known"}}}
		}
		return nil, err
	}
	if err := e.allow(ctx, InteractionVRead, t, id, r); err != nil {
		return nil, err
	}
	if r.Deleted {
		return nil, gone(r)
	}
	return r, nil
}
