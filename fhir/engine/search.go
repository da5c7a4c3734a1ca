package engine

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/model"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/fhir/search/parse"
)

// maxIncluded bounds the resources one page may include, so that an
// _include:iterate or a _revinclude of a hub resource stays a page.
const maxIncluded = 1000

// SearchRequest is a search interaction: on one resource type, or on the
// whole system when Type is empty.
type SearchRequest struct {
	Type   fhir.ResourceType
	Params url.Values
	// Strict refuses unknown parameters (Prefer: handling=strict) instead
	// of ignoring them.
	Strict bool
	// Compartment and Owners, when set, search in the compartments of
	// Compartment/Owners[i] (GET [base]/Patient/1/Observation has one
	// owner): Type is one of the compartment's resource types, or empty
	// for all of them (Patient/1/*, where _type may choose among them).
	Compartment fhir.ResourceType
	Owners      []fhir.ID
	// Clauses are added to those of Params: the selections of an
	// operation that no search parameter names ($everything's care
	// dates).
	Clauses []search.Clause
	// DefaultCount, when set, is the page size without _count, in place
	// of the server's (still capped by its largest page).
	DefaultCount int
}

// SearchPage is one page of a search.
type SearchPage struct {
	Query *search.Query
	// Matches are the page's matches, shaped by _summary and _elements.
	Matches []*fhir.Resource
	// Included are the resources _include and _revinclude brought in.
	Included []*fhir.Resource
	// Total is the number of matches, -1 when not counted.
	Total int
	// Next is the cursor of the next page, "" on the last; Prev that of
	// the page before, "" on the first.
	Next, Prev string
	// Warnings describe ignored parameters.
	Warnings []fhir.Issue
}

// Search runs a search interaction.
func (e *Engine) Search(ctx context.Context, req SearchRequest) (*SearchPage, error) {
	in := InteractionSearchSystem
	var types []fhir.ResourceType
	if req.Type != "" {
		if err := CheckType(req.Type); err != nil {
			return nil, err
		}
		in, types = InteractionSearchType, []fhir.ResourceType{req.Type}
	}
	var comp *search.Compartment
	if req.Compartment != "" {
		var err error
		if comp, types, err = e.compartment(req); err != nil {
			return nil, err
		}
	}
	if err := e.allow(ctx, in, req.Type, "", nil); err != nil {
		return nil, err
	}
	opts := e.parseOpts
	opts.Strict = req.Strict
	if req.DefaultCount > 0 {
		opts.DefaultCount = req.DefaultCount
	}
	q, err := parse.Parse(e.params, types, req.Params, opts)
	if err != nil {
		return nil, err
	}
	if comp != nil {
		owners := make([]search.Value, len(req.Owners))
		for i, id := range req.Owners {
			owners[i] = search.Value{Type: comp.Code, ID: id}
		}
		q.Clauses = append(q.Clauses, search.Clause{Param: search.CompartmentParam, Type: search.TypeReference, Values: owners})
	}
	q.Clauses = append(q.Clauses, req.Clauses...)
	if err := e.checkPending(q); err != nil {
		return nil, err
	}
	res, err := e.reader(ctx).Search(ctx, q)
	if err != nil {
		return nil, err
	}
	page := &SearchPage{Query: q, Matches: res.Resources, Total: res.Total, Next: res.Next, Prev: res.Prev}
	if page.Total < 0 && q.Cursor == "" && page.Next == "" && q.Total != search.TotalNone {
		page.Total = len(page.Matches) // all matches are on this first page
	}
	for _, name := range q.Unknown {
		page.Warnings = append(page.Warnings, fhir.Issue{Severity: fhir.SeverityWarning, Code: fhir.IssueNotSupported,
			Diagnostics: "the parameter " + name + " is not supported and was ignored", Expression: []string{name}})
	}
	for _, r := range page.Matches {
		if err := e.allow(ctx, in, r.Type, r.ID, r); err != nil {
			return nil, err
		}
	}
	if page.Included, err = e.include(ctx, q, page.Matches); err != nil {
		return nil, err
	}
	for _, r := range page.Included {
		if err := e.allow(ctx, in, r.Type, r.ID, r); err != nil {
			return nil, err
		}
	}
	shape(q, page.Matches)
	shape(q, page.Included)
	return page, nil
}

// compartment returns the compartment a search is in and the types it
// searches there (search.Compartment).
func (e *Engine) compartment(req SearchRequest) (*search.Compartment, []fhir.ResourceType, error) {
	c := search.CompartmentOf(req.Compartment)
	if c == nil {
		if err := CheckType(req.Compartment); err != nil {
			return nil, nil, err
		}
		var owners []string
		for _, c := range search.Compartments() {
			owners = append(owners, string(c.Code))
		}
		return nil, nil, fhir.Errorf(fhir.KindNotFound, "%s has no compartment: R4 defines those of %s", req.Compartment, strings.Join(owners, ", "))
	}
	if len(req.Owners) == 0 {
		return nil, nil, fhir.Errorf(fhir.KindInvalid, "a search in the %s compartment names its owner", c.Code)
	}
	for _, id := range req.Owners {
		if !id.Valid() {
			return nil, nil, notFound(req.Compartment, id)
		}
	}
	if req.Type == "" {
		return c, c.Types(), nil
	}
	if !c.Has(req.Type) {
		return nil, nil, invalid(fhir.IssueNotSupported, "", "%s is not in the %s compartment (%s)", req.Type, c.Code, c.URL)
	}
	return c, []fhir.ResourceType{req.Type}, nil
}

// include returns the resources that _include and _revinclude (with
// :iterate) bring in for matches, without the matches themselves.
func (e *Engine) include(ctx context.Context, q *search.Query, matches []*fhir.Resource) ([]*fhir.Resource, error) {
	if len(q.Include) == 0 && len(q.RevInclude) == 0 {
		return nil, nil
	}
	seen := map[string]bool{}
	for _, r := range matches {
		seen[r.Ref()] = true
	}
	var out []*fhir.Resource
	add := func(rs []*fhir.Resource) (fresh []*fhir.Resource) {
		for _, r := range rs {
			if !seen[r.Ref()] && len(out) < maxIncluded {
				seen[r.Ref()] = true
				out = append(out, r)
				fresh = append(fresh, r)
			}
		}
		return fresh
	}
	// The first round works from the matches; :iterate rounds from what
	// the previous round brought in, until nothing new comes.
	from, first := matches, true
	for len(from) > 0 && len(out) < maxIncluded {
		var round []*fhir.Resource
		for _, inc := range q.Include {
			if !first && !inc.Iterate {
				continue
			}
			rs, err := e.includeTargets(ctx, inc, from)
			if err != nil {
				return nil, err
			}
			round = append(round, add(rs)...)
		}
		for _, inc := range q.RevInclude {
			if !first && !inc.Iterate {
				continue
			}
			rs, err := e.revIncludeSources(ctx, inc, from)
			if err != nil {
				return nil, err
			}
			round = append(round, add(rs)...)
		}
		from, first = round, false
	}
	return out, nil
}

// includeTargets returns the resources that resources of inc.Source among
// from refer to through inc.Param.
func (e *Engine) includeTargets(ctx context.Context, inc search.Include, from []*fhir.Resource) ([]*fhir.Resource, error) {
	byType := map[fhir.ResourceType][]search.Value{}
	for _, r := range from {
		if (inc.Source != "" && r.Type != inc.Source) || r.Deleted {
			continue
		}
		idx, err := e.extractor.Extract(r.Type, r.Body)
		if err != nil {
			return nil, err
		}
		for _, ref := range idx.References {
			if (inc.Param != "*" && ref.Param != inc.Param) || ref.ID == "" || (inc.Target != "" && ref.Type != inc.Target) {
				continue
			}
			byType[ref.Type] = append(byType[ref.Type], search.Value{Code: string(ref.ID)})
		}
	}
	var out []*fhir.Resource
	for _, t := range sortedTypes(byType) {
		res, err := e.reader(ctx).Search(ctx, &search.Query{Types: []fhir.ResourceType{t}, Count: maxIncluded, Total: search.TotalNone,
			Clauses: []search.Clause{{Param: "_id", Type: search.TypeToken, Values: byType[t]}}})
		if err != nil {
			return nil, err
		}
		out = append(out, res.Resources...)
	}
	return out, nil
}

// revIncludeSources returns the resources of inc.Source (of any type when
// it is empty, as for _revinclude=*) that refer to resources among from
// through inc.Param (any reference parameter for "*").
func (e *Engine) revIncludeSources(ctx context.Context, inc search.Include, from []*fhir.Resource) ([]*fhir.Resource, error) {
	var targets []search.Value
	for _, r := range from {
		targets = append(targets, search.Value{Type: r.Type, ID: r.ID})
	}
	// One search per parameter code, on every type that defines it.
	var sources map[string][]fhir.ResourceType
	switch {
	case inc.Source == "":
		sources = e.referenceParams(model.ResourceTypes())
	case inc.Param == "*":
		sources = e.referenceParams([]string{string(inc.Source)})
	default:
		sources = map[string][]fhir.ResourceType{inc.Param: {inc.Source}}
	}
	codes := make([]string, 0, len(sources))
	for code := range sources {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	var out []*fhir.Resource
	for _, code := range codes {
		res, err := e.reader(ctx).Search(ctx, &search.Query{Types: sources[code], Count: maxIncluded, Total: search.TotalNone,
			Clauses: []search.Clause{{Param: code, Type: search.TypeReference, Values: targets}}})
		if err != nil {
			return nil, err
		}
		out = append(out, res.Resources...)
		if len(out) >= maxIncluded {
			break
		}
	}
	return out, nil
}

// referenceParams returns the codes of the reference parameters of types,
// each with the types that define it.
func (e *Engine) referenceParams(types []string) map[string][]fhir.ResourceType {
	out := map[string][]fhir.ResourceType{}
	for _, t := range types {
		for _, p := range e.params.Params(fhir.ResourceType(t)) {
			if p.Type == search.TypeReference {
				out[p.Code] = append(out[p.Code], fhir.ResourceType(t))
			}
		}
	}
	return out
}

func sortedTypes[V any](m map[fhir.ResourceType]V) []fhir.ResourceType {
	out := make([]fhir.ResourceType, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Shape applies the _summary and _elements of params to the resources a
// read, vread or history answers with, as a search applies them (t is
// their type, "" for a system history): a subset, tagged SUBSETTED. Other
// parameters are left to the caller; invalid values, and _summary=count,
// are refused.
func (e *Engine) Shape(t fhir.ResourceType, params url.Values, rs []*fhir.Resource) ([]*fhir.Resource, error) {
	only := url.Values{}
	for _, k := range []string{"_summary", "_elements"} {
		if v, ok := params[k]; ok {
			only[k] = v
		}
	}
	if len(only) == 0 {
		return rs, nil
	}
	var types []fhir.ResourceType
	if t != "" {
		types = []fhir.ResourceType{t}
	}
	q, err := parse.Parse(e.params, types, only, e.parseOpts)
	if err != nil {
		return nil, err
	}
	if q.Summary == search.SummaryCount {
		return nil, invalid(fhir.IssueNotSupported, "_summary", "_summary=count applies to searches, not here")
	}
	out := slices.Clone(rs)
	shape(q, out)
	return out, nil
}

// shape applies _summary and _elements to resources; a deletion (of a
// history) has no body to shape.
func shape(q *search.Query, rs []*fhir.Resource) {
	var keep func(el *model.Element, name string) bool
	switch {
	case len(q.Elements) > 0:
		keep = func(el *model.Element, name string) bool {
			return slices.Contains(q.Elements, name) || (el != nil && (slices.Contains(q.Elements, el.Name) || el.Min > 0))
		}
	case q.Summary == search.SummaryTrue:
		keep = func(el *model.Element, _ string) bool { return el != nil && (el.Summary || el.Min > 0) }
	case q.Summary == search.SummaryText:
		keep = func(el *model.Element, name string) bool { return name == "text" || (el != nil && el.Min > 0) }
	case q.Summary == search.SummaryData:
		keep = func(_ *model.Element, name string) bool { return name != "text" }
	default:
		return
	}
	for i, r := range rs {
		if r.Deleted {
			continue
		}
		t := model.Lookup(string(r.Type))
		c := *r
		c.Body = fhir.Subset(r.Body, func(name string) bool { return keep(t.ElementByJSONName(name), name) })
		rs[i] = &c
	}
}
