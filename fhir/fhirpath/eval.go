package fhirpath

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Expression is a compiled FHIRPath expression. It is immutable and safe for
// concurrent use; compile once and evaluate many times.
type Expression struct {
	src  string
	root node
}

// Compile parses a FHIRPath expression. Syntax errors are *SyntaxError
// values with the position of the problem; unknown functions, wrong
// argument counts and unknown type names are reported here too.
func Compile(expr string) (*Expression, error) {
	n, err := parse(expr)
	if err != nil {
		return nil, err
	}
	return &Expression{src: expr, root: n}, nil
}

// MustCompile is like Compile but panics on error. It is meant for
// expressions that are constants of the program.
func MustCompile(expr string) *Expression {
	e, err := Compile(expr)
	if err != nil {
		panic(err)
	}
	return e
}

// String returns the source of the expression.
func (e *Expression) String() string { return e.src }

// Resolver resolves references for resolve(). Resolve receives the
// reference string (a Reference.reference, or a canonical/uri value) and
// returns the decoded resource (a map[string]any with a resourceType) or an
// Item; ok is false when the reference cannot be resolved.
type Resolver interface {
	Resolve(reference string) (resource any, ok bool)
}

// ResolverFunc adapts a function to the Resolver interface.
type ResolverFunc func(reference string) (any, bool)

// Resolve calls f.
func (f ResolverFunc) Resolve(reference string) (any, bool) { return f(reference) }

// Terminology answers memberOf() for a value (a code, Coding or
// CodeableConcept item) and a value set URL.
type Terminology interface {
	MemberOf(value Item, valueSet string) (bool, error)
}

// Option configures an evaluation.
type Option func(*config)

type config struct {
	vars        map[string][]Item
	resolver    Resolver
	terminology Terminology
	conformsTo  func(it Item, url string) (bool, error)
	trace       func(name string, c Collection)
	strict      bool
	locate      bool
	now         time.Time
	resource    []Item
	hasResource bool
	context     []Item
	hasContext  bool
}

// WithVariable defines the environment variable %name. The value may be a
// Collection, an Item, nil (empty), or a Go value accepted by NewItem
// (string, bool, int, float64, Decimal, DateTime, Quantity, a decoded
// resource...).
func WithVariable(name string, value any) Option {
	coll := toCollection(value)
	return func(c *config) {
		if c.vars == nil {
			c.vars = map[string][]Item{}
		}
		c.vars[name] = coll
	}
}

// WithResolver sets the resolver used by resolve(). References to contained
// resources (#id) and, inside a Bundle, to entries by fullUrl are resolved
// first; then the resolver is asked; when it cannot resolve, resolve()
// falls back to a placeholder typed by the reference (see resolve).
func WithResolver(r Resolver) Option { return func(c *config) { c.resolver = r } }

// WithTerminology sets the service used by memberOf().
func WithTerminology(t Terminology) Option { return func(c *config) { c.terminology = t } }

// WithConformsTo sets the check used by conformsTo() for profiles other than
// the base FHIR StructureDefinitions.
func WithConformsTo(f func(it Item, profileURL string) (bool, error)) Option {
	return func(c *config) { c.conformsTo = f }
}

// WithTrace sets the function that receives trace() output. Without it,
// trace() does nothing but return its input.
func WithTrace(f func(name string, c Collection)) Option { return func(c *config) { c.trace = f } }

// WithStrict enables strict evaluation: navigating to a name that is not an
// element of the item's type, as and as() on several items and a
// non-Boolean iif() criterion are errors instead of yielding empty or being
// tolerated. Static problems (names no reachable type has, type names the
// context can never match) are found by Check.
func WithStrict() Option { return func(c *config) { c.strict = true } }

// WithLocations records, for every item read from the input, where it was
// read (Item.Location): the object holding it, its element and its index.
// FHIRPath Patch uses it to change what a path selects.
func WithLocations() Option { return func(c *config) { c.locate = true } }

// WithNow fixes the time returned by now(), today() and timeOfDay()
// (default: the time of the evaluation, in the local timezone).
func WithNow(t time.Time) Option { return func(c *config) { c.now = t } }

// WithResource sets %resource and %rootResource when the evaluation input is
// not the resource itself (for example an element being validated).
func WithResource(resource any) Option {
	coll := toCollection(resource)
	return func(c *config) { c.resource, c.hasResource = coll, true }
}

// WithContext sets %context (default: the input).
func WithContext(context any) Option {
	coll := toCollection(context)
	return func(c *config) { c.context, c.hasContext = coll, true }
}

// toCollection converts a Go value to a collection.
func toCollection(v any) []Item {
	switch v := v.(type) {
	case nil:
		return nil
	case Collection:
		return v
	case []Item:
		return v
	case Item:
		return []Item{v}
	case []any:
		var out []Item
		for _, x := range v {
			out = append(out, toCollection(x)...)
		}
		return out
	case []byte:
		d := json.NewDecoder(bytes.NewReader(v))
		d.UseNumber()
		var x any
		if d.Decode(&x) != nil {
			return nil
		}
		return toCollection(x)
	}
	if it, ok := NewItem(v); ok {
		return []Item{it}
	}
	return nil
}

// evalCtx is the state of one evaluation.
type evalCtx struct {
	cfg     *config
	root    []Item // %resource and %rootResource
	context []Item // %context
	index   int    // $index, -1 outside of an iteration
	total   []Item // $total
	depth   int
	nowSet  bool
	now     time.Time
	cfgVal  config
	rootArr [1]Item
}

var ctxPool = sync.Pool{New: func() any { return new(evalCtx) }}

// maxDepth bounds the nesting of lambda evaluations (repeat, descendants...).
const maxDepth = 200

// Evaluate evaluates the expression on a resource: a FHIR resource decoded
// by encoding/json with UseNumber (map[string]any, typed by its
// resourceType), raw JSON ([]byte), an Item or a Collection (to evaluate on
// items from an earlier evaluation), or nil (no input). When many
// expressions are evaluated on the same resource, passing
// ResourceItem(resource) saves looking up its type each time. The input is also
// %context, %resource and %rootResource unless options say otherwise.
//
// The result must not be modified in place (appending is safe): items may
// be shared with the expression's constants. Errors are *EvalError values.
func (e *Expression) Evaluate(resource any, opts ...Option) (Collection, error) {
	c := ctxPool.Get().(*evalCtx)
	c.cfgVal = config{}
	for _, o := range opts {
		o(&c.cfgVal)
	}
	c.cfg = &c.cfgVal
	var input []Item
	switch r := resource.(type) {
	case map[string]any:
		c.rootArr[0] = resourceItem(r)
		input = c.rootArr[:]
	case Item:
		c.rootArr[0] = r
		input = c.rootArr[:]
	default:
		input = toCollection(resource)
	}
	c.root, c.context = input, input
	if c.cfg.hasResource {
		c.root = c.cfg.resource
	}
	if c.cfg.hasContext {
		c.context = c.cfg.context
	}
	c.index, c.total, c.depth, c.nowSet = -1, nil, 0, false
	res, err := e.root.eval(c, input)
	if len(res) > 0 && len(input) > 0 && &res[0] == &c.rootArr[0] {
		// The result is the root item itself: copy it out of the pooled context.
		res = []Item{res[0]}
	}
	*c = evalCtx{}
	ctxPool.Put(c)
	if err != nil {
		return nil, err
	}
	return Collection(res[:len(res):len(res)]), nil
}

// EvaluateBool evaluates the expression and converts the result to a
// Boolean the way FHIR invariants are checked: an empty result is false, a
// single Boolean is its value, any other single item is true, and several
// items are an error.
func (e *Expression) EvaluateBool(resource any, opts ...Option) (bool, error) {
	res, err := e.Evaluate(resource, opts...)
	if err != nil {
		return false, err
	}
	b, ok, err := singletonBool(res, "expression result")
	return ok && b, err
}

// getNow returns the evaluation time, fixed for the whole evaluation.
func (c *evalCtx) getNow() time.Time {
	if !c.nowSet {
		c.now = c.cfg.now
		if c.now.IsZero() {
			c.now = time.Now()
		}
		c.nowSet = true
	}
	return c.now
}

// variableNode is %name.
type variableNode struct {
	name string
	pos  int
}

// Well-known constants of FHIRPath and FHIR.
var constantVars = map[string]string{
	"ucum":  "http://unitsofmeasure.org",
	"sct":   "http://snomed.info/sct",
	"loinc": "http://loinc.org",
}

func newVariable(name string, pos int) node {
	if v, ok := constantVars[name]; ok {
		return &literalNode{items: []Item{strItem(v)}}
	}
	switch {
	case len(name) > 3 && name[:3] == "vs-":
		return &literalNode{items: []Item{strItem("http://hl7.org/fhir/ValueSet/" + name[3:])}}
	case len(name) > 4 && name[:4] == "ext-":
		return &literalNode{items: []Item{strItem("http://hl7.org/fhir/StructureDefinition/" + name[4:])}}
	}
	return &variableNode{name: name, pos: pos}
}

func (n *variableNode) eval(c *evalCtx, _ []Item) ([]Item, error) {
	if v, ok := c.cfg.vars[n.name]; ok {
		return v, nil
	}
	switch n.name {
	case "resource", "rootResource":
		return c.root, nil
	case "context":
		return c.context, nil
	}
	return nil, evalErrorf(n.pos, "undefined environment variable %%%s", n.name)
}

// enter counts one more level of nested iteration and fails beyond maxDepth.
func (c *evalCtx) enter(pos int) error {
	c.depth++
	if c.depth > maxDepth {
		return evalErrorf(pos, "evaluation nested too deeply")
	}
	return nil
}

// leave undoes enter.
func (c *evalCtx) leave() { c.depth-- }

// String describes a collection for messages and tests.
func (col Collection) String() string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, it := range col {
		if i > 0 {
			b.WriteString(", ")
		}
		if s, ok := it.toString(); ok {
			fmt.Fprintf(&b, "%s(%s)", it.TypeName(), s)
		} else {
			b.WriteString(it.TypeName())
		}
	}
	b.WriteByte(']')
	return b.String()
}
