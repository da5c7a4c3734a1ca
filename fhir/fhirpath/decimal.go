package fhirpath

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Decimal is an exact decimal number with a scale: the value is
// coef × 10^-scale. The scale records the precision written in the source
// (1.0 has scale 1, 1.00 scale 2), as FHIR requires for decimals.
type Decimal struct {
	coef  *big.Int
	scale int32
}

// maxDivScale is the number of fractional digits kept by a division that
// does not terminate.
const maxDivScale = 16

var (
	bigOne = big.NewInt(1)
	bigTen = big.NewInt(10)
)

// ParseDecimal parses a decimal in FHIR/FHIRPath syntax, optionally with an
// exponent as allowed in FHIR JSON ("1.5e3").
func ParseDecimal(s string) (Decimal, bool) {
	if s == "" {
		return Decimal{}, false
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil {
			return Decimal{}, false
		}
		mant, exp = s[:i], e
	}
	if mant == "" {
		return Decimal{}, false
	}
	neg := false
	switch mant[0] {
	case '-':
		neg, mant = true, mant[1:]
	case '+':
		mant = mant[1:]
	}
	intPart, frac, hasDot := strings.Cut(mant, ".")
	if intPart == "" || (hasDot && frac == "") || !allDigits(intPart) || !allDigits(frac) {
		return Decimal{}, false
	}
	digits := intPart + frac
	c := new(big.Int)
	if len(digits) <= 18 {
		n, _ := strconv.ParseInt(digits, 10, 64)
		c.SetInt64(n)
	} else if _, ok := c.SetString(digits, 10); !ok {
		return Decimal{}, false
	}
	if neg {
		c.Neg(c)
	}
	scale := int32(len(frac)) - int32(exp)
	if scale < 0 {
		c.Mul(c, pow10(int(-scale)))
		scale = 0
	}
	return Decimal{coef: c, scale: scale}, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// DecimalFromInt returns n as a decimal with scale 0.
func DecimalFromInt(n int64) Decimal { return Decimal{coef: big.NewInt(n)} }

func decimalFromFloat(f float64) (Decimal, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Decimal{}, false
	}
	// 15 significant digits hide binary floating-point noise.
	d, ok := ParseDecimal(strconv.FormatFloat(f, 'g', 15, 64))
	if !ok {
		return Decimal{}, false
	}
	return d.trimZeros(0), true
}

func pow10(n int) *big.Int {
	if n < len(pow10Table) {
		return pow10Table[n]
	}
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

var pow10Table = func() []*big.Int {
	t := make([]*big.Int, 40)
	t[0] = big.NewInt(1)
	for i := 1; i < len(t); i++ {
		t[i] = new(big.Int).Mul(t[i-1], bigTen)
	}
	return t
}()

func (d Decimal) c() *big.Int {
	if d.coef == nil {
		return new(big.Int)
	}
	return d.coef
}

// Scale returns the number of digits after the decimal point.
func (d Decimal) Scale() int { return int(d.scale) }

// String formats the decimal with exactly its scale digits after the point.
func (d Decimal) String() string {
	c := d.c()
	s := new(big.Int).Abs(c).String()
	if d.scale > 0 {
		if len(s) <= int(d.scale) {
			s = strings.Repeat("0", int(d.scale)-len(s)+1) + s
		}
		s = s[:len(s)-int(d.scale)] + "." + s[len(s)-int(d.scale):]
	}
	if c.Sign() < 0 {
		s = "-" + s
	}
	return s
}

// Float64 returns the nearest float64.
func (d Decimal) Float64() float64 {
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// Rat returns the exact value as a rational number.
func (d Decimal) Rat() *big.Rat {
	return new(big.Rat).SetFrac(d.c(), pow10(int(d.scale)))
}

// IsInteger reports whether the value has no fractional part.
func (d Decimal) IsInteger() bool {
	if d.scale == 0 {
		return true
	}
	var m big.Int
	return m.Mod(new(big.Int).Abs(d.c()), pow10(int(d.scale))).Sign() == 0
}

// Int64 returns the integer part (truncated towards zero) and whether it fits.
func (d Decimal) Int64() (int64, bool) {
	q := new(big.Int).Quo(d.c(), pow10(int(d.scale)))
	if !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}

// Sign returns -1, 0 or +1.
func (d Decimal) Sign() int { return d.c().Sign() }

// rescale returns d with the given larger-or-equal scale.
func (d Decimal) rescale(scale int32) Decimal {
	if scale <= d.scale {
		return d
	}
	return Decimal{coef: new(big.Int).Mul(d.c(), pow10(int(scale-d.scale))), scale: scale}
}

func align(a, b Decimal) (Decimal, Decimal) {
	if a.scale < b.scale {
		return a.rescale(b.scale), b
	}
	return a, b.rescale(a.scale)
}

// Cmp compares the values numerically (1.0 equals 1.00).
func (d Decimal) Cmp(e Decimal) int {
	a, b := align(d, e)
	return a.c().Cmp(b.c())
}

// Add returns d+e with the larger scale.
func (d Decimal) Add(e Decimal) Decimal {
	a, b := align(d, e)
	return Decimal{coef: new(big.Int).Add(a.c(), b.c()), scale: a.scale}
}

// Sub returns d-e with the larger scale.
func (d Decimal) Sub(e Decimal) Decimal {
	a, b := align(d, e)
	return Decimal{coef: new(big.Int).Sub(a.c(), b.c()), scale: a.scale}
}

// Mul returns d×e with the sum of the scales.
func (d Decimal) Mul(e Decimal) Decimal {
	return Decimal{coef: new(big.Int).Mul(d.c(), e.c()), scale: d.scale + e.scale}
}

// Neg returns -d.
func (d Decimal) Neg() Decimal { return Decimal{coef: new(big.Int).Neg(d.c()), scale: d.scale} }

// Abs returns |d|.
func (d Decimal) Abs() Decimal { return Decimal{coef: new(big.Int).Abs(d.c()), scale: d.scale} }

// Quo returns d/e, exact when the quotient terminates within maxDivScale
// fractional digits, rounded half away from zero otherwise. It reports false
// when e is zero.
func (d Decimal) Quo(e Decimal) (Decimal, bool) {
	if e.Sign() == 0 {
		return Decimal{}, false
	}
	// d/e = (dc/10^ds) / (ec/10^es) = dc*10^(es+S-ds) / ec × 10^-S
	const S = maxDivScale + 1
	num := new(big.Int).Mul(d.c(), pow10(int(e.scale)+S))
	den := new(big.Int).Mul(e.c(), pow10(int(d.scale)))
	q := new(big.Int).Quo(num, den)
	r := Decimal{coef: q, scale: S}.Round(maxDivScale)
	return r.trimZeros(max(d.scale, e.scale, 0)), true
}

// trimZeros removes trailing fractional zeros down to a minimum scale.
func (d Decimal) trimZeros(minScale int32) Decimal {
	c := d.c()
	if c.Sign() == 0 {
		return Decimal{coef: new(big.Int), scale: minScale}
	}
	scale := d.scale
	var q, m big.Int
	for scale > minScale {
		q.QuoRem(c, bigTen, &m)
		if m.Sign() != 0 {
			break
		}
		c = new(big.Int).Set(&q)
		scale--
	}
	return Decimal{coef: c, scale: scale}
}

// Round rounds half away from zero to n fractional digits (n ≥ 0).
func (d Decimal) Round(n int) Decimal {
	if int32(n) >= d.scale {
		return d.rescale(int32(n))
	}
	div := pow10(int(d.scale) - n)
	q, m := new(big.Int).QuoRem(d.c(), div, new(big.Int))
	m.Abs(m).Mul(m, big.NewInt(2))
	if m.Cmp(div) >= 0 {
		if d.Sign() < 0 {
			q.Sub(q, bigOne)
		} else {
			q.Add(q, bigOne)
		}
	}
	return Decimal{coef: q, scale: int32(n)}
}

// Truncate drops the fractional digits beyond n (towards zero).
func (d Decimal) Truncate(n int) Decimal {
	if int32(n) >= d.scale {
		return d.rescale(int32(n))
	}
	q := new(big.Int).Quo(d.c(), pow10(int(d.scale)-n))
	return Decimal{coef: q, scale: int32(n)}
}

// Floor rounds towards negative infinity to an integer.
func (d Decimal) Floor() Decimal {
	t := d.Truncate(0)
	if d.Sign() < 0 && t.Cmp(d) != 0 {
		t.coef.Sub(t.coef, bigOne)
	}
	return t
}

// Ceiling rounds towards positive infinity to an integer.
func (d Decimal) Ceiling() Decimal {
	t := d.Truncate(0)
	if d.Sign() > 0 && t.Cmp(d) != 0 {
		t.coef.Add(t.coef, bigOne)
	}
	return t
}

// DivInt returns the truncated integer quotient (FHIRPath div).
func (d Decimal) DivInt(e Decimal) (Decimal, bool) {
	if e.Sign() == 0 {
		return Decimal{}, false
	}
	a, b := align(d, e)
	return Decimal{coef: new(big.Int).Quo(a.c(), b.c())}, true
}

// Mod returns the remainder of the truncated division (FHIRPath mod).
func (d Decimal) Mod(e Decimal) (Decimal, bool) {
	if e.Sign() == 0 {
		return Decimal{}, false
	}
	a, b := align(d, e)
	return Decimal{coef: new(big.Int).Rem(a.c(), b.c()), scale: a.scale}, true
}

// digitsPrecision is the number of fractional digits, as returned by
// precision() for decimals.
func (d Decimal) digitsPrecision() int { return int(d.scale) }

// boundary implements lowBoundary (low=true) and highBoundary for decimals:
// the value is taken as the interval of width one unit in its last digit,
// and the bound is given with prec fractional digits.
func (d Decimal) boundary(low bool, prec int) Decimal {
	if d.Sign() < 0 {
		return d.Neg().boundary(!low, prec).Neg()
	}
	half := Decimal{coef: big.NewInt(5), scale: d.scale + 1}
	if d.Sign() == 0 {
		if low {
			return half.Neg().Truncate(prec)
		}
		return half.Round(prec)
	}
	if low {
		return d.Sub(half).Truncate(prec)
	}
	return d.Add(half).Round(prec)
}
