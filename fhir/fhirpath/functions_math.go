package fhirpath

import (
	"math"

	"github.com/cpms-fhir/cpms/fhir/model"
)

var mathFunctions = map[string]*funcDef{
	"abs": fn0(func(_ *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		it, ok, err := numericInput(in, f, "abs", true)
		if !ok {
			return nil, err
		}
		switch it.sys {
		case model.SystemInteger:
			n, _ := it.AsInteger()
			if n < 0 {
				n = -n
			}
			return []Item{intItem(n)}, nil
		case model.SystemQuantity:
			q, _ := it.AsQuantity()
			q.Value = q.Value.Abs()
			return []Item{qtyItem(q)}, nil
		}
		d, _ := it.AsDecimal()
		return []Item{decItem(d.Abs())}, nil
	}),
	"ceiling":  fn0(integerRounding("ceiling", Decimal.Ceiling)),
	"floor":    fn0(integerRounding("floor", Decimal.Floor)),
	"truncate": fn0(integerRounding("truncate", func(d Decimal) Decimal { return d.Truncate(0) })),
	"round": fnN(0, 1, func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		it, ok, err := numericInput(in, f, "round", false)
		if !ok {
			return nil, err
		}
		prec := int64(0)
		if len(f.args) == 1 {
			p, ok, err := c.intArg(f, 0, this)
			if err != nil {
				return nil, err
			}
			if ok {
				if p < 0 {
					return nil, evalErrorf(f.pos, "round() precision must not be negative")
				}
				prec = p
			}
		}
		d, _ := it.AsDecimal()
		return []Item{decItem(d.Round(int(prec)))}, nil
	}),
	"exp":  fn0(floatFunc("exp", math.Exp)),
	"ln":   fn0(floatFunc("ln", math.Log)),
	"sqrt": fn0(floatFunc("sqrt", math.Sqrt)),
	"log": fnN(1, 1, func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		it, ok, err := numericInput(in, f, "log", false)
		if !ok {
			return nil, err
		}
		base, ok, err := c.numericArg(f, 0, this)
		if !ok {
			return nil, err
		}
		x, _ := it.AsDecimal()
		return floatResult(math.Log(x.Float64()) / math.Log(base.Float64()))
	}),
	"power": fnN(1, 1, func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		it, ok, err := numericInput(in, f, "power", false)
		if !ok {
			return nil, err
		}
		exp, ok, err := c.numericArg(f, 0, this)
		if !ok {
			return nil, err
		}
		if it.sys == model.SystemInteger && exp.Scale() == 0 && exp.Sign() >= 0 {
			if e, fits := exp.Int64(); fits {
				b, _ := it.AsInteger()
				r, exact := intPow(b, e)
				if exact {
					return []Item{intItem(r)}, nil
				}
			}
		}
		x, _ := it.AsDecimal()
		return floatResult(math.Pow(x.Float64(), exp.Float64()))
	}),
}

// numericInput returns the single Integer or Decimal (or Quantity, when
// allowed) input of a math function.
func numericInput(in []Item, f *funcStep, name string, quantity bool) (Item, bool, error) {
	it, ok, err := single(in, f, name)
	if !ok {
		return it, false, err
	}
	if isNumeric(it.sys) || (quantity && it.sys == model.SystemQuantity) {
		if it.v == nil {
			return it, false, nil
		}
		return it, true, nil
	}
	return it, false, evalErrorf(f.pos, "%s() needs a number, got %s", name, it.TypeName())
}

func (c *evalCtx) numericArg(f *funcStep, i int, this []Item) (Decimal, bool, error) {
	v, err := c.arg(f, i, this)
	if err != nil || len(v) == 0 {
		return Decimal{}, false, err
	}
	if len(v) > 1 || !isNumeric(v[0].sys) {
		return Decimal{}, false, evalErrorf(f.pos, "expected a single number argument")
	}
	d, ok := v[0].AsDecimal()
	return d, ok, nil
}

func integerRounding(name string, round func(Decimal) Decimal) func(*evalCtx, *funcStep, []Item, []Item) ([]Item, error) {
	return func(_ *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		it, ok, err := numericInput(in, f, name, false)
		if !ok {
			return nil, err
		}
		if it.sys == model.SystemInteger {
			n, _ := it.AsInteger()
			return []Item{intItem(n)}, nil
		}
		d, _ := it.AsDecimal()
		n, fits := round(d).Int64()
		if !fits {
			return nil, nil
		}
		return []Item{intItem(n)}, nil
	}
}

func floatFunc(name string, g func(float64) float64) func(*evalCtx, *funcStep, []Item, []Item) ([]Item, error) {
	return func(_ *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		it, ok, err := numericInput(in, f, name, false)
		if !ok {
			return nil, err
		}
		d, _ := it.AsDecimal()
		return floatResult(g(d.Float64()))
	}
}

// floatResult converts a float64 result; NaN and infinities give empty.
func floatResult(x float64) ([]Item, error) {
	d, ok := decimalFromFloat(x)
	if !ok {
		return nil, nil
	}
	return []Item{decItem(d)}, nil
}

func intPow(b, e int64) (int64, bool) {
	switch {
	case e == 0 || b == 1:
		return 1, true
	case b == 0:
		return 0, true
	case b == -1:
		if e%2 == 0 {
			return 1, true
		}
		return -1, true
	case e > 63:
		return 0, false
	}
	r := int64(1)
	for i := int64(0); i < e; i++ {
		if r > math.MaxInt64/max(abs64(b), 1) {
			return 0, false
		}
		r *= b
	}
	return r, true
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
