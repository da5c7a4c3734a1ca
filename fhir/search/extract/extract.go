package extract

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Options configure an Extractor.
type Options struct {
	// Base is the server's public FHIR base URL ("https://cpms.example/fhir").
	// An absolute reference under it is a reference to a resource of this
	// server and is indexed with its type and id as well as its URL. Empty
	// when the server does not know its public address.
	Base string
}

// Extractor computes search indexes. It compiles each distinct FHIRPath
// expression once, on first use, and keeps how each parameter applies to
// each resource type; it is safe for concurrent use.
type Extractor struct {
	reg  search.Registry
	base string // Options.Base with one trailing '/'

	exprs sync.Map // expression source → *compiled
	plans sync.Map // planKey → *plan
	types sync.Map // fhir.ResourceType → *typePlans
}

// typePlans are the plans of the indexed parameters of one type, for the
// slice of parameters the registry returned when they were made.
type typePlans struct {
	params []*search.Param
	plans  []*plan
}

type compiled struct {
	once sync.Once
	expr *fhirpath.Expression
	err  error
}

type planKey struct {
	t fhir.ResourceType
	p *search.Param
}

// New returns an Extractor for the parameters of reg. Parameters added to
// reg later (custom parameters) are used from the next extraction on.
func New(reg search.Registry, opts Options) *Extractor {
	x := &Extractor{reg: reg}
	if b := strings.TrimRight(opts.Base, "/"); b != "" {
		x.base = b + "/"
	}
	return x
}

// ParamError is the failure of one parameter's expression on a resource.
type ParamError struct {
	Param string
	Err   error
}

func (e *ParamError) Error() string { return "search parameter " + e.Param + ": " + e.Err.Error() }

func (e *ParamError) Unwrap() error { return e.Err }

// Extract returns the search values of a resource of type t from its JSON:
// the values of every parameter the registry has for t, converted and
// deduplicated per parameter as package search documents for Index.
//
// Not indexed: _id and _lastUpdated, which the engine records itself when
// it writes the version; parameters without an expression (_text,
// _content, _query, _list, _has, _type), which select otherwise; and
// parameters of type special (near).
//
// The body must be a resource that the server accepted. A body that cannot
// be decoded, or a resource of another type, is a fault of the server: the
// error is then an Error of kind KindInternal and the index nil. When the
// expressions of some parameters fail, the others are still extracted:
// Extract returns their index together with an Error of kind KindInternal
// whose cause joins one ParamError per failed parameter.
func (x *Extractor) Extract(t fhir.ResourceType, body []byte) (*search.Index, error) {
	res, err := fhir.DecodeJSON(body)
	if err != nil {
		return nil, fhir.Internal("the resource could not be indexed", err)
	}
	if rt, _ := res["resourceType"].(string); rt != string(t) {
		return nil, fhir.Internal("the resource could not be indexed", fmt.Errorf("a %s resource was given as %s", rt, t))
	}
	root := fhirpath.ResourceItem(res)
	idx := &search.Index{}
	var errs []error
	for _, pl := range x.typePlans(t) {
		if err := x.extractParam(idx, pl, root); err != nil {
			errs = append(errs, &ParamError{Param: pl.param.Code, Err: err})
		}
	}
	if len(errs) > 0 {
		return idx, fhir.Internal("the resource could not be indexed", errors.Join(errs...))
	}
	return idx, nil
}

// skip reports whether p is not indexed (see Extract).
func skip(p *search.Param) bool {
	return p.Expression == "" || p.Type == search.TypeSpecial || p.Code == "_id" || p.Code == "_lastUpdated"
}

// typePlans returns the plans of the indexed parameters of type t. They
// are kept for the slice the registry returns, which a Table replaces when
// its parameters change; a registry that returns a new slice each time
// costs a lookup per parameter.
func (x *Extractor) typePlans(t fhir.ResourceType) []*plan {
	params := x.reg.Params(t)
	if v, ok := x.types.Load(t); ok {
		tp := v.(*typePlans)
		if len(tp.params) == len(params) && (len(params) == 0 || &tp.params[0] == &params[0]) {
			return tp.plans
		}
	}
	tp := &typePlans{params: params}
	for _, p := range params {
		if !skip(p) {
			tp.plans = append(tp.plans, x.plan(t, p))
		}
	}
	x.types.Store(t, tp)
	return tp.plans
}

// plan returns the plan of p for type t, preparing it on first use.
func (x *Extractor) plan(t fhir.ResourceType, p *search.Param) *plan {
	k := planKey{t, p}
	if v, ok := x.plans.Load(k); ok {
		return v.(*plan)
	}
	v, _ := x.plans.LoadOrStore(k, x.newPlan(t, p))
	return v.(*plan)
}

// compile returns the compiled expression src, compiling it once.
func (x *Extractor) compile(src string) (*fhirpath.Expression, error) {
	v, ok := x.exprs.Load(src)
	if !ok {
		v, _ = x.exprs.LoadOrStore(src, &compiled{})
	}
	c := v.(*compiled)
	c.once.Do(func() { c.expr, c.err = fhirpath.Compile(src) })
	return c.expr, c.err
}

// extractParam appends the values of one parameter to idx and removes the
// duplicates among them.
func (x *Extractor) extractParam(idx *search.Index, pl *plan, root fhirpath.Item) error {
	if pl.err != nil {
		return pl.err
	}
	m := marks(idx)
	p := pl.param
	if p.Type == search.TypeComposite {
		if err := x.composites(idx, pl, root); err != nil {
			return err
		}
	} else {
		for _, b := range pl.branches {
			items, err := b.expr.Evaluate(root)
			if err != nil {
				return err
			}
			c := converter{x: x, idx: idx, param: p.Code, typ: p.Type, targets: p.Targets, codeSystem: b.codeSystem}
			for _, it := range items {
				c.item(it)
			}
		}
	}
	dedupe(idx, m)
	return nil
}
