package search

import (
	"github.com/cpms-fhir/cpms/fhir"
)

// Query is a parsed search. Every clause must match (AND); a clause matches
// when any of its values does (OR).
//
// The store runs Types, Clauses, Sort, Count, Cursor and Total. Include,
// RevInclude, Summary and Elements shape the result and are carried out by
// the engine.
type Query struct {
	// Types are the resource types searched: one for a type search, those
	// of _type (or none: every type) for a system search.
	Types   []fhir.ResourceType
	Clauses []Clause
	// Sort orders the result; without it results come in the store's
	// stable order (creation order).
	Sort []Sort
	// Count is the page size; 0 asks for the total only.
	Count int
	// Cursor continues a previous page (Result.Next).
	Cursor string
	Total  Total

	Include    []Include
	RevInclude []Include
	Summary    Summary
	// Elements lists the top-level elements of _elements.
	Elements []string
	// Unknown lists the parameters that were ignored (unknown or not
	// supported), for an OperationOutcome in the Bundle.
	Unknown []string
}

// Clause is one parameter of a search with its values.
type Clause struct {
	// Param is the parameter's code ("name", "_id", "subject").
	Param    string
	Type     ParamType
	Modifier Modifier
	// Values are alternatives (OR). Empty for a :missing clause, a chain
	// or a reverse chain.
	Values []Value
	// Missing, for the :missing modifier: true selects resources without
	// any value for Param, false those with at least one.
	Missing *bool
	// Chain, for a chained parameter (subject:Patient.name=x): Param is a
	// reference parameter, and the clause selects resources whose Param
	// refers to a resource of one of Chain.Targets that matches
	// Chain.Clause (itself possibly chained).
	Chain *Chain
	// Has, for a reverse chain (_has:Observation:subject:code=x; Param is
	// "_has" and Type special): the clause selects resources that a
	// resource of type Has.Type refers to through its reference parameter
	// Has.Ref, where that resource matches Has.Clause (itself possibly a
	// reverse chain).
	Has *Has
}

// Chain is the target part of a chained clause.
type Chain struct {
	Targets []fhir.ResourceType
	Clause  Clause
}

// Has is the source part of a reverse-chained clause.
type Has struct {
	Type   fhir.ResourceType
	Ref    string
	Clause Clause
}

// Modifier is a search parameter modifier.
type Modifier string

// The modifiers of FHIR R4 search. A chain, a reverse chain and :missing
// have their own fields in Clause; :[type] on a reference sets Value.Type.
const (
	ModNone       Modifier = ""
	ModExact      Modifier = "exact"      // string: equal, case and accents included
	ModContains   Modifier = "contains"   // string, uri: anywhere in the value
	ModText       Modifier = "text"       // token: starts-with on the text or display
	ModNot        Modifier = "not"        // token: resources without a matching value
	ModAbove      Modifier = "above"      // uri: the value is a prefix of the search URI; token: subsumes (terminology)
	ModBelow      Modifier = "below"      // uri: the search URI is a prefix of the value; token: subsumed by (terminology)
	ModIn         Modifier = "in"         // token: in the value set (terminology)
	ModNotIn      Modifier = "not-in"     // token: not in the value set (terminology)
	ModOfType     Modifier = "of-type"    // token on Identifier: type system|code|value
	ModIdentifier Modifier = "identifier" // reference: by the reference's identifier
)

// Prefix is the comparison prefix of a number, date or quantity value.
type Prefix string

// The prefixes of FHIR R4 search. With [lo, hi) the range of the resource's
// value and [slo, shi) the range of the search value at its precision
// (a date "2024-03" is all of March; a number "100" is [99.5, 100.5)):
//
//	eq  slo <= lo and hi <= shi     (the search range contains the value)
//	ne  not eq
//	gt  hi > shi                    (the value reaches above the search range)
//	lt  lo < slo                    (the value reaches below the search range)
//	ge  gt or eq
//	le  lt or eq
//	sa  lo >= shi                   (the value starts after the search range)
//	eb  hi <= slo                   (the value ends before the search range)
//	ap  the value overlaps the search range widened by 10% of the search
//	    value (numbers, quantities) or by 10% of the time between the
//	    search value and now, at least a day (dates)
//
// For a value with a single point (a decimal), lo = hi and "hi <= shi"
// reads "hi < shi".
//
// The parser sets Prefix on every number, date and quantity value (eq when
// none is written). For ap it sends the same range as eq: the store widens
// it. R4 ignores the implicit precision for gt, lt, ge, le, sa and eb on
// numbers and quantities; the parser sends those with the range
// [v, the next float after v), so that the rules above hold as written
// ("ge100" finds 100, "gt5.4" finds 5.42).
const (
	PrefixEq Prefix = "eq"
	PrefixNe Prefix = "ne"
	PrefixGt Prefix = "gt"
	PrefixLt Prefix = "lt"
	PrefixGe Prefix = "ge"
	PrefixLe Prefix = "le"
	PrefixSa Prefix = "sa"
	PrefixEb Prefix = "eb"
	PrefixAp Prefix = "ap"
)

// Value is one value of a clause; which fields are set depends on the
// clause's type and modifier.
type Value struct {
	Prefix Prefix

	// Token: System nil for "code" (any system), a pointer to "" for
	// "|code" (no system); Code "" for "system|" (any code of the system).
	// With :of-type, Code is "typeSystem|typeCode|value"; with :text,
	// Text is the folded text; with :in and :not-in, URL (and Version) is
	// the value set.
	System *string
	Code   string

	// String (folded; as written for :exact), URI, or token :text.
	Text string

	// Date: the range of the search value, Unix milliseconds.
	DateLo, DateHi int64

	// Number and quantity: the range of the search value at its
	// precision, and the value itself. For a quantity, System and Code
	// (above) are the unit's (System nil for "n||code": any system, the
	// code compared with the unit's code), and Canonical* the value in the
	// canonical UCUM unit when the unit converts.
	NumLo, NumHi, Num        float64
	CanonicalCode            string
	CanonicalLo, CanonicalHi float64
	Canonical                float64

	// Reference: Type and ID for "Type/id" or an id alone (Type empty, or
	// set by :[type]); URL for an absolute URL that is not this server's,
	// or a canonical (Version: its |version).
	Type    fhir.ResourceType
	ID      fhir.ID
	URL     string
	Version string

	// Composite: one value per component, in the definition's order.
	Components []Value
}

// Sort is one key of _sort. A resource sorts by its lowest value of the
// parameter ascending and by its highest descending; strings compare
// folded, tokens by code, references by their text; resources without a
// value come last; ties go by creation order.
type Sort struct {
	Param string
	Type  ParamType
	Desc  bool
}

// Total is the _total mode.
type Total string

// The _total modes. TotalDefault lets the server choose: the engine
// counts when it is cheap.
const (
	TotalDefault  Total = ""
	TotalNone     Total = "none"
	TotalEstimate Total = "estimate"
	TotalAccurate Total = "accurate"
)

// Include is one _include or _revinclude: resources that resources of
// Source refer to through its reference parameter Param (restricted to
// Target when set); for _revinclude, resources of Source that refer to the
// matches. Param "*" means every reference parameter of Source; Source ""
// means any type (_revinclude=*).
type Include struct {
	Source  fhir.ResourceType
	Param   string
	Target  fhir.ResourceType
	Iterate bool
}

// Summary is the _summary mode.
type Summary string

// The _summary modes.
const (
	SummaryNone  Summary = ""
	SummaryTrue  Summary = "true"
	SummaryText  Summary = "text"
	SummaryData  Summary = "data"
	SummaryCount Summary = "count"
	SummaryFalse Summary = "false"
)

// Empty reports whether q selects on nothing: no clauses.
func (q *Query) Empty() bool { return len(q.Clauses) == 0 }
