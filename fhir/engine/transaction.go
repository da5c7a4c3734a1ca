package engine

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// TxEntry is one write of a transaction Bundle: an entry's request and
// resource, as the server parsed them.
type TxEntry struct {
	// Index is the entry's position in the Bundle, for error locations.
	Index int
	// FullURL is entry.fullUrl: links to it from the other entries are
	// rewritten to the resource's Type/id.
	FullURL string
	// Base is the server's base URL. A relative reference ("Patient/1")
	// is read against the base of the fullUrl of the entry it is in, when
	// that is a RESTful URL ([base]/Patient/1), and against Base
	// otherwise; it links to the entry whose fullUrl it then equals
	// (bundle.html#references).
	Base string
	// Method is POST, PUT, PATCH or DELETE.
	Method string
	Type   fhir.ResourceType
	// ID is the id of a PUT, PATCH or DELETE by id; Criteria the search
	// criteria of a conditional one (entry.request.url "Type?...").
	ID       fhir.ID
	Criteria url.Values
	// Body is entry.resource for POST and PUT, the patch document for
	// PATCH, in PatchFormat.
	Body        []byte
	PatchFormat PatchFormat
	// IfNoneExist makes a POST conditional; IfMatch (a version, or
	// IfMatchAny) guards a PUT, PATCH or DELETE.
	IfNoneExist string
	IfMatch     int64
}

// txPlan is what a transaction attempt decided before its write: each
// entry's identity and prepared content, and the searches it relied on.
type txPlan struct {
	entries []*txItem
	// links maps fullUrls to the Type/id of their resources.
	links map[string]string
	// checks are the conditional searches resolved before the write,
	// with what they found; the write runs them again and starts over
	// when one finds something else.
	checks []txCheck
}

type txItem struct {
	*TxEntry
	// id is the resource's id: assigned to a POST, the URL's for PUT,
	// PATCH and DELETE by id, the match's (or a new one) for a
	// conditional PUT.
	id fhir.ID
	// match is the existing resource an ifNoneExist found (the POST then
	// writes nothing).
	match *fhir.Resource
	// same is the earlier POST of the transaction with the same type and
	// ifNoneExist: this one stands for the resource that one creates or
	// finds, and writes nothing.
	same *txItem
	// res is the entry's result, once written.
	res  *Result
	cond *search.Query // conditional PUT, PATCH or DELETE
	// condMatched: a conditional PUT found the resource it updates.
	condMatched bool
	p           *fhir.Prepared
	idx         *search.Index
	patch       patcher
}

type txCheck struct {
	q     *search.Query
	found fhir.ID // "" for none
	// except are the resources (Type/id) the search ignores: those the
	// transaction deletes, which it does before its conditional creates.
	except map[string]bool
}

// errStale ends a transaction attempt whose conditional searches found
// something else inside the write than before it: another writer came in
// between, and the attempt starts again.
var errStale = errors.New("the transaction's conditional searches changed before its write")

// Transaction carries out the writes of a transaction Bundle in one store
// transaction: all of them or none. It processes deletes, then creates,
// then updates and patches (the order of the specification), gives each
// created resource its id, and rewrites the links between entries
// (references to a fullUrl, and conditional references, which must match
// exactly one resource) before validating each resource. The results are
// in the order of entries. An error names the entry that caused it.
func (e *Engine) Transaction(ctx context.Context, entries []TxEntry) ([]*Result, error) {
	return e.TransactionWithReads(ctx, entries, nil)
}

// TransactionWithReads is Transaction with the reads of the Bundle (its
// GET and HEAD entries, which the specification processes last): reads,
// when not nil, runs inside the store transaction after the writes, and
// an error from it fails the whole transaction, which then writes
// nothing. Under the context reads is given, the engine's reads (Read,
// Search and its includes) see the transaction's writes; VRead and
// History see what is committed. reads may run more than once, when the
// transaction starts over (see errStale).
func (e *Engine) TransactionWithReads(ctx context.Context, entries []TxEntry, reads func(ctx context.Context) error) ([]*Result, error) {
	items := make([]*txItem, len(entries))
	targets := map[string]int{}
	for i := range entries {
		it := &txItem{TxEntry: &entries[i]}
		if err := e.checkTxEntry(ctx, it); err != nil {
			return nil, entryErr(it.TxEntry, err)
		}
		if it.ID != "" {
			ref := string(it.Type) + "/" + string(it.ID)
			if j, dup := targets[ref]; dup {
				return nil, entryErr(it.TxEntry, invalid(fhir.IssueDuplicate, "",
					"%s is the target of entry %d too: a transaction may change a resource once", ref, j))
			}
			targets[ref] = it.Index
		}
		items[i] = it
	}
	var err error
	for range maxAttempts {
		var plan *txPlan
		if plan, err = e.planTx(ctx, items); err != nil {
			return nil, err
		}
		e.log.DebugContext(ctx, "transaction prepared; writing", "entries", len(items))
		var results []*Result
		results, err = e.writeTx(ctx, plan, reads)
		if errors.Is(err, errStale) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, res := range results {
			e.afterWrite(ctx, res)
		}
		return results, nil
	}
	return nil, &fhir.Error{Kind: fhir.KindConflict, Err: err, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueConflict, Diagnostics: "the transaction's conditional entries kept changing under concurrent writes; try again"}}}
}

// checkTxEntry checks an entry's request and asks the policy.
func (e *Engine) checkTxEntry(ctx context.Context, it *txItem) error {
	if err := CheckType(it.Type); err != nil {
		return err
	}
	var in Interaction
	switch it.Method {
	case "POST":
		in = InteractionCreate
		if it.ID != "" || it.Criteria != nil {
			return requestErr("a create (POST) names the type only: %s", "POST "+string(it.Type))
		}
	case "PUT":
		in = InteractionUpdate
	case "PATCH":
		in = InteractionPatch
	case "DELETE":
		in = InteractionDelete
	default:
		return requestErr("the method %s is not a write", it.Method)
	}
	if it.Method != "POST" {
		if it.ID == "" && it.Criteria == nil {
			return requestErr("a %s needs an id or search criteria in its url", it.Method)
		}
		if it.ID != "" {
			if err := CheckID(it.ID); err != nil {
				return err
			}
		}
		if it.IfNoneExist != "" {
			return requestErr("ifNoneExist applies to a create (POST) only, not to a %s", it.Method)
		}
	}
	if (it.Method == "POST" || it.Method == "PUT") && len(it.Body) == 0 {
		return &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueRequired, Diagnostics: "a " + it.Method + " entry needs a resource", Expression: []string{"resource"}}}}
	}
	if it.Method == "PATCH" {
		ops, err := decodePatch(it.PatchFormat, it.Body)
		if err != nil {
			return err
		}
		it.patch = ops
	}
	return e.allow(ctx, in, it.Type, it.ID, nil)
}

func requestErr(format string, args ...any) *fhir.Error {
	return invalid(fhir.IssueInvalid, "request", format, args...)
}

// planTx decides each entry's identity from the store as it is now,
// rewrites the links of the resources and prepares them (validation and
// search values), in parallel.
func (e *Engine) planTx(ctx context.Context, items []*txItem) (*txPlan, error) {
	plan := &txPlan{entries: items, links: map[string]string{}}
	// The deletes come first: a conditional create does not find what
	// they delete.
	deleted := map[string]bool{}
	for _, it := range items {
		it.id, it.match, it.same, it.cond, it.condMatched, it.p, it.idx, it.res = it.ID, nil, nil, nil, false, nil, nil, nil
		if it.Method != "DELETE" {
			continue
		}
		if it.Criteria == nil {
			deleted[string(it.Type)+"/"+string(it.ID)] = true
			continue
		}
		q, err := e.parseConditional(it.Type, it.Criteria)
		if err != nil {
			return nil, entryErr(it.TxEntry, err)
		}
		it.cond = q
		match, err := matchOne(ctx, e.store, q, "the conditional delete")
		if err != nil {
			return nil, entryErr(it.TxEntry, err)
		}
		plan.checks = append(plan.checks, txCheck{q: q, found: idOf(match)})
		if match != nil {
			deleted[match.Ref()] = true
		}
	}
	creates := map[string]*txItem{} // conditional creates by type and criteria
	for _, it := range items {
		switch {
		case it.Method == "DELETE":
		case it.Method == "POST" && it.IfNoneExist != "":
			q, err := e.parseCriteria(it.Type, it.IfNoneExist)
			if err != nil {
				return nil, entryErr(it.TxEntry, err)
			}
			key := string(it.Type) + "?" + criteriaKey(it.IfNoneExist)
			if first := creates[key]; first != nil {
				it.same, it.match, it.id = first, first.match, first.id
				break
			}
			creates[key] = it
			match, err := matchOneExcept(ctx, e.store, q, "ifNoneExist", deleted)
			if err != nil {
				return nil, entryErr(it.TxEntry, err)
			}
			plan.checks = append(plan.checks, txCheck{q: q, found: idOf(match), except: deleted})
			if it.match = match; match != nil {
				it.id = match.ID
			} else {
				it.id = newID()
			}
		case it.Method == "POST":
			it.id = newID()
		case it.Criteria != nil:
			q, err := e.parseConditional(it.Type, it.Criteria)
			if err != nil {
				return nil, entryErr(it.TxEntry, err)
			}
			it.cond = q
			if it.Method == "PUT" {
				match, err := matchOne(ctx, e.store, q, "the conditional update")
				if err != nil {
					return nil, entryErr(it.TxEntry, err)
				}
				plan.checks = append(plan.checks, txCheck{q: q, found: idOf(match)})
				if match != nil {
					it.id, it.condMatched = match.ID, true
				} else {
					// An update as create: the body's id, or a new one.
					it.id = newID()
					var head struct {
						ID fhir.ID `json:"id"`
					}
					if json.Unmarshal(it.Body, &head) == nil && head.ID != "" {
						if err := CheckID(head.ID); err != nil {
							return nil, entryErr(it.TxEntry, err)
						}
						it.id = head.ID
					}
				}
			}
		}
		if it.FullURL != "" && it.id != "" {
			if _, dup := plan.links[it.FullURL]; dup {
				return nil, entryErr(it.TxEntry, invalid(fhir.IssueDuplicate, "fullUrl",
					"the fullUrl %s is that of another entry too", quoteShort(it.FullURL)))
			}
			plan.links[it.FullURL] = string(it.Type) + "/" + string(it.id)
		}
	}
	if err := e.prepareTx(ctx, plan); err != nil {
		return nil, err
	}
	return plan, nil
}

func idOf(r *fhir.Resource) fhir.ID {
	if r == nil {
		return ""
	}
	return r.ID
}

// prepareTx rewrites and prepares the resources of the POST and PUT
// entries, on every core.
func (e *Engine) prepareTx(ctx context.Context, plan *txPlan) error {
	var mu sync.Mutex
	conditional := map[string]fhir.ID{} // conditional references resolved
	link := func(it *txItem) linker {
		base := it.Base
		if b, ok := restfulBase(it.FullURL); ok {
			base = b
		}
		return func(kind linkKind, v string) (string, bool, error) {
			if to, ok := plan.links[v]; ok {
				return to, true, nil
			}
			if kind == linkReference && base != "" && relativeRef.MatchString(v) {
				if to, ok := plan.links[base+"/"+v]; ok {
					return to, true, nil
				}
			}
			if kind == linkReference && IsPlaceholder(v) {
				// A placeholder for an entry of the Bundle, and none has
				// it as fullUrl: stored, it would never resolve.
				return "", false, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
					Code: fhir.IssueNotFound, Diagnostics: "the reference " + quoteShort(v) + " is the fullUrl of no entry of the Bundle"}}}
			}
			if kind != linkReference || !isConditionalRef(v) {
				return "", false, nil
			}
			t, query, _ := strings.Cut(v, "?")
			mu.Lock()
			id, seen := conditional[v]
			mu.Unlock()
			if !seen {
				q, err := e.parseCriteria(fhir.ResourceType(t), query)
				if err != nil {
					return "", false, err
				}
				match, err := matchOne(ctx, e.store, q, "the conditional reference "+quoteShort(v))
				if err != nil {
					return "", false, err
				}
				if match == nil {
					return "", false, &fhir.Error{Kind: fhir.KindPreconditionFailed, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
						Code: fhir.IssueNotFound, Diagnostics: "the conditional reference " + quoteShort(v) + " matches no " + t}}}
				}
				id = match.ID
				mu.Lock()
				if _, again := conditional[v]; !again {
					conditional[v] = id
					plan.checks = append(plan.checks, txCheck{q: q, found: id})
				}
				mu.Unlock()
			}
			return t + "/" + string(id), true, nil
		}
	}
	var work []*txItem
	for _, it := range plan.entries {
		if (it.Method == "POST" && it.match == nil && it.same == nil) || it.Method == "PUT" {
			work = append(work, it)
		}
	}
	errs := make([]error, len(work))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(work)) {
		wg.Go(func() {
			for k := range next {
				errs[k] = e.prepareTxItem(ctx, work[k], link(work[k]))
			}
		})
	}
	for k := range work {
		next <- k
	}
	close(next)
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			return entryErr(work[k].TxEntry, err)
		}
	}
	return nil
}

// relativeRef matches a relative reference to a resource, Type/id.
var relativeRef = regexp.MustCompile(`^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$`)

// restfulBase returns the base of a RESTful URL, [base]/Type/id with a
// known resource type, optionally with /_history/version.
func restfulBase(fullURL string) (string, bool) {
	u := fullURL
	if i := strings.LastIndex(u, "/_history/"); i >= 0 {
		u = u[:i]
	}
	i := strings.LastIndexByte(u, '/')
	if i < 0 {
		return "", false
	}
	j := strings.LastIndexByte(u[:i], '/')
	if j < 0 || !relativeRef.MatchString(u[j+1:]) || CheckType(fhir.ResourceType(u[j+1:i])) != nil {
		return "", false
	}
	if base := u[:j]; strings.HasPrefix(base, "http://") || strings.HasPrefix(base, "https://") {
		return base, true
	}
	return "", false
}

// criteriaKey returns search criteria in one form whatever the order of
// their parameters, so that equal criteria give equal keys.
func criteriaKey(criteria string) string {
	if v, err := url.ParseQuery(strings.TrimPrefix(criteria, "?")); err == nil {
		return v.Encode()
	}
	return criteria
}

// matchOneExcept is matchOne ignoring the resources of except (Type/id).
func matchOneExcept(ctx context.Context, tx searcher, q *search.Query, what string, except map[string]bool) (*fhir.Resource, error) {
	if len(except) == 0 {
		return matchOne(ctx, tx, q, what)
	}
	c := atMostTwo(q)
	c.Count += len(except)
	found, err := tx.Search(ctx, c)
	if err != nil {
		return nil, err
	}
	var kept []*fhir.Resource
	for _, r := range found.Resources {
		if !except[r.Ref()] {
			kept = append(kept, r)
		}
	}
	switch len(kept) {
	case 0:
		return nil, nil
	case 1:
		return kept[0], nil
	}
	return nil, multipleMatches(q, what)
}

// isConditionalRef reports whether a reference is a search ("Type?...").
func isConditionalRef(v string) bool {
	t, _, ok := strings.Cut(v, "?")
	return ok && t != "" && !strings.ContainsAny(t, "/:")
}

func (e *Engine) prepareTxItem(ctx context.Context, it *txItem, link linker) error {
	body, _, err := rewriteLinks(it.Body, string(it.Type), link)
	if err != nil {
		var fe *fhir.Error
		if errors.As(err, &fe) {
			return err
		}
		// Not JSON that the walk could read: let the preparation say why.
		body = it.Body
	}
	id := it.id
	if it.Method == "POST" {
		id = placeholderID
	}
	p, idx, err := e.prepare(ctx, it.Type, id, body)
	if err != nil {
		return err
	}
	it.p, it.idx = p, idx
	switch {
	case it.Method == "PUT" && it.Criteria == nil:
		return checkBodyID(p, it.id)
	case it.Method == "PUT" && p.ID != "" && p.ID != it.id:
		return invalid(fhir.IssueInvalid, "id", "the resource's id %s is not the id of the resource the criteria match (%s)", p.ID, it.id)
	}
	return nil
}

// txOrder is the order in which the specification processes methods.
var txOrder = []string{"DELETE", "POST", "PUT", "PATCH"}

// writeTx writes the plan in one store transaction, then runs reads (if
// not nil) in it.
func (e *Engine) writeTx(ctx context.Context, plan *txPlan, reads func(ctx context.Context) error) ([]*Result, error) {
	results := make([]*Result, len(plan.entries))
	err := e.write(ctx, func(tx Tx) error {
		for _, c := range plan.checks {
			match, err := matchOneExcept(ctx, tx, c.q, "a conditional entry", c.except)
			if err != nil || idOf(match) != c.found {
				return errStale
			}
		}
		written := map[string]int{}
		for _, method := range txOrder {
			for k, it := range plan.entries {
				if it.Method != method {
					continue
				}
				res, err := e.writeTxItem(ctx, tx, it)
				if err != nil {
					if fhir.IsKind(err, fhir.KindConflict) && it.Method == "POST" {
						return errStale // an assigned id was taken meanwhile
					}
					return entryErr(it.TxEntry, err)
				}
				if r := res.Resource; r != nil && !res.Unchanged {
					if j, dup := written[r.Ref()]; dup {
						return entryErr(it.TxEntry, invalid(fhir.IssueDuplicate, "",
							"%s is the target of entry %d too: a transaction may change a resource once", r.Ref(), j))
					}
					written[r.Ref()] = it.Index
				}
				it.res, results[k] = res, res
			}
		}
		if reads != nil {
			return reads(context.WithValue(ctx, txKey{}, tx))
		}
		return nil
	})
	return results, err
}

// txKey carries, in the context of a transaction's reads, the store
// transaction they run in.
type txKey struct{}

// reader reads resources and searches them.
type reader interface {
	Read(ctx context.Context, t fhir.ResourceType, id fhir.ID) (*fhir.Resource, error)
	Search(ctx context.Context, q *search.Query) (*SearchResult, error)
}

// reader returns what the engine reads with: the store, or, in the reads
// of a transaction, its store transaction.
func (e *Engine) reader(ctx context.Context) reader {
	if tx, ok := ctx.Value(txKey{}).(Tx); ok {
		return tx
	}
	return e.store
}

// writeTxItem carries out one entry inside the transaction.
func (e *Engine) writeTxItem(ctx context.Context, tx Tx, it *txItem) (*Result, error) {
	switch it.Method {
	case "DELETE":
		cur, err := e.txTarget(ctx, tx, it, "the conditional delete")
		if err == nil && cur == nil {
			err = checkIfMatch(nil, it.IfMatch)
		}
		if err != nil || cur == nil {
			if err == nil {
				return &Result{Unchanged: true}, nil
			}
			return nil, err
		}
		return e.delete(ctx, tx, cur, it.IfMatch)
	case "POST":
		if it.same != nil {
			return &Result{Resource: it.same.res.Resource, Unchanged: true}, nil
		}
		if it.match != nil {
			return &Result{Resource: it.match, Unchanged: true}, nil
		}
		r := &fhir.Resource{Type: it.Type, ID: it.id, Version: 1, Method: fhir.MethodPost}
		if err := e.put(ctx, tx, r, it.p, it.idx, InteractionCreate); err != nil {
			return nil, err
		}
		return &Result{Resource: r, Created: true}, nil
	case "PUT":
		if it.cond != nil && !it.condMatched {
			// No match: an update as create must not overwrite a resource
			// the criteria do not select.
			cur, err := tx.Read(ctx, it.Type, it.id)
			if err != nil && !fhir.IsKind(err, fhir.KindNotFound) {
				return nil, err
			}
			if cur != nil && !cur.Deleted {
				return nil, &fhir.Error{Kind: fhir.KindConflict, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
					Code: fhir.IssueConflict, Expression: []string{"id"}, Diagnostics: "no " + string(it.Type) +
						" matches the criteria, and " + cur.Ref() + " exists but does not match them: it is not overwritten"}}}
			}
		}
		return e.update(ctx, tx, it.Type, it.id, it.p, it.idx, it.IfMatch)
	case "PATCH":
		cur, err := e.txTarget(ctx, tx, it, "the conditional patch")
		if err != nil {
			return nil, err
		}
		if cur == nil {
			return nil, &fhir.Error{Kind: fhir.KindNotFound, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
				Code: fhir.IssueNotFound, Diagnostics: "no " + string(it.Type) + " matches the criteria of the conditional patch"}}}
		}
		if cur.Deleted {
			return nil, gone(cur)
		}
		if err := checkIfMatch(cur, it.IfMatch); err != nil {
			return nil, err
		}
		return e.patchIn(ctx, tx, cur, it.patch)
	}
	return nil, requestErr("the method %s is not a write", it.Method)
}

// txTarget returns the resource a DELETE or PATCH entry acts on: by id
// (KindNotFound when unknown), or the one match of its criteria (nil for
// none).
func (e *Engine) txTarget(ctx context.Context, tx Tx, it *txItem, what string) (*fhir.Resource, error) {
	if it.cond != nil {
		return matchOne(ctx, tx, it.cond, what)
	}
	cur, err := tx.Read(ctx, it.Type, it.id)
	if fhir.IsKind(err, fhir.KindNotFound) {
		return nil, notFound(it.Type, it.id)
	}
	return cur, err
}

// entryErr locates err in entry en of the Bundle: its issues' expressions
// become paths in the Bundle, and the diagnostics say which entry.
func entryErr(en *TxEntry, err error) error {
	var fe *fhir.Error
	if !errors.As(err, &fe) {
		return err
	}
	out := *fe
	out.Issues = make([]fhir.Issue, len(fe.Issues))
	at := "Bundle.entry[" + strconv.Itoa(en.Index) + "]"
	what := "entry " + strconv.Itoa(en.Index) + " (" + en.Method + " " + string(en.Type) + ")"
	for i, is := range fe.Issues {
		is.Diagnostics = what + ": " + is.Diagnostics
		exprs := make([]string, 0, len(is.Expression))
		for _, x := range is.Expression {
			switch {
			case x == "request" || strings.HasPrefix(x, "request.") || x == "resource" || strings.HasPrefix(x, "resource.") || x == "fullUrl":
				exprs = append(exprs, at+"."+x)
			case x == string(en.Type):
				exprs = append(exprs, at+".resource")
			case strings.HasPrefix(x, string(en.Type)+"."):
				exprs = append(exprs, at+".resource"+x[len(en.Type):])
			case en.Method == "PATCH" && strings.HasPrefix(x, "Parameters."):
				// A part of the entry's FHIRPath Patch document.
				exprs = append(exprs, at+".resource"+x[len("Parameters"):])
			default:
				exprs = append(exprs, at+".resource."+x)
			}
		}
		if len(exprs) == 0 {
			exprs = append(exprs, at)
		}
		is.Expression = exprs
		out.Issues[i] = is
	}
	return &out
}
