package sqlite

import (
	"math"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// rangeCols names the columns of an indexed range [lo, hi): a date, a
// number, a quantity. A value with lo = hi is a point, and the rules of
// query.go read "hi <= x" as "hi < x" for it (a point is [x, x+ε)).
type rangeCols struct {
	lo, hi string
	// ms: hi is lo + 1 (a lastUpdated instant, to the millisecond), so
	// conditions on hi are written on lo, for its index.
	ms bool
}

// hiAbove writes "the value reaches above x": hi > x (hi >= x for a
// point).
func (c rangeCols) hiAbove(q *sq, x any) {
	if c.ms {
		q.w(c.lo+" >= ?", x)
		return
	}
	q.w("("+c.hi+" >= ? AND ("+c.hi+" > ? OR "+c.lo+" = "+c.hi+"))", x, x)
}

// hiAtMost writes "the value ends at x or before": hi <= x (hi < x for a
// point); the negation of hiAbove.
func (c rangeCols) hiAtMost(q *sq, x any) {
	if c.ms {
		q.w(c.lo+" < ?", x)
		return
	}
	q.w("("+c.hi+" <= ? AND ("+c.hi+" < ? OR "+c.lo+" < "+c.hi+"))", x, x)
}

// bounds are the search range [slo, shi) and, for ap, the widened range
// [alo, ahi), as int64 (dates) or float64 (numbers).
type bounds struct {
	slo, shi, alo, ahi any
}

// rangeParts returns conditions whose union is prefix p on c: each a
// conjunction that one index range serves.
func rangeParts(c rangeCols, p search.Prefix, b bounds) ([]func(q *sq), error) {
	lo := func(op string, x any) func(q *sq) { return func(q *sq) { q.w(c.lo+" "+op+" ?", x) } }
	above := func(x any) func(q *sq) { return func(q *sq) { c.hiAbove(q, x) } }
	atMost := func(x any) func(q *sq) { return func(q *sq) { c.hiAtMost(q, x) } }
	switch p {
	case search.PrefixEq, "":
		return []func(q *sq){func(q *sq) {
			q.w("("+c.lo+" >= ? AND "+c.lo+" < ? AND ", b.slo, b.shi)
			c.hiAtMost(q, b.shi)
			q.w(")")
		}}, nil
	case search.PrefixNe:
		return []func(q *sq){lo("<", b.slo), above(b.shi)}, nil
	case search.PrefixGt:
		return []func(q *sq){above(b.shi)}, nil
	case search.PrefixLt:
		return []func(q *sq){lo("<", b.slo)}, nil
	case search.PrefixGe:
		return []func(q *sq){lo(">=", b.slo), above(b.shi)}, nil
	case search.PrefixLe:
		return []func(q *sq){lo("<", b.slo), atMost(b.shi)}, nil
	case search.PrefixSa:
		return []func(q *sq){lo(">=", b.shi)}, nil
	case search.PrefixEb:
		return []func(q *sq){atMost(b.slo)}, nil
	case search.PrefixAp:
		return []func(q *sq){func(q *sq) {
			q.w("("+c.lo+" < ? AND ", b.ahi)
			c.hiAbove(q, b.alo)
			q.w(")")
		}}, nil
	}
	return nil, fhir.Errorf(fhir.KindInvalid, "the prefix %q is not a search prefix", p)
}

// dateBounds returns the bounds of a date search value.
func dateBounds(v search.Value, now time.Time) bounds {
	gap := now.UnixMilli() - v.DateLo
	if gap < 0 {
		gap = -gap
	}
	w := max(gap/10, int64(24*time.Hour/time.Millisecond))
	return bounds{slo: v.DateLo, shi: v.DateHi, alo: satAdd(v.DateLo, -w), ahi: satAdd(v.DateHi, w)}
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
// [lo, hi) around value x: ap widens it by 10% of x.
func numberBounds(lo, hi, x float64) bounds {
	w := math.Abs(x) / 10
	return bounds{slo: lo, shi: hi, alo: lo - w, ahi: hi + w}
}
