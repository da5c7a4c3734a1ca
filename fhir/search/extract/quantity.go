package extract

import (
	"math"

	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// The systems of quantity units the index knows.
const (
	ucumSystem     = "http://unitsofmeasure.org"
	currencySystem = "urn:iso:std:iso:4217"
)

// number indexes integer and decimal values (Lo == Hi), a Range from its
// low to its high value (an open side is -Inf or +Inf), and the value of a
// Quantity.
func (c *converter) number(it fhirpath.Item) {
	m, isMap := it.Map()
	if !isMap {
		if d, ok := it.AsDecimal(); ok {
			f := d.Float64()
			c.idx.Numbers = append(c.idx.Numbers, search.Number{Param: c.param, Lo: f, Hi: f})
		}
		return
	}
	switch {
	case it.FHIRType() == "Range":
		lo, hi, ok := rangeBounds(m)
		if ok {
			c.idx.Numbers = append(c.idx.Numbers, search.Number{Param: c.param, Lo: lo, Hi: hi})
		}
	case isType(it, "Quantity"):
		if q, ok := quantity(m); ok {
			c.idx.Numbers = append(c.idx.Numbers, search.Number{Param: c.param, Lo: q.Lo, Hi: q.Hi})
		}
	}
}

// quantity indexes Quantity and its specialisations (Age, Duration...),
// with their system, code and unit and, for UCUM units, the value in the
// canonical unit; Money with its currency as code in the ISO 4217 system;
// a Range from its low to its high value, in the unit of its bounds; and
// plain numbers without a unit. A comparator makes the value open on one
// side: "<5 mg" is (-Inf, 5].
func (c *converter) quantity(it fhirpath.Item) {
	m, isMap := it.Map()
	if !isMap {
		if d, ok := it.AsDecimal(); ok {
			f := d.Float64()
			c.addQuantity(search.Quantity{Lo: f, Hi: f})
		}
		return
	}
	switch {
	case it.FHIRType() == "Money":
		v, ok := number(m["value"])
		if !ok {
			return
		}
		cur := str(m, "currency")
		q := search.Quantity{Lo: v, Hi: v, Code: cur}
		if cur != "" {
			q.System = currencySystem
		}
		c.addQuantity(q)
	case it.FHIRType() == "Range":
		low, _ := m["low"].(map[string]any)
		high, _ := m["high"].(map[string]any)
		lq, lok := quantity(low)
		hq, hok := quantity(high)
		switch {
		case lok && hok:
			q := lq
			q.Hi = hq.Hi
			q.CanonicalHi = hq.CanonicalHi
			if lq.CanonicalCode != hq.CanonicalCode {
				q.CanonicalCode, q.CanonicalLo, q.CanonicalHi = "", 0, 0
			}
			c.addQuantity(q)
		case lok:
			lq.Hi, lq.CanonicalHi = math.Inf(1), math.Inf(1)
			c.addQuantity(lq)
		case hok:
			hq.Lo, hq.CanonicalLo = math.Inf(-1), math.Inf(-1)
			c.addQuantity(hq)
		}
	case isType(it, "Quantity"):
		if q, ok := quantity(m); ok {
			c.addQuantity(q)
		}
	}
}

func (c *converter) addQuantity(q search.Quantity) {
	q.Param = c.param
	c.idx.Quantities = append(c.idx.Quantities, q)
}

// quantity reads a Quantity; ok is false when it has no value.
func quantity(m map[string]any) (search.Quantity, bool) {
	v, ok := number(m["value"])
	if !ok {
		return search.Quantity{}, false
	}
	q := search.Quantity{Lo: v, Hi: v, System: str(m, "system"), Code: str(m, "code"), Unit: str(m, "unit")}
	switch str(m, "comparator") {
	case "<", "<=":
		q.Lo = math.Inf(-1)
	case ">", ">=":
		q.Hi = math.Inf(1)
	}
	// The unit is read as UCUM in the UCUM system, and without a system
	// (where a code or unit that is not UCUM simply does not convert).
	unit := ""
	if q.System == ucumSystem || q.System == "" {
		unit = q.Code
		if unit == "" {
			unit = q.Unit
		}
	}
	if unit != "" {
		if cv, cu, ok := fhirpath.UCUMCanonical(v, unit); ok {
			q.CanonicalCode, q.CanonicalLo, q.CanonicalHi = cu, cv, cv
			if math.IsInf(q.Lo, -1) {
				q.CanonicalLo = q.Lo
			}
			if math.IsInf(q.Hi, 1) {
				q.CanonicalHi = q.Hi
			}
		}
	}
	return q, true
}

// rangeBounds returns the bounds of a Range; ok is false when it has
// neither.
func rangeBounds(m map[string]any) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(-1), math.Inf(1)
	if low, isMap := m["low"].(map[string]any); isMap {
		if v, found := number(low["value"]); found {
			lo, ok = v, true
		}
	}
	if high, isMap := m["high"].(map[string]any); isMap {
		if v, found := number(high["value"]); found {
			hi, ok = v, true
		}
	}
	return lo, hi, ok
}
