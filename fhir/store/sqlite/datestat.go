package sqlite

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Date windows. Two clauses on one date parameter, such as
// birthdate=ge1960&birthdate=lt1961, each match most resources, so that no
// index range of either is selective; together they bound the value.
// When every resource holds at most one value of the parameter (the
// store keeps that fact, and the longest value, per parameter in
// datestat), that one value must satisfy both clauses: its start lies in
// a window that one range of the date_lo index lists. The planner gets
// that window as one more clause, implied by the others, to lead with
// when it is the most selective. Resources with several values of the
// parameter could satisfy each clause with a different value, so a
// parameter that ever held several values of one resource gets no
// window; nor does :missing or a chain.
//
// The statistics only grow (a deletion leaves them), so they stay true
// bounds. Searches read the published ones, which the writer raises
// before it commits the rows that need them; it writes to datestat, in
// the same transaction, whatever exceeds what is committed.

// dateStat describes the values of one date parameter: the longest
// (hi - lo, in milliseconds), and whether a resource held several.
type dateStat struct {
	span  int64
	multi bool
}

func (d dateStat) covers(o dateStat) bool { return d.span >= o.span && (d.multi || !o.multi) }

func (d dateStat) merge(o dateStat) dateStat {
	return dateStat{span: max(d.span, o.span), multi: d.multi || o.multi}
}

// dateStats holds the statistics searches use.
type dateStats struct {
	mu sync.RWMutex
	m  map[int64]dateStat
}

func (d *dateStats) get(k int64) (dateStat, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	s, ok := d.m[k]
	return s, ok
}

// publish raises the statistics to include those of m.
func (d *dateStats) publish(m map[int64]dateStat) {
	if len(m) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, s := range m {
		d.m[k] = d.m[k].merge(s)
	}
}

// loadDateStats reads datestat into the published and the committed
// statistics.
func (s *Store) loadDateStats(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, `SELECT k, span, multi FROM datestat`)
	if err != nil {
		return err
	}
	defer rows.Close()
	s.dates = &dateStats{m: map[int64]dateStat{}}
	s.datesCommitted = map[int64]dateStat{}
	for rows.Next() {
		var k int64
		var span float64
		var multi bool
		if err := rows.Scan(&k, &span, &multi); err != nil {
			return err
		}
		st := dateStat{span: spanOf(span), multi: multi}
		s.dates.m[k], s.datesCommitted[k] = st, st
	}
	return rows.Err()
}

// spanOf converts a span computed by SQLite (as REAL, which cannot
// overflow) to milliseconds; beyond 2^52 (an open-ended value) it is
// unbounded.
func spanOf(f float64) int64 {
	if f > 1<<52 || math.IsNaN(f) {
		return math.MaxInt64
	}
	return int64(math.Ceil(f))
}

// noteDates records that a resource holds n values of the date parameter
// k, the longest span long. What the committed statistics and those of
// the batch and of t so far do not cover is written to datestat.
func (t *tx) noteDates(ctx context.Context, k int64, n int, span int64) error {
	st := dateStat{span: span, multi: n > 1}
	known, seen := t.s.datesCommitted[k]
	for _, m := range []map[int64]dateStat{t.b.dates, t.dates} {
		if o, ok := m[k]; ok {
			known, seen = known.merge(o), true
		}
	}
	if seen && known.covers(st) {
		return nil
	}
	if t.dates == nil {
		t.dates = map[int64]dateStat{}
	}
	t.dates[k] = t.dates[k].merge(st)
	_, err := t.stmt(ctx, t.s.st.noteDates).ExecContext(ctx, k, float64(st.span), st.multi)
	return err
}

// windowCosts: a window tests nothing, and lists its matches from one
// index range.
var windowCosts = &costs{cond: 0, drive: 1}

// coveringWindowCosts: a window that tests its clauses in one lookup.
var coveringWindowCosts = &costs{cond: 1, drive: 1}

// dateSpan returns hi - lo without overflowing.
func dateSpan(lo, hi int64) int64 {
	if d := satAdd(hi, -lo); d >= 0 {
		return d
	}
	return math.MaxInt64
}

// window is a necessary condition on the start (lo) of the value that
// satisfies a date clause: from <= lo < to.
type window struct{ from, to int64 }

var anyWindow = window{math.MinInt64, math.MaxInt64}

func (w window) hull(o window) window { return window{min(w.from, o.from), max(w.to, o.to)} }
func (w window) meet(o window) window { return window{max(w.from, o.from), min(w.to, o.to)} }

// clauseWindow returns the window of the start of a value, at most span
// long, that satisfies clause cl (one of its values): the conditions of
// rangeParts, weakened to conditions on lo.
func clauseWindow(cl *search.Clause, span int64, now time.Time) window {
	w := window{math.MaxInt64, math.MinInt64} // empty: hull of no value
	for _, v := range cl.Values {
		b := dateBounds(v, now)
		slo, shi, alo, ahi := b.slo.(int64), b.shi.(int64), b.alo.(int64), b.ahi.(int64)
		var vw window
		switch v.Prefix {
		case search.PrefixEq, "":
			vw = window{slo, shi}
		case search.PrefixGt: // hi > shi
			vw = window{satAdd(shi, -span), math.MaxInt64}
		case search.PrefixGe: // lo >= slo, or hi > shi
			vw = window{satAdd(slo, -span), math.MaxInt64}
		case search.PrefixSa: // lo >= shi
			vw = window{shi, math.MaxInt64}
		case search.PrefixAp: // lo < ahi and hi > alo
			vw = window{satAdd(alo, -span), ahi}
		case search.PrefixLt, search.PrefixEb: // lo < slo
			vw = window{math.MinInt64, slo}
		case search.PrefixLe: // lo < slo, or hi <= shi
			vw = window{math.MinInt64, shi}
		default: // ne: no bound
			return anyWindow
		}
		w = w.hull(vw)
	}
	return w
}

// fuseDates adds to r a window clause for each date parameter that two
// or more of the query's clauses bound, when its values allow one.
func (c *searcher) fuseDates(r *typeRun, clauses []search.Clause) {
	type group struct {
		clauses []*search.Clause
		at      []int // their indexes in the query
	}
	byParam := map[string]*group{}
	var params []string
	for i := range clauses {
		cl := &clauses[i]
		if cl.Type != search.TypeDate || cl.Modifier != search.ModNone || cl.Chain != nil || cl.Has != nil ||
			cl.Missing != nil || len(cl.Values) == 0 {
			continue
		}
		g := byParam[cl.Param]
		if g == nil {
			g = &group{}
			byParam[cl.Param] = g
			params = append(params, cl.Param)
		}
		g.clauses, g.at = append(g.clauses, cl), append(g.at, i)
	}
	for _, p := range params {
		cls := byParam[p].clauses
		if len(cls) < 2 {
			continue
		}
		special := p == paramLastUpdated
		k := paramKey(r.t, p)
		var span int64 // a lastUpdated is an instant, one per resource
		if !special {
			st, ok := c.dates(k)
			if !ok || st.multi {
				continue
			}
			span = st.span
		}
		w := anyWindow
		for _, cl := range cls {
			w = w.meet(clauseWindow(cl, span, c.now))
		}
		if w == anyWindow {
			continue
		}
		m := c.windowMatcher(r.t, k, special, w)
		m.implies = byParam[p].at
		c.cover(r, m, k)
		r.ms = append(r.ms, m)
		r.est, r.capped = append(r.est, -1), append(r.capped, false)
	}
}

// cover makes window m of date parameter k test the clauses it implies,
// when each can test a date row: the parameter holds at most one value
// per resource (a window exists only then), so the clauses hold of the
// resource when they hold of its one row, one lookup for them all.
func (c *searcher) cover(r *typeRun, m *matcher, k int64) {
	var ons []func(q *sq, a string)
	for _, i := range m.implies {
		if r.ms[i].on == nil {
			return
		}
		ons = append(ons, r.ms[i].on)
	}
	a := c.alias()
	m.covers, m.cost = true, coveringWindowCosts
	m.cond = func(q *sq, rid string) {
		exists(q, "date", a, rid, []int64{k}, func(q *sq) {
			for i, on := range ons {
				if i > 0 {
					q.w(" AND ")
				}
				q.w("(")
				on(q, a)
				q.w(")")
			}
		})
	}
}

// windowMatcher lists the resources of type t whose value of parameter k
// starts in w. It tests nothing: the clauses it comes from do.
func (c *searcher) windowMatcher(t fhir.ResourceType, k int64, special bool, w window) *matcher {
	a := c.alias()
	bound := func(q *sq, col string) {
		if w.from != math.MinInt64 {
			q.w(" AND "+col+" >= ?", w.from)
		}
		if w.to != math.MaxInt64 {
			q.w(" AND "+col+" < ?", w.to)
		}
	}
	sel := func(q *sq) {
		q.w("SELECT "+a+".rid AS rid FROM date "+a+" WHERE "+a+".k = ?", k)
		bound(q, a+".lo")
	}
	if special {
		sel = func(q *sq) {
			q.w("SELECT "+a+".rid AS rid FROM resource "+a+" WHERE "+a+".type = ? AND "+a+".deleted = 0", string(t))
			bound(q, a+".updated")
		}
	}
	return &matcher{rank: rankRange, selects: []func(q *sq){sel}, cost: windowCosts,
		cond: func(q *sq, rid string) { q.w("1") }}
}
