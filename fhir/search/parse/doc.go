// Package parse turns a FHIR R4 search request into a search.Query: the
// query parameters of a type search (GET [base]/Patient?...), a system
// search (GET [base]?_type=...), either by POST _search, or the criteria
// of a conditional create, update, patch or delete.
//
// Parse checks every parameter against a search.Registry: its type
// decides how the values are read (prefixes and precision ranges, token
// systems, references, composites), the modifiers it may take, and how a
// chain (subject:Patient.name) or a reverse chain (_has:...) continues.
// The result parameters (_count, _sort, _total, _include, _revinclude,
// _summary, _elements, _cursor) fill the rest of the Query.
//
// Problems are collected, not reported one at a time: a malformed value,
// a modifier the parameter's type does not take, an unknown parameter
// inside a chain, a result parameter given twice... each becomes one
// issue of a *fhir.Error of kind fhir.KindInvalid, with the parameter as
// written in the request as its expression. Unknown or unsupported
// parameters at the top level are ignored and listed in Query.Unknown,
// unless Options.Strict (Prefer: handling=strict) or a conditional
// interaction makes them errors.
//
// # Values in the Query
//
// Values follow the contract of package search (query.go), with these
// readings of it:
//
//   - A number, date or quantity value always has a Prefix; eq when the
//     request has none.
//   - Numbers and quantities compared with eq or ne span their implicit
//     precision ("100" is [99.5, 100.5), "100.00" is [99.995, 100.005);
//     exponents are expanded first, so "1e2" is read as "100"). With gt,
//     lt, ge, le, sa and eb the implicit precision is ignored, as the R4
//     search page asks: the value stands for itself, as the smallest range
//     [v, next float after v), so that the prefix rules of package search
//     hold as written.
//   - With ap, the range is the implicit precision (numbers, quantities)
//     or the span of the date, as with eq: the store widens it, as
//     query.go says, with its own clock for dates.
//   - Date ranges are Unix milliseconds, the end rounded up, so that a
//     value with a finer precision than a millisecond keeps a non-empty
//     range.
//   - A quantity "5.4||mg" has a nil System (any system); canonical UCUM
//     values are filled only when the system is http://unitsofmeasure.org
//     and the unit converts.
//   - Token :in and :not-in carry the value set in URL (and Version when
//     written url|version).
//   - With Options.Terminology, token :below and :above (which need
//     system|code) and :in and :not-in never reach the Query: each clause
//     becomes a plain token clause on the codes it stands for, as
//     system|code values (OR), and :not-in becomes :not on them (so a
//     resource without any of the codes, or without a code at all,
//     matches). The same happens inside chains and reverse chains. A
//     value set without codes gives the clause _id= (the empty id, which
//     no resource has: nothing matches), or _id:not= for :not-in
//     (everything matches). Unknown code systems,
//     codes and value sets are issues of the request (not-found,
//     code-invalid), and so is a search whose modifiers stand for more
//     than Options.MaxCodes codes in all (too-costly): it is refused, not
//     answered in part.
//   - A reverse chain is a Clause with Param "_has" and Type special; a
//     chain is a Clause on the reference parameter with Type reference.
//     Both have no Values of their own. Chain.Targets are the types the
//     reference may point to that have the next parameter, sorted.
//   - _include=* has Param "*" and the searched type as Source (one
//     Include per type; Source "" when every type is searched);
//     _revinclude=* has Param "*" and Source "" (any type).
//   - Query.Unknown lists the ignored parameters as written in the request
//     ("foo", "name:xyz" is an error, "_contained"), sorted.
//
// # Issues
//
// Issue codes: not-supported for an unknown or unsupported parameter under
// strict handling, invalid for a malformed parameter name (bad modifier,
// chain, reverse chain, a parameter given twice), value for a malformed
// value, required for a conditional interaction without criteria;
// not-found, code-invalid and too-costly from the terminology modifiers.
package parse
