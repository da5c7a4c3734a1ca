package engine

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/fhirpatch"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// PatchFormat is the language of a patch document.
type PatchFormat int

const (
	// JSONPatch is a JSON Patch document (RFC 6902,
	// application/json-patch+json).
	JSONPatch PatchFormat = iota
	// FHIRPathPatch is a FHIRPath Patch document: a Parameters resource
	// (http://hl7.org/fhir/R4/fhirpatch.html, package fhirpatch).
	FHIRPathPatch
)

// Patch applies a patch document, in JSON Patch or FHIRPath Patch, to the
// current version of t/id and stores the result as a new version,
// validated like any update. A malformed patch is KindInvalid; a patch
// that cannot be applied (a failed test, a missing path) or whose result
// is not a valid resource is KindUnprocessable.
func (e *Engine) Patch(ctx context.Context, t fhir.ResourceType, id fhir.ID, format PatchFormat, patch []byte, ifMatch int64) (*Result, error) {
	if err := CheckType(t); err != nil {
		return nil, err
	}
	if err := e.allow(ctx, InteractionPatch, t, id, nil); err != nil {
		return nil, err
	}
	if !id.Valid() {
		return nil, notFound(t, id)
	}
	ops, err := decodePatch(format, patch)
	if err != nil {
		return nil, err
	}
	return e.patch(ctx, t, id, ops, ifMatch)
}

// ConditionalPatch patches the one resource of type t matching criteria.
// No match is KindNotFound, several KindPreconditionFailed.
func (e *Engine) ConditionalPatch(ctx context.Context, t fhir.ResourceType, criteria url.Values, format PatchFormat, patch []byte, ifMatch int64) (*Result, error) {
	if err := CheckType(t); err != nil {
		return nil, err
	}
	q, err := e.parseConditional(t, criteria)
	if err != nil {
		return nil, err
	}
	if err := e.allow(ctx, InteractionPatch, t, "", nil); err != nil {
		return nil, err
	}
	ops, err := decodePatch(format, patch)
	if err != nil {
		return nil, err
	}
	found, err := e.store.Search(ctx, atMostTwo(q))
	if err != nil {
		return nil, err
	}
	switch len(found.Resources) {
	case 0:
		return nil, &fhir.Error{Kind: fhir.KindNotFound, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueNotFound, Diagnostics: "no " + string(t) + " matches the criteria of the conditional patch"}}}
	case 1:
		return e.patch(ctx, t, found.Resources[0].ID, ops, ifMatch)
	}
	return nil, &fhir.Error{Kind: fhir.KindPreconditionFailed, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueMultipleMatch, Diagnostics: "the criteria of the conditional patch match more than one " + string(t)}}}
}

// patcher is a parsed patch document.
type patcher interface {
	Apply(resource []byte) ([]byte, error)
}

func decodePatch(format PatchFormat, patch []byte) (patcher, error) {
	if format == FHIRPathPatch {
		return fhirpatch.Parse(patch)
	}
	return decodeJSONPatch(patch)
}

func decodeJSONPatch(patch []byte) (jsonpatch.Patch, error) {
	bad := func(err error, why string) error {
		return &fhir.Error{Kind: fhir.KindInvalid, Err: err, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueStructure, Diagnostics: "the body is not a JSON Patch document (RFC 6902): " + why}}}
	}
	// The library's own messages for these cases name Go types ("cannot
	// unmarshal object into Go value of type jsonpatch.Patch") or say
	// nothing ("invalid state detected"): check the shape first.
	var list []json.RawMessage
	if err := json.Unmarshal(patch, &list); err != nil {
		if !json.Valid(patch) {
			return nil, bad(err, "the body is not valid JSON")
		}
		return nil, bad(err, "it must be a JSON array of operations")
	}
	for i, op := range list {
		if len(op) == 0 || op[0] != '{' {
			return nil, bad(nil, "operation "+strconv.Itoa(i)+" is not a JSON object")
		}
	}
	ops, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		// The remaining errors name the faulty operation.
		return nil, bad(err, err.Error())
	}
	return ops, nil
}

// patch applies ops to the current version of t/id and writes the result,
// provided no other write came in between; otherwise it starts again from
// the newer version (unless the client named the version with If-Match).
func (e *Engine) patch(ctx context.Context, t fhir.ResourceType, id fhir.ID, ops patcher, ifMatch int64) (*Result, error) {
	var err error
	for range maxAttempts {
		var cur *fhir.Resource
		cur, err = e.store.Read(ctx, t, id)
		if err != nil {
			if fhir.IsKind(err, fhir.KindNotFound) {
				return nil, notFound(t, id)
			}
			return nil, err
		}
		if cur.Deleted {
			return nil, gone(cur)
		}
		if err := checkIfMatch(cur, ifMatch); err != nil {
			return nil, err
		}
		p, idx, err := e.applyPatch(ctx, cur, ops)
		if err != nil {
			return nil, err
		}
		var res *Result
		err = e.write(ctx, func(tx Tx) error {
			now, err := tx.Read(ctx, t, id)
			if err != nil {
				return err
			}
			if now.Version != cur.Version {
				return fhir.Errorf(fhir.KindConflict, "%s changed while it was patched", cur.Ref())
			}
			if p.SameContent(now) {
				res = &Result{Resource: now, Unchanged: true}
				return nil
			}
			r := &fhir.Resource{Type: t, ID: id, Version: cur.Version + 1, Method: fhir.MethodPatch}
			if err := e.put(ctx, tx, r, p, idx, InteractionPatch); err != nil {
				return err
			}
			res = &Result{Resource: r}
			return nil
		})
		if err == nil {
			e.afterWrite(ctx, res)
			return res, nil
		}
		if !fhir.IsKind(err, fhir.KindConflict) {
			return nil, err
		}
		if ifMatch != 0 {
			return nil, &fhir.Error{Kind: fhir.KindPreconditionFailed, Err: err, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
				Code: fhir.IssueConflict, Diagnostics: cur.Ref() + " changed while it was patched"}}}
		}
	}
	return nil, err
}

// applyPatch applies ops to cur and prepares the result.
func (e *Engine) applyPatch(ctx context.Context, cur *fhir.Resource, ops patcher) (*fhir.Prepared, *search.Index, error) {
	patched, err := ops.Apply(cur.Body)
	if _, ok := err.(*fhir.Error); ok {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, &fhir.Error{Kind: fhir.KindUnprocessable, Err: err, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueProcessing, Diagnostics: "the patch cannot be applied to " + cur.Ref() + ": " + err.Error()}}}
	}
	p, idx, err := e.prepare(ctx, cur.Type, cur.ID, patched)
	if err != nil {
		// The client sent a valid patch whose result is not a valid
		// resource: the request is understood but cannot be processed.
		if fe, ok := err.(*fhir.Error); ok && fe.Kind == fhir.KindInvalid {
			fe.Kind = fhir.KindUnprocessable
		}
		return nil, nil, err
	}
	if p.ID != cur.ID {
		return nil, nil, &fhir.Error{Kind: fhir.KindUnprocessable, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueInvalid, Diagnostics: "a patch must not change or remove the id", Expression: []string{string(cur.Type) + ".id"}}}}
	}
	return p, idx, nil
}

// patchIn applies ops to cur, read in tx, and writes the result there.
func (e *Engine) patchIn(ctx context.Context, tx Tx, cur *fhir.Resource, ops patcher) (*Result, error) {
	p, idx, err := e.applyPatch(ctx, cur, ops)
	if err != nil {
		return nil, err
	}
	if p.SameContent(cur) {
		return &Result{Resource: cur, Unchanged: true}, nil
	}
	r := &fhir.Resource{Type: cur.Type, ID: cur.ID, Version: cur.Version + 1, Method: fhir.MethodPatch}
	if err := e.put(ctx, tx, r, p, idx, InteractionPatch); err != nil {
		return nil, err
	}
	return &Result{Resource: r}, nil
}
