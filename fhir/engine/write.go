package engine

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/fhir/search/parse"
)

// maxAttempts bounds the retries of a write that lost a race (a version
// conflict in a store without serialised transactions, or an id collision).
const maxAttempts = 5

// Create stores body as a new resource of type t with a server-assigned id
// (an id in the body is ignored, as the specification requires). With
// ifNoneExist, a search query string, it is a conditional create: one
// match returns that resource unchanged, several fail with
// KindPreconditionFailed.
func (e *Engine) Create(ctx context.Context, t fhir.ResourceType, body []byte, ifNoneExist string) (*Result, error) {
	if err := CheckType(t); err != nil {
		return nil, err
	}
	if err := e.allow(ctx, InteractionCreate, t, "", nil); err != nil {
		return nil, err
	}
	var cond *search.Query
	if ifNoneExist != "" {
		q, err := e.parseCriteria(t, ifNoneExist)
		if err != nil {
			return nil, err
		}
		cond = q
	}
	p, idx, err := e.prepare(ctx, t, placeholderID, body)
	if err != nil {
		return nil, err
	}
	var res *Result
	for range maxAttempts {
		id := newID()
		err = e.write(ctx, func(tx Tx) error {
			res = nil
			if cond != nil {
				match, err := matchOne(ctx, tx, cond, "If-None-Exist")
				if err != nil || match != nil {
					if match != nil {
						res = &Result{Resource: match, Unchanged: true}
					}
					return err
				}
			}
			r := &fhir.Resource{Type: t, ID: id, Version: 1, Method: fhir.MethodPost}
			if err := e.put(ctx, tx, r, p, idx, InteractionCreate); err != nil {
				return err
			}
			res = &Result{Resource: r, Created: true}
			return nil
		})
		if !fhir.IsKind(err, fhir.KindConflict) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if res.Unchanged {
		if err := e.allow(ctx, InteractionRead, t, res.Resource.ID, res.Resource); err != nil {
			return nil, err
		}
	}
	e.afterWrite(ctx, res)
	return res, nil
}

// Update stores body as the new current version of t/id, creating the
// resource if it does not exist (update as create). ifMatch, when not 0,
// is the version the client expects to replace. A body equal in content
// to the current version writes nothing and returns it.
func (e *Engine) Update(ctx context.Context, t fhir.ResourceType, id fhir.ID, body []byte, ifMatch int64) (*Result, error) {
	if err := CheckType(t); err != nil {
		return nil, err
	}
	if err := CheckID(id); err != nil {
		return nil, err
	}
	if err := e.allow(ctx, InteractionUpdate, t, id, nil); err != nil {
		return nil, err
	}
	p, idx, err := e.prepare(ctx, t, id, body)
	if err != nil {
		return nil, err
	}
	if err := checkBodyID(p, id); err != nil {
		return nil, err
	}
	var res *Result
	err = e.retry(ctx, func(tx Tx) error {
		var err error
		res, err = e.update(ctx, tx, t, id, p, idx, ifMatch)
		return err
	})
	return e.written(ctx, res, err)
}

// written finishes a write: after a successful one, the custom search
// parameters follow a SearchParameter change.
func (e *Engine) written(ctx context.Context, res *Result, err error) (*Result, error) {
	if err != nil {
		return nil, err
	}
	e.afterWrite(ctx, res)
	return res, nil
}

// ConditionalUpdate updates the one resource of type t matching criteria,
// creates body when none matches, and fails with KindPreconditionFailed
// when several do.
func (e *Engine) ConditionalUpdate(ctx context.Context, t fhir.ResourceType, criteria url.Values, body []byte, ifMatch int64) (*Result, error) {
	if err := CheckType(t); err != nil {
		return nil, err
	}
	q, err := e.parseConditional(t, criteria)
	if err != nil {
		return nil, err
	}
	if err := e.allow(ctx, InteractionUpdate, t, "", nil); err != nil {
		return nil, err
	}
	p, idx, err := e.prepare(ctx, t, "", body)
	if err != nil {
		return nil, err
	}
	fresh := newID()
	if p.ID != "" {
		if err := CheckID(p.ID); err != nil {
			return nil, err
		}
		fresh = p.ID
	}
	var res *Result
	err = e.retry(ctx, func(tx Tx) error {
		match, err := matchOne(ctx, tx, q, "the conditional update")
		if err != nil {
			return err
		}
		id := fresh
		if match != nil {
			if p.ID != "" && p.ID != match.ID {
				return invalid(fhir.IssueInvalid, "id", "the resource's id %s is not the id of the resource the criteria match (%s)", p.ID, match.ID)
			}
			id = match.ID
		} else if p.ID != "" {
			// No match and a client id: an update as create, which must
			// not overwrite a resource that the criteria do not select.
			cur, err := tx.Read(ctx, t, p.ID)
			if err != nil && !fhir.IsKind(err, fhir.KindNotFound) {
				return err
			}
			if cur != nil && !cur.Deleted {
				return &fhir.Error{Kind: fhir.KindConflict, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
					Code: fhir.IssueConflict, Expression: []string{"id"}, Diagnostics: "no " + string(t) +
						" matches the criteria, and " + cur.Ref() + " exists but does not match them: it is not overwritten"}}}
			}
		}
		res, err = e.update(ctx, tx, t, id, p, idx, ifMatch)
		return err
	})
	return e.written(ctx, res, err)
}

// update writes p as the next version of t/id inside tx.
func (e *Engine) update(ctx context.Context, tx Tx, t fhir.ResourceType, id fhir.ID, p *fhir.Prepared, idx *search.Index, ifMatch int64) (*Result, error) {
	cur, err := tx.Read(ctx, t, id)
	if err != nil && !fhir.IsKind(err, fhir.KindNotFound) {
		return nil, err
	}
	if err := checkIfMatch(cur, ifMatch); err != nil {
		return nil, err
	}
	if cur != nil && p.SameContent(cur) {
		return &Result{Resource: cur, Unchanged: true}, nil
	}
	r := &fhir.Resource{Type: t, ID: id, Version: 1, Method: fhir.MethodPut}
	if cur != nil {
		r.Version = cur.Version + 1
	}
	if err := e.put(ctx, tx, r, p, idx, InteractionUpdate); err != nil {
		return nil, err
	}
	return &Result{Resource: r, Created: cur == nil || cur.Deleted}, nil
}

// put stamps r with the transaction's time, renders its body and stores it
// with its search values after asking the policy. The values of _id and
// _lastUpdated are known only here.
func (e *Engine) put(ctx context.Context, tx Tx, r *fhir.Resource, p *fhir.Prepared, idx *search.Index, in Interaction) error {
	r.LastUpdated = tx.Now()
	r.Body = p.Render(r.ID, r.Version, r.LastUpdated)
	if err := e.allow(ctx, in, r.Type, r.ID, r); err != nil {
		return err
	}
	return tx.Put(ctx, r, stamped(idx, r))
}

// stamped returns idx with the values of _id and _lastUpdated of r added,
// leaving idx itself as it was (a retried transaction reuses it).
func stamped(idx *search.Index, r *fhir.Resource) *search.Index {
	c := *idx
	c.Tokens = append(slices.Clip(idx.Tokens), search.Token{Param: "_id", Code: string(r.ID)})
	ms := r.LastUpdated.UnixMilli()
	c.Dates = append(slices.Clip(idx.Dates), search.Date{Param: "_lastUpdated", Lo: ms, Hi: ms + 1})
	return &c
}

// Delete deletes t/id: the current version becomes a deletion. Deleting a
// deleted resource changes nothing; an unknown resource is KindNotFound.
func (e *Engine) Delete(ctx context.Context, t fhir.ResourceType, id fhir.ID, ifMatch int64) (*Result, error) {
	if err := CheckType(t); err != nil {
		return nil, err
	}
	if err := e.allow(ctx, InteractionDelete, t, id, nil); err != nil {
		return nil, err
	}
	if !id.Valid() {
		return nil, notFound(t, id)
	}
	var res *Result
	err := e.retry(ctx, func(tx Tx) error {
		cur, err := tx.Read(ctx, t, id)
		if err != nil {
			if fhir.IsKind(err, fhir.KindNotFound) {
				return notFound(t, id)
			}
			return err
		}
		res, err = e.delete(ctx, tx, cur, ifMatch)
		return err
	})
	return e.written(ctx, res, err)
}

// ConditionalDelete deletes the one resource of type t matching criteria.
// No match changes nothing; several matches fail with
// KindPreconditionFailed. ifMatch, when not 0, must name the match's
// current version (IfMatchAny: that there is a match).
func (e *Engine) ConditionalDelete(ctx context.Context, t fhir.ResourceType, criteria url.Values, ifMatch int64) (*Result, error) {
	if err := CheckType(t); err != nil {
		return nil, err
	}
	q, err := e.parseConditional(t, criteria)
	if err != nil {
		return nil, err
	}
	if err := e.allow(ctx, InteractionDelete, t, "", nil); err != nil {
		return nil, err
	}
	var res *Result
	err = e.retry(ctx, func(tx Tx) error {
		match, err := matchOne(ctx, tx, q, "the conditional delete")
		if err == nil && match == nil {
			err = checkIfMatch(nil, ifMatch)
		}
		if err != nil || match == nil {
			res = &Result{Unchanged: true}
			return err
		}
		res, err = e.delete(ctx, tx, match, ifMatch)
		return err
	})
	return e.written(ctx, res, err)
}

func (e *Engine) delete(ctx context.Context, tx Tx, cur *fhir.Resource, ifMatch int64) (*Result, error) {
	if err := checkIfMatch(cur, ifMatch); err != nil {
		return nil, err
	}
	if err := e.allow(ctx, InteractionDelete, cur.Type, cur.ID, cur); err != nil {
		return nil, err
	}
	if cur.Deleted {
		return &Result{Resource: cur, Unchanged: true}, nil
	}
	r := &fhir.Resource{Type: cur.Type, ID: cur.ID, Version: cur.Version + 1, Method: fhir.MethodDelete,
		Deleted: true, LastUpdated: tx.Now()}
	if err := tx.Put(ctx, r, nil); err != nil {
		return nil, err
	}
	return &Result{Resource: r}, nil
}

// write runs fn in a write transaction of the store, fn's work ahead of
// the preparations (see gate).
func (e *Engine) write(ctx context.Context, fn func(tx Tx) error) error {
	return e.store.Write(ctx, func(tx Tx) error {
		e.gate.enterWriter()
		defer e.gate.leave()
		return fn(tx)
	})
}

// retry runs fn in a write transaction, again when it loses a race with
// another writer.
func (e *Engine) retry(ctx context.Context, fn func(tx Tx) error) error {
	var err error
	for range maxAttempts {
		err = e.write(ctx, fn)
		if !fhir.IsKind(err, fhir.KindConflict) {
			return err
		}
	}
	return err
}

// IfMatchAny is the ifMatch argument for "If-Match: *": the write
// proceeds if the resource exists (and is not deleted), whatever its
// version.
const IfMatchAny int64 = -1

// IfNoneMatchAny is the ifMatch argument for "If-None-Match: *" on an
// update: the write proceeds only if the resource does not exist (or is
// deleted), a create with the client's id that never overwrites.
const IfNoneMatchAny int64 = -2

// checkIfMatch fails with KindPreconditionFailed unless ifMatch is 0, the
// current version of the resource, or IfMatchAny for an existing resource.
func checkIfMatch(cur *fhir.Resource, ifMatch int64) error {
	if ifMatch == 0 {
		return nil
	}
	if ifMatch == IfNoneMatchAny {
		if cur != nil && !cur.Deleted {
			return &fhir.Error{Kind: fhir.KindPreconditionFailed, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
				Code: fhir.IssueDuplicate, Diagnostics: "If-None-Match: * requires that the resource not exist, and " + cur.Ref() + " does"}}}
		}
		return nil
	}
	if ifMatch == IfMatchAny {
		if cur == nil || cur.Deleted {
			return &fhir.Error{Kind: fhir.KindPreconditionFailed, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
				Code: fhir.IssueConflict, Diagnostics: "If-Match: * requires the resource to exist"}}}
		}
		return nil
	}
	if cur == nil {
		return &fhir.Error{Kind: fhir.KindPreconditionFailed, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueConflict, Diagnostics: "If-Match names version " + strconv.FormatInt(ifMatch, 10) + " but the resource does not exist"}}}
	}
	if cur.Version != ifMatch {
		return &fhir.Error{Kind: fhir.KindPreconditionFailed, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueConflict, Diagnostics: "If-Match names version " + strconv.FormatInt(ifMatch, 10) +
				" but the current version of " + cur.Ref() + " is " + cur.VersionID()}}}
	}
	return nil
}

func checkBodyID(p *fhir.Prepared, id fhir.ID) error {
	switch {
	case p.ID == "":
		return invalid(fhir.IssueRequired, "id", "the resource has no id; an update must carry the id of the URL (%s)", id)
	case p.ID != id:
		return invalid(fhir.IssueInvalid, "id", "the resource's id %s differs from the id in the URL (%s)", quoteShort(string(p.ID)), id)
	}
	return nil
}

// searcher is what matchOne needs: a Tx, or the Store outside one.
type searcher interface {
	Search(ctx context.Context, q *search.Query) (*SearchResult, error)
}

// matchOne runs q in tx and returns its single match, nil for none, or an
// error of kind KindPreconditionFailed naming what for several.
func matchOne(ctx context.Context, tx searcher, q *search.Query, what string) (*fhir.Resource, error) {
	found, err := tx.Search(ctx, atMostTwo(q))
	if err != nil {
		return nil, err
	}
	switch len(found.Resources) {
	case 0:
		return nil, nil
	case 1:
		return found.Resources[0], nil
	}
	return nil, multipleMatches(q, what)
}

func multipleMatches(q *search.Query, what string) error {
	return &fhir.Error{Kind: fhir.KindPreconditionFailed, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueMultipleMatch, Diagnostics: "the criteria of " + what + " match more than one " + string(q.Types[0])}}}
}

// atMostTwo returns q asking for the first two matches only, enough to
// tell none, one and several apart.
func atMostTwo(q *search.Query) *search.Query {
	c := *q
	c.Count, c.Cursor, c.Sort, c.Total = 2, "", nil, search.TotalNone
	return &c
}

// parseCriteria parses a query string of search criteria ("identifier=a|b").
func (e *Engine) parseCriteria(t fhir.ResourceType, s string) (*search.Query, error) {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[i+1:]
	}
	v, err := url.ParseQuery(s)
	if err != nil {
		return nil, invalid(fhir.IssueInvalid, "", "the search criteria %s are not a valid query string", quoteShort(s))
	}
	return e.parseConditional(t, v)
}

// parseConditional parses the criteria of a conditional interaction: any
// search, but parameters the server cannot evaluate are refused rather
// than ignored, and there must be criteria (empty ones would act on every
// resource).
func (e *Engine) parseConditional(t fhir.ResourceType, criteria url.Values) (*search.Query, error) {
	opts := e.parseOpts
	opts.Conditional = true
	q, err := parse.Parse(e.params, []fhir.ResourceType{t}, criteria, opts)
	if err != nil {
		return nil, err
	}
	if q.Empty() {
		return nil, invalid(fhir.IssueRequired, "", "a conditional interaction needs search criteria")
	}
	return q, nil
}
