package match

import (
	"math"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Ranges follow the rules of query.go as the SQLite store writes them
// (search_range.go): a value is a range [lo, hi), a point when lo = hi,
// for which "hi <= x" reads "hi < x" (a point is [x, x+ε)). Dates compare
// as int64 milliseconds, numbers and quantities as float64; a NaN bound
// compares false with everything, as SQL's NULL does.

// bound is the type of the ends of a range.
type bound interface{ ~int64 | ~float64 }

// op is the kind of a range condition.
type op uint8

// The range conditions, on a value [lo, hi) with arguments x and y.
const (
	opEq       op = iota // x <= lo < y and hi at most y
	opLoBelow            // lo < x
	opLoFrom             // lo >= x
	opHiAbove            // hi reaches above x
	opHiAtMost           // hi ends at x or before
	opAp                 // lo < y and hi reaches above x
)

// cond is one condition on a range; a prefix is the union of one or two.
type cond[T bound] struct {
	op   op
	x, y T
}

// hiAbove reports whether [lo, hi) reaches above x: hi > x (hi >= x for a
// point).
func hiAbove[T bound](lo, hi, x T) bool { return hi >= x && (hi > x || lo == hi) }

// hiAtMost reports whether [lo, hi) ends at x or before: hi <= x (hi < x
// for a point); the negation of hiAbove but for NaN.
func hiAtMost[T bound](lo, hi, x T) bool { return hi <= x && (hi < x || lo < hi) }

// holds reports whether the range [lo, hi) satisfies c.
func (c cond[T]) holds(lo, hi T) bool {
	switch c.op {
	case opEq:
		return lo >= c.x && lo < c.y && hiAtMost(lo, hi, c.y)
	case opLoBelow:
		return lo < c.x
	case opLoFrom:
		return lo >= c.x
	case opHiAbove:
		return hiAbove(lo, hi, c.x)
	case opHiAtMost:
		return hiAtMost(lo, hi, c.x)
	case opAp:
		return lo < c.y && hiAbove(lo, hi, c.x)
	}
	return false
}

// holdsInstant reports whether the instant ms, the range [ms, ms+1),
// satisfies c: conditions on hi read on ms, as the SQLite store reads
// them on the resource's lastUpdated.
func (c cond[T]) holdsInstant(ms T) bool {
	switch c.op {
	case opEq:
		return ms >= c.x && ms < c.y
	case opLoBelow, opHiAtMost:
		return ms < c.x
	case opLoFrom, opHiAbove:
		return ms >= c.x
	case opAp:
		return ms < c.y && ms >= c.x
	}
	return false
}

// anyHolds reports whether [lo, hi) satisfies one of cs.
func anyHolds[T bound](cs []cond[T], lo, hi T) bool {
	for _, c := range cs {
		if c.holds(lo, hi) {
			return true
		}
	}
	return false
}

// bounds are the search range [slo, shi) and, for ap, the widened range
// [alo, ahi).
type bounds[T bound] struct {
	slo, shi, alo, ahi T
}

// rangeConds returns the conditions whose union is prefix p with bounds b.
func rangeConds[T bound](p search.Prefix, b bounds[T]) ([]cond[T], error) {
	switch p {
	case search.PrefixEq, "":
		return []cond[T]{{op: opEq, x: b.slo, y: b.shi}}, nil
	case search.PrefixNe:
		return []cond[T]{{op: opLoBelow, x: b.slo}, {op: opHiAbove, x: b.shi}}, nil
	case search.PrefixGt:
		return []cond[T]{{op: opHiAbove, x: b.shi}}, nil
	case search.PrefixLt:
		return []cond[T]{{op: opLoBelow, x: b.slo}}, nil
	case search.PrefixGe:
		return []cond[T]{{op: opLoFrom, x: b.slo}, {op: opHiAbove, x: b.shi}}, nil
	case search.PrefixLe:
		return []cond[T]{{op: opLoBelow, x: b.slo}, {op: opHiAtMost, x: b.shi}}, nil
	case search.PrefixSa:
		return []cond[T]{{op: opLoFrom, x: b.shi}}, nil
	case search.PrefixEb:
		return []cond[T]{{op: opHiAtMost, x: b.slo}}, nil
	case search.PrefixAp:
		return []cond[T]{{op: opAp, x: b.alo, y: b.ahi}}, nil
	}
	return nil, fhir.Errorf(fhir.KindInvalid, "the prefix %q is not a search prefix", p)
}

// dateBounds returns the bounds of a date search value: ap widens it by a
// tenth of the time between its start and now, a day at least.
func dateBounds(v *search.Value, now time.Time) bounds[int64] {
	gap := now.UnixMilli() - v.DateLo
	if gap < 0 {
		gap = -gap
	}
	w := max(gap/10, int64(24*time.Hour/time.Millisecond))
	return bounds[int64]{slo: v.DateLo, shi: v.DateHi, alo: satAdd(v.DateLo, -w), ahi: satAdd(v.DateHi, w)}
}

// satAdd adds without overflowing.
func satAdd(a, b int64) int64 {
	s := a + b
	if b > 0 && s < a {
		return math.MaxInt64
	}
	if b < 0 && s > a {
		return math.MinInt64
	}
	return s
}

// numberBounds returns the bounds of a number (or quantity) search range
// [lo, hi) around value x: ap widens it by a tenth of x.
func numberBounds(lo, hi, x float64) bounds[float64] {
	w := math.Abs(x) / 10
	return bounds[float64]{slo: lo, shi: hi, alo: lo - w, ahi: hi + w}
}

// unitKind is what a quantity search value says of the unit.
type unitKind uint8

// The kinds of unit of a quantity search value.
const (
	unitAny        unitKind = iota // no unit: any unit, or none
	unitSystemCode                 // system|code: that system and code
	unitCode                       // ||code or |code: that code in any system
)

// qcond is one condition on a quantity value.
type qcond struct {
	// canonical compares the value in the canonical unit, which must be
	// cc; otherwise the value as written is compared, in the unit when
	// unit says one, and only when the value has no canonical unit if
	// noCanonical.
	canonical    bool
	cc           string
	noCanonical  bool
	unit         unitKind
	system, code string
	c            cond[float64]
}

// holds reports whether quantity q satisfies c.
func (c *qcond) holds(q *search.Quantity) bool {
	if c.canonical {
		return q.CanonicalCode == c.cc && c.c.holds(q.CanonicalLo, q.CanonicalHi)
	}
	if c.noCanonical && q.CanonicalCode != "" {
		return false
	}
	switch c.unit {
	case unitSystemCode:
		if q.System != c.system || q.Code != c.code {
			return false
		}
	case unitCode:
		if q.Code != c.code {
			return false
		}
	}
	return c.c.holds(q.Lo, q.Hi)
}

// anyQuantity reports whether q satisfies one of cs.
func anyQuantity(cs []qcond, q *search.Quantity) bool {
	for i := range cs {
		if cs[i].holds(q) {
			return true
		}
	}
	return false
}

// quantityConds returns the conditions of quantity search value v:
// canonical values compared when both sides have them (the same canonical
// unit), otherwise the values as written, in the same unit when v has one
// (the same system and code, or the same code of any system when v has no
// system).
func quantityConds(v *search.Value) ([]qcond, error) {
	plain, err := rangeConds(v.Prefix, numberBounds(v.NumLo, v.NumHi, v.Num))
	if err != nil {
		return nil, err
	}
	var unit unitKind
	var system string
	switch {
	case v.System != nil && *v.System != "":
		unit, system = unitSystemCode, *v.System
	case v.Code != "":
		unit = unitCode
	}
	var out []qcond
	if v.CanonicalCode != "" {
		canon, err := rangeConds(v.Prefix, numberBounds(v.CanonicalLo, v.CanonicalHi, v.Canonical))
		if err != nil {
			return nil, err
		}
		for _, c := range canon {
			out = append(out, qcond{canonical: true, cc: v.CanonicalCode, c: c})
		}
	}
	for _, c := range plain {
		out = append(out, qcond{noCanonical: v.CanonicalCode != "", unit: unit, system: system, code: v.Code, c: c})
	}
	return out, nil
}
