package engine

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/fhir/search/extract"
	"github.com/cpms-fhir/cpms/fhir/search/parse"
	"github.com/cpms-fhir/cpms/fhir/validate"
)

// Options configure an Engine.
type Options struct {
	// Policy decides every access; nil means OpenPolicy.
	Policy Policy
	// Logger receives the engine's log; nil means slog.Default().
	Logger *slog.Logger
	// Validator checks resources on write; nil means a new one.
	Validator *validate.Validator
	// Params are the search parameters; nil means the R4 parameters.
	Params *search.Table
	// Base is the public base URL of the FHIR API: references under it
	// are references to this server's resources. Empty: only relative
	// references are.
	Base string
	// DefaultCount and MaxCount bound search pages; 0 means
	// parse.DefaultCount and parse.MaxCount.
	DefaultCount, MaxCount int
	// Terminology answers the token modifiers :below, :above, :in and
	// :not-in of every search, conditional interaction and conditional
	// reference: the parser rewrites them into plain token clauses on
	// the codes they stand for. Nil: the store refuses them (not
	// implemented).
	Terminology search.Terminology
	// Observe, when set, is called after every committed write that
	// changed a resource of one of ObserveTypes (r.Deleted for a delete),
	// and by Start for every current resource of those types: how the
	// terminology service follows the stored CodeSystems, ValueSets and
	// ConceptMaps. It must not write through the engine.
	Observe      func(ctx context.Context, r *fhir.Resource)
	ObserveTypes []fhir.ResourceType
	// Checkers check every resource written, and every $validate, beyond
	// the base specification: the CPMS profiles a resource claims in
	// meta.profile, the answers of a QuestionnaireResponse. They run
	// after the base validation passed; an issue of severity error fails
	// the write (422), warnings do not.
	Checkers []Checker
}

// Engine carries out FHIR interactions over a Store.
type Engine struct {
	store     Store
	policy    Policy
	validator *validate.Validator
	log       *slog.Logger
	params    *search.Table
	extractor *extract.Extractor
	parseOpts parse.Options
	custom    custom
	observe   func(ctx context.Context, r *fhir.Resource)
	observed  []fhir.ResourceType
	checkers  []Checker
	gate      *gate
}

// Checker checks a resource beyond the base specification.
type Checker interface {
	// Check returns the issues of body, a resource of type t valid
	// against the base specification, as it will be stored (with its id
	// and meta). profiles are profiles to check it against besides those
	// of its meta.profile ($validate?profile=). Each issue carries the
	// FHIRPath location of the problem.
	Check(ctx context.Context, t fhir.ResourceType, body []byte, profiles []string) []fhir.Issue
}

// New returns an Engine over store.
func New(store Store, opts Options) (*Engine, error) {
	e := &Engine{store: store, policy: opts.Policy, validator: opts.Validator, log: opts.Logger, params: opts.Params,
		parseOpts: parse.Options{Base: strings.TrimSuffix(opts.Base, "/"), DefaultCount: opts.DefaultCount, MaxCount: opts.MaxCount,
			Terminology: opts.Terminology}, gate: newGate(runtime.GOMAXPROCS(0))}
	if e.params == nil {
		e.params = search.NewTable()
	}
	e.observe, e.observed, e.checkers = opts.Observe, opts.ObserveTypes, opts.Checkers
	e.custom = custom{pending: map[string]bool{}, wake: make(chan struct{}, 1)}
	e.extractor = extract.New(e.params, extract.Options{Base: e.parseOpts.Base})
	if e.policy == nil {
		e.policy = OpenPolicy{}
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.validator == nil {
		v, err := validate.New()
		if err != nil {
			return nil, err
		}
		e.validator = v
	}
	return e, nil
}

// Params returns the search parameters the engine indexes and searches.
func (e *Engine) Params() *search.Table { return e.params }

// Result is the outcome of a write.
type Result struct {
	// Resource is the version written, or the existing version a
	// conditional create matched or an unchanged update left current.
	Resource *fhir.Resource
	// Created is set when the write created the resource.
	Created bool
	// Unchanged is set when nothing was written: a conditional create found
	// its match, an update carried the current content, or a delete found
	// the resource already deleted.
	Unchanged bool
}

// CheckType returns an error of kind KindNotFound unless t is a resource
// type of FHIR R4.
func CheckType(t fhir.ResourceType) error {
	if !validate.IsResourceType(t) {
		return &fhir.Error{Kind: fhir.KindNotFound, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueNotSupported, Diagnostics: "unknown resource type " + string(t)}}}
	}
	return nil
}

// CheckID returns an error of kind KindInvalid unless id is a valid FHIR id.
func CheckID(id fhir.ID) error {
	if !id.Valid() {
		return &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueValue, Diagnostics: "invalid resource id " + quoteShort(string(id)) +
				": ids are 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.'"}}}
	}
	return nil
}

func (e *Engine) allow(ctx context.Context, in Interaction, t fhir.ResourceType, id fhir.ID, r *fhir.Resource) error {
	return e.policy.Allow(ctx, Access{Interaction: in, Type: t, ID: id, Resource: r})
}

// newID returns a server-assigned id: 16 characters of base32 from the
// time in milliseconds and 32 random bits, so ids sort roughly by
// creation and never repeat in practice (a collision fails the write's
// version check and is retried with another id).
func newID() fhir.ID {
	var b [10]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	rand.Read(b[6:])
	return fhir.ID(strings.ToLower(idEncoding.EncodeToString(b[:])))
}

// timeZero renders bodies whose meta is not stored, for extraction.
var timeZero = time.Unix(0, 0)

// placeholderID stands in for an id not assigned yet when a resource is
// validated before it is stored.
const placeholderID = "new"

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func quoteShort(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return `"` + s + `"`
}

func notFound(t fhir.ResourceType, id fhir.ID) *fhir.Error {
	return &fhir.Error{Kind: fhir.KindNotFound, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueNotFound, Diagnostics: "resource " + string(t) + "/" + string(id) + " is not known"}}}
}

func gone(r *fhir.Resource) *fhir.Error {
	return &fhir.Error{Kind: fhir.KindGone, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueDeleted, Diagnostics: "resource " + r.Ref() + " was deleted (version " + r.VersionID() + ")"}}}
}

func invalid(code fhir.IssueType, expr, format string, args ...any) *fhir.Error {
	e := fhir.Errorf(fhir.KindInvalid, format, args...)
	is := fhir.Issue{Severity: fhir.SeverityError, Code: code, Diagnostics: e.Message}
	if expr != "" {
		is.Expression = []string{expr}
	}
	e.Issues = []fhir.Issue{is}
	return e
}

// prepare parses and validates body as the content of a resource of type t
// to be stored with the given id ("": the body's own id, if it has one),
// and extracts its search values.
func (e *Engine) prepare(ctx context.Context, t fhir.ResourceType, id fhir.ID, body []byte) (*fhir.Prepared, *search.Index, error) {
	if err := e.gate.enter(ctx); err != nil {
		return nil, nil, err
	}
	defer e.gate.leave()
	p, err := fhir.Prepare(body)
	if err != nil {
		return nil, nil, err
	}
	if id == "" {
		id = p.ID
	}
	rendered, err := e.check(t, id, p)
	if err != nil {
		return nil, nil, err
	}
	if issues := e.runCheckers(ctx, t, rendered, nil); fhir.HasErrors(issues) {
		return nil, nil, &fhir.Error{Kind: fhir.KindUnprocessable, Issues: issues}
	}
	if t == "SearchParameter" {
		if err := e.checkSearchParameter(rendered); err != nil {
			return nil, nil, err
		}
	}
	idx, err := e.extract(t, rendered)
	if err != nil {
		return nil, nil, err
	}
	return p, idx, nil
}

// extract returns the search values of a rendered resource. A parameter
// whose values cannot be extracted fails the write: a resource stored
// without them would be missing from searches without anyone knowing.
func (e *Engine) extract(t fhir.ResourceType, rendered []byte) (*search.Index, error) {
	idx, err := e.extractor.Extract(t, rendered)
	if err != nil {
		return nil, fhir.Internal("the resource could not be indexed for search", err)
	}
	return idx, nil
}

// check validates p as a resource of type t stored under id (a placeholder
// if empty) and returns the rendered JSON it validated. The error lists
// every issue found: JSON rule violations and validation issues together.
func (e *Engine) check(t fhir.ResourceType, id fhir.ID, p *fhir.Prepared) ([]byte, error) {
	if p.Type != t {
		return nil, invalid(fhir.IssueInvalid, "resourceType",
			"the resource is a %s, but the request is for %s", p.Type, t)
	}
	if id == "" {
		id = placeholderID
	}
	// Validate what will be stored: the server's id and a meta, so that a
	// client's malformed id or meta elements are caught too.
	rendered := p.Render(id, 1, time.Now())
	verr := e.validator.Validate(rendered)
	if verr == nil && len(p.Issues) == 0 {
		return rendered, nil
	}
	var fe *fhir.Error
	if verr != nil && (!errors.As(verr, &fe) || fe.Kind == fhir.KindInternal) {
		return nil, verr
	}
	out := &fhir.Error{Kind: fhir.KindInvalid, Issues: slices.Clone(p.Issues)}
	if fe != nil {
		// An element the JSON rules refused (a null, an empty string) is
		// not reported again by the validator, which only meets it
		// mangled ("expected code (found )").
		refused := map[string]bool{}
		for _, is := range p.Issues {
			for _, x := range is.Expression {
				refused[x] = true
			}
		}
		for _, is := range fe.Issues {
			if !slices.ContainsFunc(is.Expression, func(x string) bool { return refused[x] }) {
				out.Issues = append(out.Issues, is)
			}
		}
		if len(p.Issues) == 0 {
			out.Kind = fe.Kind
		}
	}
	return nil, out
}

// runCheckers runs the configured Checkers on a valid rendered resource.
func (e *Engine) runCheckers(ctx context.Context, t fhir.ResourceType, rendered []byte, profiles []string) []fhir.Issue {
	var issues []fhir.Issue
	for _, c := range e.checkers {
		issues = append(issues, c.Check(ctx, t, rendered, profiles)...)
	}
	return issues
}

// Validate checks body as a resource of type t without storing it
// ($validate). It returns the issues found; an empty list means valid.
func (e *Engine) Validate(ctx context.Context, t fhir.ResourceType, body []byte) ([]fhir.Issue, error) {
	return e.ValidateProfiles(ctx, t, body, nil)
}

// ValidateProfiles is Validate against the given profiles too, besides
// those the resource claims ($validate?profile=). Warnings are returned
// with errors.
func (e *Engine) ValidateProfiles(ctx context.Context, t fhir.ResourceType, body []byte, profiles []string) ([]fhir.Issue, error) {
	if err := CheckType(t); err != nil {
		return nil, err
	}
	if err := e.allow(ctx, InteractionValidate, t, "", nil); err != nil {
		return nil, err
	}
	p, err := fhir.Prepare(body)
	var rendered []byte
	if err == nil {
		rendered, err = e.check(t, p.ID, p)
	}
	if err == nil {
		return e.runCheckers(ctx, t, rendered, profiles), nil
	}
	var fe *fhir.Error
	if errors.As(err, &fe) && len(fe.Issues) > 0 && fe.Kind != fhir.KindInternal {
		return fe.Issues, nil
	}
	return nil, err
}

// Setting returns a server setting kept in the store ("" when unset), for
// the server's own bookkeeping (such as which terminology seed is
// stored). Keys are namespaced by their owner, e.g. "terminology.seed".
func (e *Engine) Setting(ctx context.Context, key string) (string, error) {
	return e.store.Setting(ctx, key)
}

// PutSetting sets a server setting ("" removes it).
func (e *Engine) PutSetting(ctx context.Context, key, value string) error {
	return e.write(ctx, func(tx Tx) error { return tx.PutSetting(ctx, key, value) })
}
