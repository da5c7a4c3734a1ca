package parse

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/search"
)

var prefixes = map[string]search.Prefix{
	"eq": search.PrefixEq, "ne": search.PrefixNe, "gt": search.PrefixGt, "lt": search.PrefixLt,
	"ge": search.PrefixGe, "le": search.PrefixLe, "sa": search.PrefixSa, "eb": search.PrefixEb,
	"ap": search.PrefixAp,
}

// CutPrefix splits the comparison prefix off a number, date or quantity
// value; eq when there is none. Two letters that are not a prefix are an
// error.
func CutPrefix(s string) (search.Prefix, string, error) {
	if len(s) >= 2 && isLetter(s[0]) && isLetter(s[1]) {
		pfx, ok := prefixes[s[:2]]
		if !ok {
			return "", s, fmt.Errorf("%q does not start with a prefix eq, ne, gt, lt, ge, le, sa, eb or ap, nor with a number or date", s)
		}
		if len(s) == 2 {
			return "", s, fmt.Errorf("the prefix %s has no value after it", s)
		}
		return pfx, s[2:], nil
	}
	return search.PrefixEq, s, nil
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// decimalPattern is a FHIR decimal, leading zeros tolerated.
var decimalPattern = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// Bounds that keep decimals cheap to read: any float64 fits.
const (
	maxDecimalLen = 100
	maxExponent   = 400
	maxMagnitude  = 1e300 // leaves room for a store to widen ap
)

// decimal is a parsed decimal search value.
type decimal struct {
	value  float64
	lo, hi float64 // the implicit precision range, [lo, hi)
}

// parseDecimal reads a decimal and its implicit precision: half a unit of
// its last digit, once an exponent is expanded ("100" and "1e2" are
// [99.5, 100.5), "100.00" is [99.995, 100.005), "1.5e-3" is [0.00145,
// 0.00155)). The bounds are computed exactly and rounded once.
func parseDecimal(s string) (decimal, error) {
	// An exponent's unescaped "+" arrives as a space.
	if i := strings.IndexAny(s, "eE"); i >= 0 && i+1 < len(s) && s[i+1] == ' ' {
		s = s[:i+1] + "+" + s[i+2:]
	}
	if len(s) > maxDecimalLen || !decimalPattern.MatchString(s) {
		return decimal{}, fmt.Errorf("%q is not a number", s)
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e < -maxExponent || e > maxExponent {
			return decimal{}, fmt.Errorf("%q is out of range", s)
		}
		mant, exp = s[:i], e
	}
	places := 0
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		places = len(mant) - i - 1
	}
	places = max(places-exp, 0)
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return decimal{}, fmt.Errorf("%q is not a number", s)
	}
	v, _ := r.Float64()
	if math.Abs(v) > maxMagnitude {
		return decimal{}, fmt.Errorf("%q is out of range", s)
	}
	half := new(big.Rat).SetFrac(big.NewInt(5), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places+1)), nil))
	lo, _ := new(big.Rat).Sub(r, half).Float64()
	hi, _ := new(big.Rat).Add(r, half).Float64()
	if lo >= hi {
		// More digits than a float64 holds: the range rounds away.
		lo, hi = v, math.Nextafter(v, math.Inf(1))
	}
	return decimal{value: v, lo: lo, hi: hi}, nil
}

// searchRange is the range a prefix compares with: the implicit precision
// for eq, ne and ap (which the store widens), the value alone for the
// others (the R4 search page ignores the implicit precision with gt, lt,
// ge, le, sa and eb).
func searchRange(pfx search.Prefix, d decimal) (lo, hi float64) {
	switch pfx {
	case search.PrefixEq, search.PrefixNe, search.PrefixAp:
		return d.lo, d.hi
	}
	return d.value, math.Nextafter(d.value, math.Inf(1))
}

// number parses [prefix]number.
func (p *parser) number(def *search.Param, s string) (search.Value, error) {
	pfx, rest, err := CutPrefix(s)
	if err != nil {
		return search.Value{}, err
	}
	if err := checkPrefix(def, pfx); err != nil {
		return search.Value{}, err
	}
	d, err := parseDecimal(rest)
	if err != nil {
		return search.Value{}, err
	}
	v := search.Value{Prefix: pfx, Num: d.value}
	v.NumLo, v.NumHi = searchRange(pfx, d)
	return v, nil
}

// ucumSystem is the system of UCUM units.
const ucumSystem = "http://unitsofmeasure.org"

// quantity parses [prefix]number, [prefix]number|system|code or
// [prefix]number||code.
func (p *parser) quantity(def *search.Param, s string) (search.Value, error) {
	parts := split(s, '|')
	if len(parts) != 1 && len(parts) != 3 {
		return search.Value{}, fmt.Errorf("%q is not a quantity: write number, number|system|code or number||code", unescape(s))
	}
	pfx, rest, err := CutPrefix(parts[0])
	if err != nil {
		return search.Value{}, err
	}
	if err := checkPrefix(def, pfx); err != nil {
		return search.Value{}, err
	}
	if rest == "" {
		return search.Value{}, errors.New("the quantity has no number")
	}
	d, err := parseDecimal(rest)
	if err != nil {
		return search.Value{}, err
	}
	v := search.Value{Prefix: pfx, Num: d.value}
	v.NumLo, v.NumHi = searchRange(pfx, d)
	if len(parts) == 1 {
		return v, nil
	}
	system, code := unescape(parts[1]), unescape(parts[2])
	if system != "" && code == "" {
		return search.Value{}, fmt.Errorf("the quantity %q has a unit system but no unit code", unescape(s))
	}
	if system != "" {
		v.System = &system
	}
	v.Code = code
	if system == ucumSystem {
		if c, unit, ok := fhirpath.UCUMCanonical(d.value, code); ok {
			lo, _, _ := fhirpath.UCUMCanonical(v.NumLo, code)
			hi, _, _ := fhirpath.UCUMCanonical(v.NumHi, code)
			switch pfx {
			case search.PrefixEq, search.PrefixNe, search.PrefixAp:
				if lo >= hi {
					lo, hi = c, math.Nextafter(c, math.Inf(1))
				}
			default:
				lo, hi = c, math.Nextafter(c, math.Inf(1))
			}
			if finite(c) && finite(lo) && finite(hi) {
				v.CanonicalCode, v.Canonical, v.CanonicalLo, v.CanonicalHi = unit, c, lo, hi
			}
		}
	}
	return v, nil
}

func finite(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }
