package fhirpath

import (
	"sort"
	"time"

	"github.com/cpms-fhir/cpms/fhir/model"
)

var utilityFunctions = map[string]*funcDef{
	"trace": fnN(1, 2, func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		name, _, err := c.stringArg(f, 0, this)
		if err != nil {
			return nil, err
		}
		if c.cfg.trace == nil {
			return in, nil
		}
		shown := in
		if len(f.args) == 2 {
			var proj []Item
			err := c.eachLambda(f, 1, in, func(_ int, res []Item) (bool, error) {
				proj = append(proj, res...)
				return false, nil
			})
			if err != nil {
				return nil, err
			}
			shown = proj
		}
		c.cfg.trace(name, append(Collection(nil), shown...))
		return in, nil
	}),
	"now": fn0(func(c *evalCtx, _ *funcStep, _, _ []Item) ([]Item, error) {
		return []Item{dtItem(fromGoTime(c.getNow(), KindDateTime, PrecisionMillisecond))}, nil
	}),
	"today": fn0(func(c *evalCtx, _ *funcStep, _, _ []Item) ([]Item, error) {
		return []Item{dtItem(fromGoTime(c.getNow(), KindDate, PrecisionDay))}, nil
	}),
	"timeOfDay": fn0(func(c *evalCtx, _ *funcStep, _, _ []Item) ([]Item, error) {
		return []Item{dtItem(fromGoTime(c.getNow(), KindTime, PrecisionMillisecond))}, nil
	}),
	"aggregate": fnN(1, 2, fnAggregate),
	"sort":      fnN(0, 8, fnSort),
	"children": fn0(func(c *evalCtx, _ *funcStep, _, in []Item) ([]Item, error) {
		var out []Item
		var err error
		for _, it := range in {
			if out, err = c.children(out, it); err != nil {
				return nil, err
			}
		}
		return out, nil
	}),
	"descendants": fn0(func(c *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		var out []Item
		level := in
		for depth := 0; len(level) > 0; depth++ {
			if depth > maxDepth {
				return nil, evalErrorf(f.pos, "descendants(): structure nested too deeply")
			}
			start := len(out)
			var err error
			for _, it := range level {
				if out, err = c.children(out, it); err != nil {
					return nil, err
				}
			}
			level = out[start:]
		}
		return out, nil
	}),
	"lowBoundary":  fnN(0, 1, fnBoundary(true)),
	"highBoundary": fnN(0, 1, fnBoundary(false)),
	"precision": fn0(func(_ *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		it, ok, err := single(in, f, "precision")
		if !ok {
			return nil, err
		}
		switch it.sys {
		case model.SystemDecimal, model.SystemInteger:
			d, ok := it.AsDecimal()
			if ok {
				return []Item{intItem(int64(d.digitsPrecision()))}, nil
			}
		case model.SystemDate, model.SystemDateTime, model.SystemTime:
			d, ok := it.AsDateTime()
			if ok {
				return []Item{intItem(int64(d.precisionDigits()))}, nil
			}
		}
		return nil, nil
	}),
	"comparable": fnN(1, 1, func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		it, ok, err := single(in, f, "comparable")
		if !ok {
			return nil, err
		}
		other, err := c.arg(f, 0, this)
		if err != nil || len(other) != 1 {
			return nil, err
		}
		a, ok1 := it.AsQuantity()
		b, ok2 := other[0].AsQuantity()
		if !ok1 || !ok2 {
			return nil, evalErrorf(f.pos, "comparable() needs quantities")
		}
		return boolColl(comparableUnits(a.Unit, b.Unit)), nil
	}),
	"sum": fn0(func(_ *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		if len(in) == 0 {
			return []Item{intItem(0)}, nil
		}
		acc := in[0]
		for _, it := range in[1:] {
			r, ok, err := arithmetic(opAdd, acc, it)
			if err != nil {
				return nil, atPos(err, f.pos)
			}
			if !ok {
				return nil, nil
			}
			acc = r
		}
		return []Item{acc}, nil
	}),
	"min": fn0(extremum(-1)),
	"max": fn0(extremum(1)),
	"avg": fn0(func(_ *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		if len(in) == 0 {
			return nil, nil
		}
		acc := in[0]
		for _, it := range in[1:] {
			r, ok, err := arithmetic(opAdd, acc, it)
			if err != nil || !ok {
				return nil, err
			}
			acc = r
		}
		r, ok, err := arithmetic(opDiv, acc, intItem(int64(len(in))))
		if err != nil || !ok {
			return nil, err
		}
		return []Item{r}, nil
	}),
}

func fromGoTime(t time.Time, kind TemporalKind, p Precision) DateTime {
	_, off := t.Zone()
	d := DateTime{Kind: kind, Precision: p, HasTZ: kind == KindDateTime, TZMinutes: off / 60, FracDigits: 3}
	d = d.fromTime(t)
	d.Nanos = d.Nanos / 1e6 * 1e6
	if kind == KindTime {
		d.Year, d.Month, d.Day = 0, 0, 0
	}
	return d
}

func fnAggregate(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
	var total []Item
	if len(f.args) == 2 {
		var err error
		if total, err = c.arg(f, 1, this); err != nil {
			return nil, err
		}
	}
	saved := c.total
	defer func() { c.total = saved }()
	c.total = total
	err := c.eachLambda(f, 0, in, func(_ int, res []Item) (bool, error) {
		// The result may alias the per-item focus, which is reused.
		c.total = append([]Item(nil), res...)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return c.total, nil
}

// fnSort implements sort([key, ...]): items are ordered by each key in
// turn; a key written with a leading minus sorts descending.
func fnSort(c *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
	if len(in) < 2 {
		return in, nil
	}
	type keyed struct {
		it   Item
		keys [][]Item
	}
	keys := make([]node, len(f.args))
	desc := make([]bool, len(f.args))
	for i, a := range f.args {
		keys[i] = a
		if u, ok := a.(*unaryNode); ok && u.neg {
			keys[i], desc[i] = u.operand, true
		}
	}
	rows := make([]keyed, len(in))
	one := make([]Item, 1)
	for i, it := range in {
		rows[i].it = it
		for _, k := range keys {
			one[0] = it
			v, err := k.eval(c, one)
			if err != nil {
				return nil, err
			}
			rows[i].keys = append(rows[i].keys, append([]Item(nil), v...))
		}
	}
	var sortErr error
	cmp := func(a, b []Item) int {
		switch {
		case len(a) == 0 && len(b) == 0:
			return 0
		case len(a) == 0: // empty keys sort last
			return 1
		case len(b) == 0:
			return -1
		}
		r, ok, err := compareItems(a[0], b[0])
		if err != nil && sortErr == nil {
			sortErr = atPos(err, f.pos)
		}
		if !ok {
			return 0
		}
		return r
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if len(keys) == 0 {
			return cmp(rows[i].it.asSlice(), rows[j].it.asSlice()) < 0
		}
		for k := range keys {
			r := cmp(rows[i].keys[k], rows[j].keys[k])
			if desc[k] {
				r = -r
			}
			if r != 0 {
				return r < 0
			}
		}
		return false
	})
	if sortErr != nil {
		return nil, sortErr
	}
	out := make([]Item, len(rows))
	for i, r := range rows {
		out[i] = r.it
	}
	return out, nil
}

func (it Item) asSlice() []Item { return []Item{it} }

func extremum(sign int) func(*evalCtx, *funcStep, []Item, []Item) ([]Item, error) {
	return func(_ *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		if len(in) == 0 {
			return nil, nil
		}
		best := in[0]
		for _, it := range in[1:] {
			r, ok, err := compareItems(it, best)
			if err != nil {
				return nil, atPos(err, f.pos)
			}
			if !ok {
				return nil, nil
			}
			if r*sign > 0 {
				best = it
			}
		}
		return []Item{best}, nil
	}
}

// fnBoundary implements lowBoundary() and highBoundary() for decimals,
// quantities, dates, date/times and times.
func fnBoundary(low bool) func(*evalCtx, *funcStep, []Item, []Item) ([]Item, error) {
	name := "highBoundary"
	if low {
		name = "lowBoundary"
	}
	return func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		it, ok, err := single(in, f, name)
		if !ok {
			return nil, err
		}
		prec, hasPrec := int64(-1), false
		if len(f.args) == 1 {
			p, ok, err := c.intArg(f, 0, this)
			if err != nil {
				return nil, err
			}
			prec, hasPrec = p, ok
		}
		switch it.sys {
		case model.SystemInteger, model.SystemDecimal, model.SystemQuantity:
			var d Decimal
			var q Quantity
			if it.sys == model.SystemQuantity {
				if q, ok = it.AsQuantity(); !ok {
					return nil, nil
				}
				d = q.Value
			} else if d, ok = it.AsDecimal(); !ok {
				return nil, nil
			}
			if !hasPrec {
				prec = 8
			}
			if prec < 0 || prec > 28 {
				return nil, nil
			}
			b := d.boundary(low, int(prec))
			if it.sys == model.SystemQuantity {
				q.Value = b
				return []Item{qtyItem(q)}, nil
			}
			return []Item{decItem(b)}, nil
		case model.SystemDate, model.SystemDateTime, model.SystemTime:
			d, ok := it.AsDateTime()
			if !ok {
				return nil, nil
			}
			if !hasPrec {
				switch d.Kind {
				case KindDate:
					prec = 8
				case KindTime:
					prec = 9
				default:
					prec = 17
				}
			}
			r, ok := d.boundary(low, int(prec))
			if !ok {
				return nil, nil
			}
			return []Item{dtItem(r)}, nil
		}
		return nil, nil
	}
}
