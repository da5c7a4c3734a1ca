package search

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/model"
)

// Table is the Registry of a server: the R4 search parameters (see
// NewTable) and the custom parameters added from SearchParameter resources.
//
// Lookups never block: the table is copy-on-write. Add and Remove build a
// new version of the table and publish it atomically, so a Lookup or Params
// sees either the table before or after a change, never half of it; the
// slices and parameters it returns stay valid and unchanged afterwards.
// Changes are serialised among themselves. Custom parameters are rare and
// change seldom, which is what makes copying on write the right trade.
type Table struct {
	mu  sync.Mutex // serialises Add and Remove
	cur atomic.Pointer[tableState]
}

var _ Registry = (*Table)(nil)

// tableState is one immutable version of a Table.
type tableState struct {
	byType map[fhir.ResourceType]*typeParams
	byURL  map[string]*Param
	custom map[string]bool // URLs of the parameters added with Add
}

// typeParams are the parameters of one resource type.
type typeParams struct {
	byCode map[string]*Param
	list   []*Param // sorted by code
}

// NewTable returns a table holding the search parameters of FHIR R4: the
// 1,375 definitions of the specification (decoded once from the embedded
// table and shared by every Table) and the parameters the search page
// defines without a SearchParameter (_list, _has, _type). Parameters whose
// base is Resource or DomainResource apply to every type derived from it.
func NewTable() *Table {
	t := &Table{}
	t.cur.Store(r4State())
	return t
}

// Lookup returns the parameter code of resource type t, including the
// parameters of Resource and DomainResource.
func (tb *Table) Lookup(t fhir.ResourceType, code string) (*Param, bool) {
	tp := tb.cur.Load().byType[t]
	if tp == nil {
		return nil, false
	}
	p, ok := tp.byCode[code]
	return p, ok
}

// Params returns every parameter of resource type t, sorted by code, or nil
// for an unknown type. The slice is shared: callers must not modify it.
func (tb *Table) Params(t fhir.ResourceType) []*Param {
	tp := tb.cur.Load().byType[t]
	if tp == nil {
		return nil
	}
	return tp.list
}

// ByURL returns the parameter with the canonical URL url.
func (tb *Table) ByURL(url string) (*Param, bool) {
	p, ok := tb.cur.Load().byURL[url]
	return p, ok
}

// Add adds a custom parameter, or replaces the custom parameter with the
// same URL. The table keeps a copy of p. It fails with an Error of kind
// KindUnprocessable when p is incomplete, names an unknown base type,
// redefines an R4 parameter (adding one identical to the R4 definition of
// its URL is accepted and changes nothing), or uses a code that another
// parameter already has on one of its base types.
func (tb *Table) Add(p *Param) error {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	old := tb.cur.Load()
	same, err := old.check(p)
	if err != nil || same {
		return err
	}
	cp := cloneParam(p)
	next := old.clone()
	if prev, ok := old.byURL[cp.URL]; ok {
		next.remove(prev)
	}
	next.add(cp)
	next.custom[cp.URL] = true
	tb.cur.Store(next)
	return nil
}

// CanAdd reports, as Add would, why p cannot be added, without adding it.
func (tb *Table) CanAdd(p *Param) error {
	_, err := tb.cur.Load().check(p)
	return err
}

// check returns why p cannot be added to s, or whether it is the R4
// definition of its URL (adding it changes nothing).
func (s *tableState) check(p *Param) (same bool, err error) {
	if err := checkParam(p); err != nil {
		return false, err
	}
	if prev, ok := s.byURL[p.URL]; ok && !s.custom[p.URL] {
		if sameDefinition(prev, p) {
			return true, nil
		}
		return false, unprocessable(fhir.IssueBusinessRule, "SearchParameter.url", "%s is an R4 search parameter and cannot be redefined", p.URL)
	}
	for _, t := range appliesTo(p.Base) {
		if q := s.byType[t].byCode[p.Code]; q != nil && q.URL != p.URL {
			return false, unprocessable(fhir.IssueDuplicate, "SearchParameter.code", "%s already has a search parameter %s (%s)", t, p.Code, q.URL)
		}
	}
	return false, nil
}

// Remove removes the custom parameter with canonical URL url. It does
// nothing when there is none; the R4 parameters cannot be removed.
func (tb *Table) Remove(url string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	old := tb.cur.Load()
	p, ok := old.byURL[url]
	if !ok || !old.custom[url] {
		return
	}
	next := old.clone()
	next.remove(p)
	delete(next.custom, url)
	tb.cur.Store(next)
}

// newState indexes params by type and URL.
func newState(params []*Param) *tableState {
	s := &tableState{byType: map[fhir.ResourceType]*typeParams{}, byURL: map[string]*Param{}, custom: map[string]bool{}}
	for _, rt := range model.ResourceTypes() {
		s.byType[fhir.ResourceType(rt)] = &typeParams{byCode: map[string]*Param{}}
	}
	for _, p := range params {
		s.byURL[p.URL] = p
		for _, t := range appliesTo(p.Base) {
			tp := s.byType[t]
			// A type-specific definition wins over a common one of the same code.
			if q := tp.byCode[p.Code]; q != nil && isCommon(p) && !isCommon(q) {
				continue
			}
			tp.byCode[p.Code] = p
		}
	}
	for _, tp := range s.byType {
		tp.sortList()
	}
	return s
}

// clone returns a copy of s whose maps may be changed; the typeParams are
// shared until add or remove replaces them.
func (s *tableState) clone() *tableState {
	n := &tableState{byType: make(map[fhir.ResourceType]*typeParams, len(s.byType)),
		byURL: make(map[string]*Param, len(s.byURL)+1), custom: make(map[string]bool, len(s.custom)+1)}
	for k, v := range s.byType {
		n.byType[k] = v
	}
	for k, v := range s.byURL {
		n.byURL[k] = v
	}
	for k, v := range s.custom {
		n.custom[k] = v
	}
	return n
}

// add adds p to a cloned state, copying the typeParams it changes.
func (s *tableState) add(p *Param) {
	s.byURL[p.URL] = p
	for _, t := range appliesTo(p.Base) {
		tp := s.byType[t].copy()
		tp.byCode[p.Code] = p
		tp.sortList()
		s.byType[t] = tp
	}
}

// remove removes p from a cloned state, copying the typeParams it changes.
func (s *tableState) remove(p *Param) {
	delete(s.byURL, p.URL)
	for _, t := range appliesTo(p.Base) {
		if s.byType[t].byCode[p.Code] != p {
			continue
		}
		tp := s.byType[t].copy()
		delete(tp.byCode, p.Code)
		tp.sortList()
		s.byType[t] = tp
	}
}

func (tp *typeParams) copy() *typeParams {
	n := &typeParams{byCode: make(map[string]*Param, len(tp.byCode)+1)}
	for k, v := range tp.byCode {
		n.byCode[k] = v
	}
	return n
}

func (tp *typeParams) sortList() {
	tp.list = make([]*Param, 0, len(tp.byCode))
	for _, p := range tp.byCode {
		tp.list = append(tp.list, p)
	}
	slices.SortFunc(tp.list, func(a, b *Param) int { return strings.Compare(a.Code, b.Code) })
	tp.list = slices.Clip(tp.list)
}

// appliesTo returns the concrete resource types that a parameter with the
// given base types applies to: the types themselves, and every type derived
// from Resource or DomainResource.
func appliesTo(base []fhir.ResourceType) []fhir.ResourceType {
	var out []fhir.ResourceType
	for _, b := range base {
		if model.IsResourceType(string(b)) {
			if !slices.Contains(out, b) {
				out = append(out, b)
			}
			continue
		}
		for _, rt := range model.ResourceTypes() {
			if model.IsSubtypeOf(rt, string(b)) && !slices.Contains(out, fhir.ResourceType(rt)) {
				out = append(out, fhir.ResourceType(rt))
			}
		}
	}
	return out
}

// isCommon reports whether p is defined on Resource or DomainResource.
func isCommon(p *Param) bool {
	return slices.ContainsFunc(p.Base, func(b fhir.ResourceType) bool { return !model.IsResourceType(string(b)) })
}

func cloneParam(p *Param) *Param {
	cp := *p
	cp.Base = slices.Clone(p.Base)
	cp.Targets = slices.Clone(p.Targets)
	cp.Modifiers = slices.Clone(p.Modifiers)
	cp.Comparators = slices.Clone(p.Comparators)
	cp.Components = slices.Clone(p.Components)
	return &cp
}

// sameDefinition reports whether a and b define the same search.
func sameDefinition(a, b *Param) bool {
	return a.Code == b.Code && a.URL == b.URL && a.Type == b.Type && a.Expression == b.Expression &&
		slices.Equal(a.Base, b.Base) && slices.Equal(a.Targets, b.Targets) && slices.Equal(a.Components, b.Components)
}
