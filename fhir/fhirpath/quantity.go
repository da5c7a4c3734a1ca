package fhirpath

import (
	"math/big"
	"strings"
)

// Quantity is a FHIRPath System.Quantity: a decimal value and a unit, which
// is a UCUM code ("mg", "[lb_av]") or a calendar duration keyword ("year",
// "weeks"). A unitless quantity has unit "1".
type Quantity struct {
	Value Decimal
	Unit  string
}

// calendarKeywords maps the FHIRPath calendar duration keywords to the UCUM
// unit they equal; year and month have no UCUM equivalent (UCUM a and mo are
// mean durations).
var calendarKeywords = map[string]string{
	"year": "", "years": "", "month": "", "months": "",
	"week": "wk", "weeks": "wk", "day": "d", "days": "d", "hour": "h", "hours": "h",
	"minute": "min", "minutes": "min", "second": "s", "seconds": "s",
	"millisecond": "ms", "milliseconds": "ms",
}

func isCalendarKeyword(s string) bool {
	_, ok := calendarKeywords[s]
	return ok
}

// String formats the quantity as a FHIRPath literal: 4.5 'mg', 1 week.
func (q Quantity) String() string {
	if isCalendarKeyword(q.Unit) {
		return q.Value.String() + " " + q.Unit
	}
	return q.Value.String() + " '" + q.Unit + "'"
}

// parseQuantityString parses the string form used by toQuantity():
// a number optionally followed by a quoted UCUM unit or a calendar keyword.
func parseQuantityString(s string) (Quantity, bool) {
	s = strings.TrimSpace(s)
	numPart, unit, _ := strings.Cut(s, " ")
	d, ok := ParseDecimal(numPart)
	if !ok {
		return Quantity{}, false
	}
	unit = strings.TrimSpace(unit)
	switch {
	case unit == "":
		unit = "1"
	case len(unit) >= 2 && unit[0] == '\'' && unit[len(unit)-1] == '\'':
		unit = unit[1 : len(unit)-1]
	case isCalendarKeyword(unit):
	default:
		return Quantity{}, false
	}
	return Quantity{Value: d, Unit: unit}, true
}

// quantityUnit describes how a quantity unit compares.
type quantityUnit struct {
	months int64      // > 0: calendar months per unit (year 12, month 1)
	canon  *canonical // UCUM canonical form, nil when not convertible
	opaque string     // unit compared as text when not convertible
}

func unitOf(u string) quantityUnit {
	if ucum, ok := calendarKeywords[u]; ok {
		if ucum == "" {
			if strings.HasPrefix(u, "year") {
				return quantityUnit{months: 12}
			}
			return quantityUnit{months: 1}
		}
		u = ucum
	}
	if c := ucumCanonical(u); c != nil {
		return quantityUnit{canon: c}
	}
	return quantityUnit{opaque: u}
}

// factors returns the conversion factors of two units to a common unit, or
// false when they are not comparable.
func commonFactors(a, b quantityUnit) (fa, fb *big.Rat, ok bool) {
	switch {
	case a.months > 0 || b.months > 0:
		if a.months == 0 || b.months == 0 {
			return nil, nil, false
		}
		return big.NewRat(a.months, 1), big.NewRat(b.months, 1), true
	case a.canon != nil && b.canon != nil:
		if a.canon.dim != b.canon.dim {
			return nil, nil, false
		}
		return a.canon.factor, b.canon.factor, true
	case a.canon == nil && b.canon == nil && a.opaque == b.opaque:
		return big.NewRat(1, 1), big.NewRat(1, 1), true
	}
	return nil, nil, false
}

// compareQuantities orders two quantities after unit conversion; ok is false
// when the units are not comparable.
func compareQuantities(a, b Quantity) (int, bool) {
	if a.Unit == b.Unit {
		return a.Value.Cmp(b.Value), true
	}
	fa, fb, ok := commonFactors(unitOf(a.Unit), unitOf(b.Unit))
	if !ok {
		return 0, false
	}
	x := new(big.Rat).Mul(a.Value.Rat(), fa)
	y := new(big.Rat).Mul(b.Value.Rat(), fb)
	return x.Cmp(y), true
}

// equivalentQuantities implements ~: the values are compared after
// converting the finer unit to the coarser one, at the precision of the least
// precise value.
func equivalentQuantities(a, b Quantity) bool {
	if a.Unit == b.Unit {
		s := min(a.Value.Scale(), b.Value.Scale())
		return a.Value.Round(s).Cmp(b.Value.Round(s)) == 0
	}
	fa, fb, ok := commonFactors(unitOf(a.Unit), unitOf(b.Unit))
	if !ok {
		return false
	}
	if fa.Cmp(fb) < 0 { // a has the finer unit: express it in b's unit
		a, b, fa, fb = b, a, fb, fa
	}
	// b in a's unit
	conv := new(big.Rat).Mul(b.Value.Rat(), fb)
	conv.Quo(conv, fa)
	s := min(a.Value.Scale(), b.Value.Scale())
	return ratToDecimal(conv, s).Cmp(a.Value.Round(s)) == 0
}

// ratToDecimal rounds r half away from zero to scale fractional digits.
func ratToDecimal(r *big.Rat, scale int) Decimal {
	num := new(big.Int).Mul(r.Num(), pow10(scale+1))
	q := new(big.Int).Quo(num, r.Denom())
	d := Decimal{coef: q, scale: int32(scale + 1)}
	return d.Round(scale)
}

// ratToDecimalExact converts r to a decimal with at least minScale digits,
// exact when it terminates within maxDivScale digits.
func ratToDecimalExact(r *big.Rat, minScale int) Decimal {
	d := ratToDecimal(r, maxDivScale)
	return d.trimZeros(int32(minScale))
}

// convertQuantity expresses q in unit, if comparable.
func convertQuantity(q Quantity, unit string) (Quantity, bool) {
	if q.Unit == unit {
		return q, true
	}
	fq, fu, ok := commonFactors(unitOf(q.Unit), unitOf(unit))
	if !ok {
		return Quantity{}, false
	}
	v := new(big.Rat).Mul(q.Value.Rat(), fq)
	v.Quo(v, fu)
	return Quantity{Value: ratToDecimalExact(v, q.Value.Scale()), Unit: unit}, true
}

func addQuantities(a, b Quantity, sub bool) (Quantity, error) {
	bc, ok := convertQuantity(b, a.Unit)
	if !ok {
		return Quantity{}, evalErrorf(-1, "cannot add quantities in %q and %q", a.Unit, b.Unit)
	}
	if sub {
		return Quantity{Value: a.Value.Sub(bc.Value), Unit: a.Unit}, nil
	}
	return Quantity{Value: a.Value.Add(bc.Value), Unit: a.Unit}, nil
}

// ucumForProduct returns a UCUM form of a unit for use in a product or
// quotient (calendar keywords become their UCUM equivalent).
func ucumForProduct(u string) string {
	if ucum, ok := calendarKeywords[u]; ok {
		if ucum == "" {
			if strings.HasPrefix(u, "year") {
				return "a"
			}
			return "mo"
		}
		return ucum
	}
	if strings.ContainsAny(u, "./") {
		return "(" + u + ")"
	}
	return u
}

func mulQuantities(a, b Quantity) Quantity {
	unit := "1"
	switch {
	case a.Unit == "1":
		unit = b.Unit
	case b.Unit == "1":
		unit = a.Unit
	default:
		unit = ucumForProduct(a.Unit) + "." + ucumForProduct(b.Unit)
	}
	return Quantity{Value: a.Value.Mul(b.Value), Unit: unit}
}

func divQuantities(a, b Quantity) (Quantity, bool) {
	v, ok := a.Value.Quo(b.Value)
	if !ok {
		return Quantity{}, false
	}
	unit := "1"
	switch {
	case a.Unit == b.Unit:
	case b.Unit == "1":
		unit = a.Unit
	case a.Unit == "1":
		unit = "/" + ucumForProduct(b.Unit)
	default:
		unit = ucumForProduct(a.Unit) + "/" + ucumForProduct(b.Unit)
	}
	return Quantity{Value: v, Unit: unit}, true
}

// comparableUnits reports whether two units can be converted into each
// other (comparable()).
func comparableUnits(a, b string) bool {
	_, _, ok := commonFactors(unitOf(a), unitOf(b))
	return ok
}

// ConvertTo expresses the quantity in another unit (UCUM code or calendar
// keyword); it reports false when the units are not comparable.
func (q Quantity) ConvertTo(unit string) (Quantity, bool) { return convertQuantity(q, unit) }

// Compare orders two quantities after unit conversion; ok is false when
// their units are not comparable.
func (q Quantity) Compare(other Quantity) (cmp int, ok bool) { return compareQuantities(q, other) }
