package fhirpath

import (
	"math/big"
	"strings"
	"sync"
)

// A compact UCUM (https://ucum.org) unit parser and converter, enough to
// compare and compute with the quantities found in clinical data: the SI
// base and derived units with prefixes, the usual customary units, time
// units, percent and parts-per, annotations, exponents, products and
// quotients. Arbitrary units ([iU]) and units with an offset (Cel, [degF])
// are not convertible: such quantities compare only with the same unit.

// dimension exponents over the UCUM base units m, g, s, rad, K, C, cd.
type dims [7]int8

// canonical is a unit expressed as factor × product of base units.
type canonical struct {
	factor *big.Rat
	dim    dims
}

type ucumAtom struct {
	metric bool   // accepts prefixes
	def    string // definition as a UCUM expression, "" for base units
	value  string // decimal factor of the definition
	base   int    // index in dims for base units, -1 otherwise
}

var ucumPrefixes = map[string]int{
	"Y": 24, "Z": 21, "E": 18, "P": 15, "T": 12, "G": 9, "M": 6, "k": 3, "h": 2, "da": 1,
	"d": -1, "c": -2, "m": -3, "u": -6, "n": -9, "p": -12, "f": -15, "a": -18, "z": -21, "y": -24,
}

var ucumAtoms = map[string]ucumAtom{
	// base units
	"m": {metric: true, base: 0}, "g": {metric: true, base: 1}, "s": {metric: true, base: 2},
	"rad": {metric: true, base: 3}, "K": {metric: true, base: 4}, "C": {metric: true, base: 5},
	"cd": {metric: true, base: 6},
	// dimensionless
	"%": {value: "0.01", def: "1", base: -1}, "[ppth]": {value: "0.001", def: "1", base: -1},
	"[ppm]": {value: "0.000001", def: "1", base: -1}, "[ppb]": {value: "0.000000001", def: "1", base: -1},
	"[pptr]": {value: "0.000000000001", def: "1", base: -1},
	"mol":    {metric: true, value: "602213670000000000000000", def: "1", base: -1},
	"sr":     {metric: true, value: "1", def: "rad2", base: -1},
	"eq":     {metric: true, value: "1", def: "mol", base: -1}, "osm": {metric: true, value: "1", def: "mol", base: -1},
	"U": {metric: true, value: "1", def: "umol/min", base: -1}, "kat": {metric: true, value: "1", def: "mol/s", base: -1},
	// time
	"min": {value: "60", def: "s", base: -1}, "h": {value: "60", def: "min", base: -1},
	"d": {value: "24", def: "h", base: -1}, "wk": {value: "7", def: "d", base: -1},
	"a_j": {value: "365.25", def: "d", base: -1}, "a": {value: "1", def: "a_j", base: -1},
	"mo_j": {value: "1", def: "a_j/12", base: -1}, "mo": {value: "1", def: "mo_j", base: -1},
	"a_g": {value: "365.2425", def: "d", base: -1}, "mo_g": {value: "1", def: "a_g/12", base: -1},
	"a_t": {value: "365.24219", def: "d", base: -1}, "mo_s": {value: "29.53059", def: "d", base: -1},
	"Hz": {metric: true, value: "1", def: "s-1", base: -1}, "Bq": {metric: true, value: "1", def: "s-1", base: -1},
	"Ci": {metric: true, value: "37000000000", def: "Bq", base: -1},
	// volume, area
	"L": {metric: true, value: "1", def: "dm3", base: -1}, "l": {metric: true, value: "1", def: "dm3", base: -1},
	"ar": {metric: true, value: "100", def: "m2", base: -1},
	// mechanics, electricity
	"N": {metric: true, value: "1", def: "kg.m/s2", base: -1}, "Pa": {metric: true, value: "1", def: "N/m2", base: -1},
	"J": {metric: true, value: "1", def: "N.m", base: -1}, "W": {metric: true, value: "1", def: "J/s", base: -1},
	"A": {metric: true, value: "1", def: "C/s", base: -1}, "V": {metric: true, value: "1", def: "J/C", base: -1},
	"F": {metric: true, value: "1", def: "C/V", base: -1}, "Ohm": {metric: true, value: "1", def: "V/A", base: -1},
	"S": {metric: true, value: "1", def: "Ohm-1", base: -1}, "Wb": {metric: true, value: "1", def: "V.s", base: -1},
	"T": {metric: true, value: "1", def: "Wb/m2", base: -1}, "H": {metric: true, value: "1", def: "Wb/A", base: -1},
	"lm": {metric: true, value: "1", def: "cd.sr", base: -1}, "lx": {metric: true, value: "1", def: "lm/m2", base: -1},
	"Gy": {metric: true, value: "1", def: "J/kg", base: -1}, "Sv": {metric: true, value: "1", def: "J/kg", base: -1},
	"bar": {metric: true, value: "100000", def: "Pa", base: -1}, "atm": {value: "101325", def: "Pa", base: -1},
	"cal": {metric: true, value: "4.184", def: "J", base: -1}, "[Cal]": {value: "1", def: "kcal", base: -1},
	"m[Hg]":  {metric: true, value: "133.322", def: "kPa", base: -1},
	"m[H2O]": {metric: true, value: "9.80665", def: "kPa", base: -1},
	"t":      {metric: true, value: "1000", def: "kg", base: -1}, "u": {metric: true, value: "0.0000000000000000000000016605402", def: "g", base: -1},
	"g%": {metric: true, value: "1", def: "g/dL", base: -1},
	// customary units
	"[in_i]": {value: "2.54", def: "cm", base: -1}, "[ft_i]": {value: "12", def: "[in_i]", base: -1},
	"[yd_i]": {value: "3", def: "[ft_i]", base: -1}, "[mi_i]": {value: "5280", def: "[ft_i]", base: -1},
	"[nmi_i]": {value: "1852", def: "m", base: -1}, "Ao": {value: "0.1", def: "nm", base: -1},
	"[lb_av]": {value: "453.59237", def: "g", base: -1}, "[oz_av]": {value: "0.0625", def: "[lb_av]", base: -1},
	"[gr]": {value: "64.79891", def: "mg", base: -1}, "[stone_av]": {value: "14", def: "[lb_av]", base: -1},
	"[gal_us]": {value: "231", def: "[in_i]3", base: -1}, "[qt_us]": {value: "0.25", def: "[gal_us]", base: -1},
	"[pt_us]": {value: "0.5", def: "[qt_us]", base: -1}, "[foz_us]": {value: "0.0625", def: "[pt_us]", base: -1},
	"[cup_us]": {value: "8", def: "[foz_us]", base: -1}, "[tbs_us]": {value: "0.5", def: "[foz_us]", base: -1},
	"[tsp_us]": {value: "1", def: "[tbs_us]/3", base: -1}, "[drp]": {value: "0.05", def: "mL", base: -1},
	"[gal_br]": {value: "4.54609", def: "L", base: -1}, "[pt_br]": {value: "0.125", def: "[gal_br]", base: -1},
	"[foz_br]": {value: "0.05", def: "[pt_br]", base: -1},
}

var ucumCache sync.Map // unit string → *canonical (nil when not convertible)

// ucumCanonical returns the canonical form of a UCUM unit expression, or nil
// when the unit is unknown or not convertible.
func ucumCanonical(unit string) *canonical {
	if v, ok := ucumCache.Load(unit); ok {
		return v.(*canonical)
	}
	p := ucumParser{s: unit}
	c, ok := p.term(0)
	if !ok || p.i != len(p.s) || c.factor.Sign() == 0 {
		c = nil
	}
	ucumCache.Store(unit, c)
	return c
}

type ucumParser struct {
	s string
	i int
}

func unitOne() *canonical { return &canonical{factor: big.NewRat(1, 1)} }

func (c *canonical) mul(d *canonical, sign int8) {
	if sign > 0 {
		c.factor.Mul(c.factor, d.factor)
	} else {
		c.factor.Quo(c.factor, d.factor)
	}
	for i := range c.dim {
		c.dim[i] += sign * d.dim[i]
	}
}

func (c *canonical) pow(n int) *canonical {
	r := unitOne()
	if n < 0 {
		for i := 0; i < -n; i++ {
			r.mul(c, -1)
		}
		return r
	}
	for i := 0; i < n; i++ {
		r.mul(c, 1)
	}
	return r
}

// term parses component (('.'|'/') component)*, with an optional leading '/'.
func (p *ucumParser) term(depth int) (*canonical, bool) {
	if depth > 8 {
		return nil, false
	}
	r := unitOne()
	sign := int8(1)
	if p.i < len(p.s) && p.s[p.i] == '/' {
		sign = -1
		p.i++
	}
	for {
		c, ok := p.component(depth)
		if !ok {
			return nil, false
		}
		r.mul(c, sign)
		if p.i >= len(p.s) || (p.s[p.i] != '.' && p.s[p.i] != '/') {
			return r, true
		}
		sign = 1
		if p.s[p.i] == '/' {
			sign = -1
		}
		p.i++
	}
}

func (p *ucumParser) component(depth int) (*canonical, bool) {
	if p.i >= len(p.s) {
		return nil, false
	}
	switch c := p.s[p.i]; {
	case c == '(':
		p.i++
		r, ok := p.term(depth + 1)
		if !ok || p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, false
		}
		p.i++
		return p.annotationAfter(r)
	case c == '{':
		if !p.skipAnnotation() {
			return nil, false
		}
		return unitOne(), true
	case c >= '0' && c <= '9':
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		digits := p.s[start:p.i]
		if p.i < len(p.s) && (p.s[p.i] == '*' || p.s[p.i] == '^') && digits == "10" {
			p.i++
			exp, ok := p.exponent()
			if !ok {
				return nil, false
			}
			r := &canonical{factor: new(big.Rat).SetInt(pow10(abs(exp)))}
			if exp < 0 {
				r.factor.Inv(r.factor)
			}
			return p.annotationAfter(r)
		}
		f, ok := new(big.Rat).SetString(digits)
		if !ok || f.Sign() == 0 {
			return nil, false // a zero factor is not a unit
		}
		return p.annotationAfter(&canonical{factor: f})
	}
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '[' {
			end := strings.IndexByte(p.s[p.i:], ']')
			if end < 0 {
				return nil, false
			}
			p.i += end + 1
			continue
		}
		if c == '.' || c == '/' || c == '(' || c == ')' || c == '{' || c == '+' || c == '-' || (c >= '0' && c <= '9') {
			break
		}
		p.i++
	}
	sym := p.s[start:p.i]
	u, ok := lookupUnit(sym, depth)
	if !ok {
		return nil, false
	}
	if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-' || (p.s[p.i] >= '0' && p.s[p.i] <= '9')) {
		exp, ok := p.exponent()
		if !ok {
			return nil, false
		}
		u = u.pow(exp)
	}
	return p.annotationAfter(u)
}

func (p *ucumParser) annotationAfter(c *canonical) (*canonical, bool) {
	if p.i < len(p.s) && p.s[p.i] == '{' && !p.skipAnnotation() {
		return nil, false
	}
	return c, true
}

func (p *ucumParser) skipAnnotation() bool {
	end := strings.IndexByte(p.s[p.i:], '}')
	if end < 0 {
		return false
	}
	p.i += end + 1
	return true
}

func (p *ucumParser) exponent() (int, bool) {
	neg := false
	if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
		neg = p.s[p.i] == '-'
		p.i++
	}
	start := p.i
	n := 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' && p.i-start < 3 {
		n = n*10 + int(p.s[p.i]-'0')
		p.i++
	}
	if p.i == start {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// lookupUnit resolves an atom symbol, possibly with a prefix.
func lookupUnit(sym string, depth int) (*canonical, bool) {
	if sym == "" {
		return nil, false
	}
	if a, ok := ucumAtoms[sym]; ok {
		return atomCanonical(a, depth)
	}
	for _, n := range []int{2, 1} {
		if len(sym) <= n {
			continue
		}
		exp, ok := ucumPrefixes[sym[:n]]
		if !ok {
			continue
		}
		a, ok := ucumAtoms[sym[n:]]
		if !ok || !a.metric {
			continue
		}
		c, ok := atomCanonical(a, depth)
		if !ok {
			return nil, false
		}
		f := new(big.Rat).SetInt(pow10(abs(exp)))
		if exp < 0 {
			f.Inv(f)
		}
		c.factor.Mul(c.factor, f)
		return c, true
	}
	return nil, false
}

func atomCanonical(a ucumAtom, depth int) (*canonical, bool) {
	if a.base >= 0 {
		c := unitOne()
		c.dim[a.base] = 1
		return c, true
	}
	c := unitOne()
	if a.def != "" && a.def != "1" {
		p := ucumParser{s: a.def}
		d, ok := p.term(depth + 1)
		if !ok || p.i != len(p.s) {
			return nil, false
		}
		c = d
	}
	if a.value != "" {
		v, ok := new(big.Rat).SetString(a.value)
		if !ok {
			return nil, false
		}
		c.factor.Mul(c.factor, v)
	}
	return c, true
}
