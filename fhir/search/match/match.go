// Package match tests resources against the clauses of a search in
// memory: a store that cannot compare every value in its own query
// language (the MongoDB store) narrows the candidates with a coarse filter
// and keeps those that a Matcher accepts.
//
// The rules are those of the SQLite store, which compiles the same
// clauses to SQL (fhir/store/sqlite, search_clause.go, search_range.go and
// search_chain.go), so that both stores find the same resources and fail
// on the same clauses with the same errors. Where the SQLite store reads
// a value from its own record of the resource rather than from the index
// (_id, _lastUpdated) the Matcher reads it from the Candidate, and it
// ignores the index's _id tokens and _lastUpdated dates as that store
// does.
//
// Compile does all the work that does not depend on the resource (folding
// search strings, the bounds of prefixes, sets of codes, the resolution
// of chains and reverse chains); Match allocates nothing.
package match

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Candidate is a current resource a clause is tested against.
type Candidate struct {
	Type fhir.ResourceType
	ID   fhir.ID
	// LastUpdated is the instant its current version was written, in
	// Unix milliseconds; _lastUpdated searches it.
	LastUpdated int64
	// Index holds its search values (nil: none). Its _id tokens and
	// _lastUpdated dates are ignored: ID and LastUpdated stand for them.
	Index *search.Index
}

// Resolver answers the parts of clauses that need other resources.
type Resolver struct {
	// Chain returns the references ("Type/id") of the current resources
	// of ch.Targets that match ch.Clause; with no Targets, of every type
	// the store holds. Compile has checked ch.Clause; Chain may compile
	// it with Compile for each target type, passing the same Resolver.
	Chain func(ctx context.Context, ch *search.Chain) (map[string]bool, error)
	// Has returns the ids of the resources of type t that some current
	// resource of h.Type refers to through its reference parameter h.Ref
	// (a search.Reference of that Param with Type t and the id) while
	// matching h.Clause. Compile keeps the map and reads it on every
	// Match.
	Has func(ctx context.Context, t fhir.ResourceType, h *search.Has) (map[fhir.ID]bool, error)
}

// Matcher tests candidates of one resource type against the clauses of a
// query (all must match). It is safe for concurrent use.
type Matcher struct {
	t     fhir.ResourceType
	tests []test
	// none is set when a clause matches no resource (:missing=true of
	// _id or _lastUpdated).
	none bool
}

// test is one compiled clause.
type test interface {
	// match reports whether the candidate c, whose index is idx (never
	// nil), satisfies the clause.
	match(c *Candidate, idx *search.Index) bool
	// cost ranks tests for Match, cheapest first.
	cost() int
}

// The costs of tests: lookups by the candidate's id or lastUpdated, then
// scans of its values of one parameter, then composites, which test each
// part of each value against each component.
const (
	costLookup = iota
	costScan
	costComposite
)

// Compile compiles clauses for resource type t; now is the instant the ap
// prefix on dates is relative to. Chains and reverse chains are resolved
// once, here, through r.
//
// A clause the SQLite store refuses fails here with the same error: a
// *fhir.Error of KindInvalid naming the parameter (a modifier its type does
// not take, a bad prefix, no value), or of KindNotImplemented for the
// terminology modifiers of tokens (:in, :not-in, :above, :below), which
// the parser resolves before a clause reaches a store. The inner clause of
// a chain or reverse chain is checked before r is asked, so that its
// errors do not depend on what r finds; r's errors are returned as they
// are.
func Compile(ctx context.Context, t fhir.ResourceType, clauses []search.Clause, now time.Time, r Resolver) (*Matcher, error) {
	c := &compiler{ctx: ctx, now: now, r: r, resolve: true}
	m := &Matcher{t: t}
	for i := range clauses {
		x, err := c.clause(t, &clauses[i])
		if err != nil {
			return nil, err
		}
		if k, ok := x.(constTest); ok {
			m.none = m.none || !bool(k)
			continue
		}
		m.tests = append(m.tests, x)
	}
	slices.SortStableFunc(m.tests, func(a, b test) int { return cmp.Compare(a.cost(), b.cost()) })
	return m, nil
}

// empty is the index of a candidate without one.
var empty search.Index

// Match reports whether c matches every clause. A candidate of another
// type than the Matcher's matches nothing.
func (m *Matcher) Match(c *Candidate) bool {
	if m.none || c.Type != m.t {
		return false
	}
	idx := c.Index
	if idx == nil {
		idx = &empty
	}
	for _, x := range m.tests {
		if !x.match(c, idx) {
			return false
		}
	}
	return true
}
