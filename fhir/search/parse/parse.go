package parse

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Options controls Parse.
type Options struct {
	// Strict makes unknown and unsupported parameters errors (Prefer:
	// handling=strict); otherwise they are ignored and listed in
	// Query.Unknown.
	Strict bool
	// Base is the server's FHIR base URL ("https://example.org/fhir"). A
	// reference value that is an absolute URL under it is read as Type/id.
	Base string
	// DefaultCount is the page size when the request has no _count
	// (0: DefaultCount). MaxCount caps _count (0: MaxCount).
	DefaultCount, MaxCount int
	// MaxDepth is the most links a chain or reverse chain may have
	// (0: MaxDepth).
	MaxDepth int
	// Conditional parses the criteria of a conditional interaction, as
	// Conditional does, with the other options.
	Conditional bool
	// Terminology, when set, resolves the token modifiers :below, :above,
	// :in and :not-in into plain token clauses on the codes they stand
	// for (see the package documentation). Without it they are left in
	// the Query, for a store to refuse.
	Terminology search.Terminology
	// MaxCodes caps the codes those modifiers may stand for in one
	// search (0: MaxCodes); a search beyond is refused as too costly.
	MaxCodes int
}

// Defaults of Options.
const (
	DefaultCount = 20
	MaxCount     = 1000
	MaxDepth     = 5
)

// maxIssues caps the issues of one error: a request with thousands of bad
// values gets the first ones and a note.
const maxIssues = 50

// Parse parses the parameters of a search. types holds the resource type
// of a type search (GET [base]/Patient?...); for a system search it is
// empty (every type) or lists the types the caller allows. A _type
// parameter then chooses among them and becomes Query.Types; in a type
// search it may only repeat the searched type.
//
// The error is a *fhir.Error of kind fhir.KindInvalid with one issue per
// problem found.
func Parse(reg search.Registry, types []fhir.ResourceType, params url.Values, opts Options) (*search.Query, error) {
	p := newParser(reg, opts)
	q := p.parse(types, params)
	if p.fatal != nil {
		return nil, p.fatal
	}
	if len(p.issues) > 0 {
		return nil, p.err()
	}
	return q, nil
}

// Conditional parses the criteria of a conditional create, update, patch
// or delete on resources of type t. Result parameters (_count, _sort,
// _include...) are ignored; an unknown or unsupported parameter and an
// empty value are always errors, since a conditional interaction must
// never act on more resources than the client asked for; at least one
// criterion is required. The Query has Count 2, enough to tell none, one
// and several matches apart.
//
// Absolute references are not read against the server's base: use Parse
// with Options.Conditional and Options.Base for that.
func Conditional(reg search.Registry, t fhir.ResourceType, params url.Values) (*search.Query, error) {
	return Parse(reg, []fhir.ResourceType{t}, params, Options{Conditional: true})
}

// parser holds the state of one Parse.
type parser struct {
	reg      search.Registry
	opts     Options
	maxDepth int
	issues   []fhir.Issue
	dropped  int // issues beyond maxIssues
	// maxCodes, codes and costly bound the codes of the terminology
	// modifiers (terminology.go): the cap, those used so far, and whether
	// the search went beyond.
	maxCodes, codes int
	costly          bool
	// fatal is a failure of the terminology service that is not the
	// request's fault: Parse returns it.
	fatal error
}

func newParser(reg search.Registry, opts Options) *parser {
	if opts.Conditional {
		opts.Strict = true
	}
	if opts.DefaultCount <= 0 {
		opts.DefaultCount = DefaultCount
	}
	if opts.MaxCount <= 0 {
		opts.MaxCount = MaxCount
	}
	opts.DefaultCount = min(opts.DefaultCount, opts.MaxCount)
	p := &parser{reg: reg, opts: opts, maxDepth: opts.MaxDepth, maxCodes: opts.MaxCodes}
	if p.maxDepth <= 0 {
		p.maxDepth = MaxDepth
	}
	if p.maxCodes <= 0 {
		p.maxCodes = MaxCodes
	}
	return p
}

// The parameters that shape the result rather than select resources.
var resultParams = map[string]bool{
	"_count": true, "_sort": true, "_total": true, "_include": true, "_revinclude": true,
	"_summary": true, "_elements": true, "_cursor": true, "_format": true, "_pretty": true,
	"_contained": true, "_containedType": true,
}

func (p *parser) parse(types []fhir.ResourceType, params url.Values) *search.Query {
	q := &search.Query{Count: p.opts.DefaultCount}
	q.Types = p.types(types, params)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		values := params[key]
		name, mod, hasMod := strings.Cut(key, ":")
		if key == "" {
			continue
		}
		if resultParams[name] {
			if p.opts.Conditional {
				continue
			}
			p.result(q, key, name, mod, hasMod, values)
			continue
		}
		if name == "_type" && !hasMod {
			if p.opts.Conditional {
				p.issue(key, fhir.IssueNotSupported, "The criteria of a conditional interaction take no _type: the interaction names its resource type.")
			}
			continue // read by types
		}
		p.criterion(q, key, values)
	}
	if q.Summary == search.SummaryCount {
		q.Count = 0 // the total only
	}
	if len(q.Unknown) > 0 {
		slices.Sort(q.Unknown)
		q.Unknown = slices.Compact(q.Unknown)
	}
	if p.opts.Conditional {
		q.Count = 2
		if len(q.Clauses) == 0 && len(p.issues) == 0 {
			p.issue("", fhir.IssueRequired, "A conditional interaction needs search criteria: without any it would act on every resource.")
		}
	}
	return q
}

// criterion parses one search parameter, given once per AND.
func (p *parser) criterion(q *search.Query, key string, values []string) {
	nonEmpty := values[:0:0]
	for _, v := range values {
		if v == "" {
			if p.opts.Conditional {
				p.issue(key, fhir.IssueValue, "The parameter %s has an empty value: the criteria of a conditional interaction must all have values.", key)
			}
			continue // an empty parameter is ignored
		}
		nonEmpty = append(nonEmpty, v)
	}
	if len(nonEmpty) == 0 {
		return
	}
	r, prob := p.resolve(q.Types, key, 0)
	if prob != nil {
		if prob.unknown && !p.opts.Strict {
			q.Unknown = append(q.Unknown, key)
			return
		}
		p.issue(key, prob.code, "%s", prob.msg)
		return
	}
	for _, v := range nonEmpty {
		if c, ok := p.clause(r, key, v); ok {
			q.Clauses = append(q.Clauses, c)
		}
	}
}

// issue records a problem with the parameter key ("" for the request as a
// whole).
func (p *parser) issue(key string, code fhir.IssueType, format string, args ...any) {
	if len(p.issues) >= maxIssues {
		p.dropped++
		return
	}
	is := fhir.Issue{Severity: fhir.SeverityError, Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if key != "" {
		is.Expression = []string{key}
	}
	p.issues = append(p.issues, is)
}

func (p *parser) err() error {
	issues := p.issues
	if p.dropped > 0 {
		issues = append(issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueTooLong,
			Diagnostics: fmt.Sprintf("%d more problems were found and not reported.", p.dropped)})
	}
	msg := issues[0].Diagnostics
	if n := len(issues); n > 1 {
		msg = fmt.Sprintf("%s (and %d more problems)", msg, n-1)
	}
	return &fhir.Error{Kind: fhir.KindInvalid, Message: msg, Issues: issues}
}

// problem is why a parameter name cannot be used.
type problem struct {
	code fhir.IssueType
	msg  string
	// unknown marks a parameter the server does not know or support, at
	// the top level of the search: ignored unless the search is strict.
	unknown bool
}

func invalidf(format string, args ...any) *problem {
	return &problem{code: fhir.IssueInvalid, msg: fmt.Sprintf(format, args...)}
}

func unknownf(format string, args ...any) *problem {
	return &problem{code: fhir.IssueNotSupported, msg: fmt.Sprintf(format, args...), unknown: true}
}
