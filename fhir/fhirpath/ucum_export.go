package fhirpath

import (
	"strconv"
	"strings"
)

// UCUMCanonical converts value in the UCUM unit to the canonical unit of
// its dimension (a product of the UCUM base units m, g, s, rad, K, C and
// cd, written like "g.m-3"), so that quantities of one dimension compare
// whatever their unit: 5.4 mg becomes 0.0054 g. ok is false when the unit
// is unknown or not convertible (arbitrary units, units with an offset).
func UCUMCanonical(value float64, unit string) (canonicalValue float64, canonicalUnit string, ok bool) {
	c := ucumCanonical(unit)
	if c == nil {
		return 0, "", false
	}
	f, _ := c.factor.Float64()
	return value * f, c.dim.String(), true
}

var baseUnits = [7]string{"m", "g", "s", "rad", "K", "C", "cd"}

// String writes the dimension as a product of base units with exponents,
// "1" for a dimensionless unit.
func (d dims) String() string {
	var sb strings.Builder
	for i, e := range d {
		if e == 0 {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(baseUnits[i])
		if e != 1 {
			sb.WriteString(strconv.Itoa(int(e)))
		}
	}
	if sb.Len() == 0 {
		return "1"
	}
	return sb.String()
}
