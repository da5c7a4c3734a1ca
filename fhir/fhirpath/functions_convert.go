package fhirpath

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/cpms-fhir/cpms/fhir/model"
)

var conversionFunctions = map[string]*funcDef{
	"iif": fnN(2, 3, fnIif),
	"toBoolean": fn0(converter("toBoolean", func(it Item) (Item, bool) {
		b, ok := toBoolean(it)
		return boolItem(b), ok
	})),
	"convertsToBoolean": fn0(convertsTo("convertsToBoolean", func(it Item) bool { _, ok := toBoolean(it); return ok })),
	"toInteger": fn0(converter("toInteger", func(it Item) (Item, bool) {
		n, ok := toInteger(it)
		return intItem(n), ok
	})),
	"convertsToInteger": fn0(convertsTo("convertsToInteger", func(it Item) bool { _, ok := toInteger(it); return ok })),
	"toDecimal": fn0(converter("toDecimal", func(it Item) (Item, bool) {
		d, ok := toDecimal(it)
		return decItem(d), ok
	})),
	"convertsToDecimal": fn0(convertsTo("convertsToDecimal", func(it Item) bool { _, ok := toDecimal(it); return ok })),
	"toString": fn0(converter("toString", func(it Item) (Item, bool) {
		s, ok := it.toString()
		return strItem(s), ok
	})),
	"convertsToString": fn0(convertsTo("convertsToString", func(it Item) bool { _, ok := it.toString(); return ok })),
	"toDate": fn0(converter("toDate", func(it Item) (Item, bool) {
		d, ok := toTemporal(it, KindDate)
		return dtItem(d), ok
	})),
	"convertsToDate": fn0(convertsTo("convertsToDate", func(it Item) bool { _, ok := toTemporal(it, KindDate); return ok })),
	"toDateTime": fn0(converter("toDateTime", func(it Item) (Item, bool) {
		d, ok := toTemporal(it, KindDateTime)
		return dtItem(d), ok
	})),
	"convertsToDateTime": fn0(convertsTo("convertsToDateTime", func(it Item) bool { _, ok := toTemporal(it, KindDateTime); return ok })),
	"toTime": fn0(converter("toTime", func(it Item) (Item, bool) {
		d, ok := toTemporal(it, KindTime)
		return dtItem(d), ok
	})),
	"convertsToTime":     fn0(convertsTo("convertsToTime", func(it Item) bool { _, ok := toTemporal(it, KindTime); return ok })),
	"toQuantity":         fnN(0, 1, fnToQuantity(false)),
	"convertsToQuantity": fnN(0, 1, fnToQuantity(true)),
}

// fnIif implements iif(criterion, true-result [, otherwise-result]). The
// arguments are evaluated with the input as focus, and only the branch
// selected is evaluated. Invoked on an explicit input (x.iif(...)), the
// input must not have several items.
func fnIif(c *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
	if len(in) > 1 && f.method {
		return nil, evalErrorf(f.pos, "iif() on a collection of %d items", len(in))
	}
	crit, err := f.args[0].eval(c, in)
	if err != nil {
		return nil, err
	}
	if c.cfg.strict && len(crit) == 1 && crit[0].sys != model.SystemBoolean {
		return nil, evalErrorf(f.pos, "iif() criterion is %s, not Boolean", crit[0].TypeName())
	}
	b, ok, err := singletonBool(crit, "iif() criterion")
	if err != nil {
		return nil, atPos(err, f.pos)
	}
	if ok && b {
		return f.args[1].eval(c, in)
	}
	if len(f.args) == 3 {
		return f.args[2].eval(c, in)
	}
	return nil, nil
}

// converter builds a toX() function: empty for an empty input or an
// inconvertible item, an error for several items.
func converter(name string, conv func(Item) (Item, bool)) func(*evalCtx, *funcStep, []Item, []Item) ([]Item, error) {
	return func(_ *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		it, ok, err := single(in, f, name)
		if !ok {
			return nil, err
		}
		r, ok := conv(it)
		if !ok {
			return nil, nil
		}
		return []Item{r}, nil
	}
}

func convertsTo(name string, test func(Item) bool) func(*evalCtx, *funcStep, []Item, []Item) ([]Item, error) {
	return func(_ *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		it, ok, err := single(in, f, name)
		if !ok {
			return nil, err
		}
		return boolColl(test(it)), nil
	}
}

func toBoolean(it Item) (bool, bool) {
	switch it.sys {
	case model.SystemBoolean:
		return it.AsBool()
	case model.SystemInteger:
		n, ok := it.AsInteger()
		if ok && (n == 0 || n == 1) {
			return n == 1, true
		}
	case model.SystemDecimal:
		d, ok := it.AsDecimal()
		if ok {
			switch {
			case d.Cmp(DecimalFromInt(1)) == 0:
				return true, true
			case d.Sign() == 0:
				return false, true
			}
		}
	case model.SystemString:
		s, _ := it.AsString()
		switch strings.ToLower(s) {
		case "true", "t", "yes", "y", "1", "1.0":
			return true, true
		case "false", "f", "no", "n", "0", "0.0":
			return false, true
		}
	}
	return false, false
}

var integerPattern = regexp.MustCompile(`^[+-]?[0-9]+$`)

func toInteger(it Item) (int64, bool) {
	switch it.sys {
	case model.SystemInteger:
		return it.AsInteger()
	case model.SystemBoolean:
		b, ok := it.AsBool()
		if b {
			return 1, ok
		}
		return 0, ok
	case model.SystemString:
		s, _ := it.AsString()
		if !integerPattern.MatchString(s) {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 32)
		return n, err == nil
	}
	return 0, false
}

var decimalPattern = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)

func toDecimal(it Item) (Decimal, bool) {
	switch it.sys {
	case model.SystemInteger, model.SystemDecimal:
		return it.AsDecimal()
	case model.SystemBoolean:
		b, ok := it.AsBool()
		if b {
			return Decimal{coef: pow10(1), scale: 1}, ok
		}
		return DecimalFromInt(0).rescale(1), ok
	case model.SystemString:
		s, _ := it.AsString()
		if !decimalPattern.MatchString(s) {
			return Decimal{}, false
		}
		return ParseDecimal(s)
	}
	return Decimal{}, false
}

// toTemporal converts a String, Date or DateTime to the wanted kind.
func toTemporal(it Item, kind TemporalKind) (DateTime, bool) {
	switch it.sys {
	case model.SystemString:
		s, _ := it.AsString()
		switch kind {
		case KindDate:
			if d, ok := ParseDate(s); ok {
				return d, true
			}
			// A dateTime string converts to its date part.
			d, ok := ParseDateTime(s)
			if !ok {
				return DateTime{}, false
			}
			return dateOf(d), true
		case KindDateTime:
			return ParseDateTime(s)
		default:
			return ParseTime(s)
		}
	case model.SystemDate, model.SystemDateTime:
		d, ok := it.AsDateTime()
		if !ok {
			return DateTime{}, false
		}
		switch kind {
		case KindDate:
			return dateOf(d), true
		case KindDateTime:
			d.Kind = KindDateTime
			return d, true
		}
	case model.SystemTime:
		if kind == KindTime {
			return it.AsDateTime()
		}
	}
	return DateTime{}, false
}

func dateOf(d DateTime) DateTime {
	r := DateTime{Kind: KindDate, Year: d.Year, Month: d.Month, Day: d.Day, Precision: min(d.Precision, PrecisionDay)}
	return r
}

func fnToQuantity(test bool) func(*evalCtx, *funcStep, []Item, []Item) ([]Item, error) {
	return func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		it, ok, err := single(in, f, "toQuantity")
		if !ok {
			return nil, err
		}
		var q Quantity
		switch it.sys {
		case model.SystemQuantity:
			q, ok = it.AsQuantity()
		case model.SystemInteger, model.SystemDecimal:
			var d Decimal
			d, ok = it.AsDecimal()
			q = Quantity{Value: d, Unit: "1"}
		case model.SystemBoolean:
			var d Decimal
			d, ok = toDecimal(it)
			q = Quantity{Value: d, Unit: "1"}
		case model.SystemString:
			s, _ := it.AsString()
			q, ok = parseQuantityString(s)
		default:
			ok = false
		}
		if ok && len(f.args) == 1 {
			unit, has, err := c.stringArg(f, 0, this)
			if err != nil {
				return nil, err
			}
			if has {
				q, ok = convertQuantity(q, unit)
			}
		}
		if test {
			return boolColl(ok), nil
		}
		if !ok {
			return nil, nil
		}
		return []Item{qtyItem(q)}, nil
	}
}
