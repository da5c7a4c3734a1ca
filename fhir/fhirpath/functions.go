package fhirpath

import (
	"sort"
)

// funcDef describes a function: its arity and implementation. Arguments are
// passed unevaluated, so that each function decides whether to evaluate them
// once against the enclosing focus or per input item ($this).
type funcDef struct {
	name             string
	minArgs, maxArgs int
	typeArg          bool // the first argument is a type specifier
	fn               func(c *evalCtx, f *funcStep, this, input []Item) ([]Item, error)
}

var functions map[string]*funcDef

func init() {
	functions = map[string]*funcDef{}
	for _, table := range []map[string]*funcDef{
		existenceFunctions, filterFunctions, conversionFunctions, stringFunctions,
		mathFunctions, fhirFunctions, utilityFunctions,
	} {
		for name, def := range table {
			def.name = name
			functions[name] = def
		}
	}
}

// Functions returns the names of the supported functions, sorted.
func Functions() []string {
	names := make([]string, 0, len(functions))
	for n := range functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func fn0(f func(c *evalCtx, fs *funcStep, this, input []Item) ([]Item, error)) *funcDef {
	return &funcDef{fn: f}
}

func fnN(minArgs, maxArgs int, f func(c *evalCtx, fs *funcStep, this, input []Item) ([]Item, error)) *funcDef {
	return &funcDef{minArgs: minArgs, maxArgs: maxArgs, fn: f}
}

// arg evaluates argument i against the enclosing focus.
func (c *evalCtx) arg(f *funcStep, i int, this []Item) ([]Item, error) {
	return f.args[i].eval(c, this)
}

// eachLambda evaluates argument n once per input item, with $this set to the
// item and $index to its position, and passes each result to fn until fn
// returns stop. The result slice passed to fn is only valid during the call.
func (c *evalCtx) eachLambda(f *funcStep, n int, input []Item, fn func(i int, res []Item) (stop bool, err error)) error {
	if len(input) == 0 {
		return nil
	}
	if err := c.enter(f.pos); err != nil {
		return err
	}
	defer c.leave()
	saved := c.index
	defer func() { c.index = saved }()
	one := make([]Item, 1)
	for i := range input {
		one[0] = input[i]
		c.index = i
		res, err := f.args[n].eval(c, one)
		if err != nil {
			return err
		}
		stop, err := fn(i, res)
		if err != nil || stop {
			return err
		}
	}
	return nil
}

// lambdaBool converts the result of a criteria argument to a Boolean; what
// names it in messages (a constant, so that no string is built per item).
func lambdaBool(res []Item, what string, pos int) (bool, error) {
	b, ok, err := singletonBool(res, what)
	if err != nil {
		return false, atPos(err, pos)
	}
	return ok && b, nil
}

var existenceFunctions = map[string]*funcDef{
	"empty": fn0(func(_ *evalCtx, _ *funcStep, _, in []Item) ([]Item, error) {
		return boolColl(len(in) == 0), nil
	}),
	"exists": fnN(0, 1, func(c *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		if len(f.args) == 0 {
			return boolColl(len(in) > 0), nil
		}
		found := false
		err := c.eachLambda(f, 0, in, func(_ int, res []Item) (bool, error) {
			b, err := lambdaBool(res, "exists() criteria", f.pos)
			found = b
			return b, err
		})
		return boolColl(found), err
	}),
	"all": fnN(1, 1, func(c *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		all := true
		err := c.eachLambda(f, 0, in, func(_ int, res []Item) (bool, error) {
			b, err := lambdaBool(res, "all() criteria", f.pos)
			all = b
			return !b, err
		})
		return boolColl(all), err
	}),
	"allTrue":  fn0(boolAggregate(true, true)),
	"anyTrue":  fn0(boolAggregate(false, true)),
	"allFalse": fn0(boolAggregate(true, false)),
	"anyFalse": fn0(boolAggregate(false, false)),
	"subsetOf": fnN(1, 1, func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		other, err := c.arg(f, 0, this)
		if err != nil {
			return nil, err
		}
		for _, it := range in {
			if !contains(other, it) {
				return falseColl, nil
			}
		}
		return trueColl, nil
	}),
	"supersetOf": fnN(1, 1, func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		other, err := c.arg(f, 0, this)
		if err != nil {
			return nil, err
		}
		for _, it := range other {
			if !contains(in, it) {
				return falseColl, nil
			}
		}
		return trueColl, nil
	}),
	"count": fn0(func(_ *evalCtx, _ *funcStep, _, in []Item) ([]Item, error) {
		return []Item{intItem(int64(len(in)))}, nil
	}),
	"distinct": fn0(func(_ *evalCtx, _ *funcStep, _, in []Item) ([]Item, error) {
		return distinct(in), nil
	}),
	"isDistinct": fn0(func(_ *evalCtx, _ *funcStep, _, in []Item) ([]Item, error) {
		return boolColl(len(distinct(in)) == len(in)), nil
	}),
}

// boolAggregate builds allTrue (all, true), anyTrue (any, true), allFalse and
// anyFalse.
func boolAggregate(all, want bool) func(*evalCtx, *funcStep, []Item, []Item) ([]Item, error) {
	return func(_ *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		for _, it := range in {
			b, ok := it.AsBool()
			if !ok {
				return nil, evalErrorf(f.pos, "expected Boolean items, got %s", it.TypeName())
			}
			if all && b != want {
				return falseColl, nil
			}
			if !all && b == want {
				return trueColl, nil
			}
		}
		return boolColl(all), nil
	}
}

func distinct(in []Item) []Item {
	if len(in) < 2 {
		return in
	}
	out := make([]Item, 0, len(in))
	for _, it := range in {
		if !contains(out, it) {
			out = append(out, it)
		}
	}
	return out
}

var filterFunctions = map[string]*funcDef{
	"where": fnN(1, 1, func(c *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		var out []Item
		kept := 0
		err := c.eachLambda(f, 0, in, func(i int, res []Item) (bool, error) {
			b, err := lambdaBool(res, "where() criteria", f.pos)
			if err != nil {
				return true, err
			}
			switch {
			case b && out == nil && kept == i:
				kept++ // still a prefix of the input: no copy yet
			case b:
				if out == nil {
					out = append(make([]Item, 0, len(in)-i+kept), in[:kept]...)
				}
				out = append(out, in[i])
			case out == nil:
				out = append(make([]Item, 0, len(in)), in[:kept]...)
			}
			return false, nil
		})
		if err != nil {
			return nil, err
		}
		if out == nil {
			return in[:kept:kept], nil
		}
		return out, nil
	}),
	"select": fnN(1, 1, func(c *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		var out []Item
		err := c.eachLambda(f, 0, in, func(_ int, res []Item) (bool, error) {
			out = append(out, res...)
			return false, nil
		})
		return out, err
	}),
	"repeat": fnN(1, 1, func(c *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		var out []Item
		level := in
		for round := 0; len(level) > 0; round++ {
			if round > maxDepth {
				return nil, evalErrorf(f.pos, "repeat() did not terminate")
			}
			var next []Item
			err := c.eachLambda(f, 0, level, func(_ int, res []Item) (bool, error) {
				for _, it := range res {
					if !contains(out, it) {
						out = append(out, it)
						next = append(next, it)
					}
				}
				return false, nil
			})
			if err != nil {
				return nil, err
			}
			level = next
		}
		return out, nil
	}),
	"ofType": {minArgs: 1, maxArgs: 1, typeArg: true, fn: func(_ *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		return filterType(in, f.spec), nil
	}},
	"single": fn0(func(_ *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		if len(in) > 1 {
			return nil, evalErrorf(f.pos, "single() on a collection of %d items", len(in))
		}
		return in, nil
	}),
	"first": fn0(func(_ *evalCtx, _ *funcStep, _, in []Item) ([]Item, error) {
		if len(in) == 0 {
			return nil, nil
		}
		return in[:1:1], nil
	}),
	"last": fn0(func(_ *evalCtx, _ *funcStep, _, in []Item) ([]Item, error) {
		if len(in) == 0 {
			return nil, nil
		}
		return in[len(in)-1:], nil
	}),
	"tail": fn0(func(_ *evalCtx, _ *funcStep, _, in []Item) ([]Item, error) {
		if len(in) < 2 {
			return nil, nil
		}
		return in[1:], nil
	}),
	"skip": fnN(1, 1, func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		n, ok, err := c.intArg(f, 0, this)
		if err != nil || !ok {
			return nil, err
		}
		if n <= 0 {
			return in, nil
		}
		if n >= int64(len(in)) {
			return nil, nil
		}
		return in[n:], nil
	}),
	"take": fnN(1, 1, func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		n, ok, err := c.intArg(f, 0, this)
		if err != nil || !ok || n <= 0 {
			return nil, err
		}
		if n >= int64(len(in)) {
			return in, nil
		}
		return in[:n:n], nil
	}),
	"intersect": fnN(1, 1, func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		other, err := c.arg(f, 0, this)
		if err != nil {
			return nil, err
		}
		var out []Item
		for _, it := range in {
			if contains(other, it) && !contains(out, it) {
				out = append(out, it)
			}
		}
		return out, nil
	}),
	"exclude": fnN(1, 1, func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		other, err := c.arg(f, 0, this)
		if err != nil {
			return nil, err
		}
		var out []Item
		for _, it := range in {
			if !contains(other, it) {
				out = append(out, it)
			}
		}
		return out, nil
	}),
	"union": fnN(1, 1, func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		other, err := c.arg(f, 0, this)
		if err != nil {
			return nil, err
		}
		return union(in, other), nil
	}),
	"combine": fnN(1, 1, func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		other, err := c.arg(f, 0, this)
		if err != nil {
			return nil, err
		}
		if len(other) == 0 {
			return in, nil
		}
		out := make([]Item, 0, len(in)+len(other))
		return append(append(out, in...), other...), nil
	}),
}

// intArg evaluates argument i as a single Integer.
func (c *evalCtx) intArg(f *funcStep, i int, this []Item) (int64, bool, error) {
	v, err := c.arg(f, i, this)
	if err != nil {
		return 0, false, err
	}
	n, ok, err := singletonInt(v, "argument")
	if err != nil {
		return 0, false, atPos(err, f.pos)
	}
	return n, ok, nil
}

// stringArg evaluates argument i as a single String.
func (c *evalCtx) stringArg(f *funcStep, i int, this []Item) (string, bool, error) {
	v, err := c.arg(f, i, this)
	if err != nil {
		return "", false, err
	}
	s, ok, err := singletonString(v, "argument")
	if err != nil {
		return "", false, atPos(err, f.pos)
	}
	return s, ok, nil
}

// single returns the only item of in; ok is false for an empty input and an
// error is returned for several items.
func single(in []Item, f *funcStep, name string) (Item, bool, error) {
	switch len(in) {
	case 0:
		return Item{}, false, nil
	case 1:
		return in[0], true, nil
	}
	return Item{}, false, evalErrorf(f.pos, "%s() needs a single input item, got %d", name, len(in))
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
