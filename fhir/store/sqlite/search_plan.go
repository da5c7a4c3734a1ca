package sqlite

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync/atomic"
)

// Planning. Each clause is a matcher that can test one resource (cond)
// and, when an index serves it, list its matches (drive), some of them in
// rid order (walk). For each resource type the planner estimates how many
// resources each clause matches by counting its index entries up to
// estimateBound (a bounded count costs at most that many index steps), in
// an order that puts the usually selective kinds first and stops once a
// clause is known to match few, and then takes the cheapest of:
//
//   - scan: walk the type's live resources in rid order, testing every
//     clause, until the page is full;
//   - walk: walk the matches of one clause whose index lists them in rid
//     order, testing the others, until the page is full;
//   - drive: list the matches of the most selective clause, test the
//     others, sort and keep the page;
//   - with _sort, walk the index of the first sort key in key order when
//     it has one (sortwalk), else drive (or, without any indexed clause,
//     sort all the type's resources).
//
// A scan or walk costs about the page size divided by the selectivity of
// the clauses it tests, a drive about the size of its clause's matches.

// The bounds of the estimates.
const (
	// estimateBound caps a bounded count.
	estimateBound = 2000
	// estimateEnough stops estimating: a clause that matches this few
	// leads the search whatever the others match.
	estimateEnough = 100
)

// plan is a way to run the part of a search on one type.
type plan int

const (
	planScan plan = iota
	planWalk
	planDrive
	planSortWalk
	planSortDrive
	planGroup
)

// estimate estimates the matches of r's clauses.
func (c *searcher) estimate(r *typeRun) error {
	if r.estimated {
		return nil
	}
	r.estimated = true
	order := make([]int, len(r.ms))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return r.ms[a].rank - r.ms[b].rank })
	// A derived clause stands for those it implies: they are not counted.
	implied := r.implied(func(int, *matcher) bool { return true })
	for _, i := range order {
		m := r.ms[i]
		if implied[i] {
			continue
		}
		if m.count != nil {
			n, err := m.count()
			if err != nil {
				return err
			}
			r.est[i] = n
			continue
		}
		if !m.drivable() {
			continue
		}
		// A clause need not be counted beyond the best so far: it could
		// not lead. When the best can be walked in rid order, the walk
		// stops at the end of the page and the others only filter it: a
		// clause then matters only if it is much more selective.
		bound := int64(estimateBound)
		if b := r.best(); b >= 0 {
			if r.est[b] <= estimateEnough {
				break
			}
			bound = min(bound, r.est[b])
			if r.ms[b].walk != nil && len(r.keys) == 0 {
				bound = max(estimateEnough, r.est[b]/4)
			}
		}
		n, err := c.bounded(m, bound)
		if err != nil {
			return err
		}
		r.est[i], r.capped[i] = n, n >= bound
	}
	return nil
}

// bounded counts the matches of m up to bound: the sum of its selects'
// counts (an upper bound that never materialises a union), or its own
// estimate.
func (c *searcher) bounded(m *matcher, bound int64) (int64, error) {
	if m.estimate != nil {
		if n, ok, err := m.estimate(bound); err != nil || ok {
			return min(n, bound), err
		}
	}
	var n int64
	for _, sel := range m.selects {
		q := (&sq{}).w("SELECT count(*) FROM (")
		sel(q)
		q.w(" LIMIT ?)", bound-n)
		var part int64
		if err := c.queryRow(q).Scan(&part); err != nil {
			return 0, err
		}
		if n += part; n >= bound {
			break
		}
	}
	return n, nil
}

// best returns the index of the estimated clause with an index that
// matches fewest, or -1. A capped estimate is a lower bound (counted up
// to a bound that the best so far set): a clause counted exactly is
// preferred to it.
func (r *typeRun) best() int {
	best := -1
	for i, m := range r.ms {
		if !m.drivable() || r.est[i] < 0 {
			continue
		}
		switch {
		case best < 0:
			best = i
		case r.capped[best] != r.capped[i]:
			if r.capped[best] {
				best = i
			}
		case r.est[i] < r.est[best]:
			best = i
		}
	}
	return best
}

// empty reports whether a clause is known to match nothing.
func (r *typeRun) empty() bool {
	for i := range r.ms {
		if r.est[i] == 0 && !r.capped[i] {
			return true
		}
	}
	return false
}

// selectivity returns the fraction of r's resources that its clauses but
// skip are estimated to match, taken as independent, except that a derived
// clause with an estimate stands for those it is derived from.
func (r *typeRun) selectivity(skip int) float64 {
	implied := r.implied(func(i int, _ *matcher) bool { return r.est[i] >= 0 })
	sel := 1.0
	for i := range r.ms {
		if i != skip && !implied[i] && r.est[i] >= 0 && r.n > 0 {
			sel *= float64(r.est[i]) / float64(r.n)
		}
	}
	return sel
}

// scanRows estimates the rows a walk testing every clause but skip reads
// to fill a page of limit rows: limit over the clauses' selectivity, at
// most every resource.
func (r *typeRun) scanRows(limit int, skip int) float64 {
	sel := r.selectivity(skip)
	if sel <= 0 {
		return float64(r.n)
	}
	return math.Min(float64(limit)/sel, float64(r.n))
}

// filterCost is the cost of testing a resource against every clause but
// skip.
func (r *typeRun) filterCost(skip int) float64 {
	c := 0.0
	for _, i := range r.tested(skip) {
		c += r.ms[i].costs().cond
	}
	return c
}

// driveCost is the cost of listing the matches of clause i and testing
// them against the others: infinite when it is not estimated.
func (r *typeRun) driveCost(i int) float64 {
	if i < 0 || r.est[i] < 0 {
		return math.Inf(1)
	}
	return float64(r.est[i]) * (r.ms[i].costs().drive + r.filterCost(i))
}

// choose picks the plan of a page of limit rows, and the clause that
// leads it (-1 for none). counting: the search will count r's matches
// too, through the best clause's drive, which a drive plan does with the
// page.
func (r *typeRun) choose(limit int, counting bool) (plan, int) {
	best := r.best()
	if p, lead, ok := r.forced(best); ok {
		return p, lead
	}
	drive := r.driveCost(best)
	countCost := 0.0
	if counting && best >= 0 && !r.capped[best] {
		countCost = drive
	}
	scan := r.scanRows(limit, -1)*(1+r.filterCost(-1)) + countCost
	if len(r.keys) > 0 {
		if r.keys[0].walk != nil && (best < 0 || r.capped[best] || scan < drive) {
			return planSortWalk, -1
		}
		return planSortDrive, best
	}
	p, lead, cost := planScan, -1, scan
	for i, m := range r.ms {
		if m.walk == nil || r.est[i] < 0 {
			continue
		}
		rows := r.scanRows(limit, i)
		if !r.capped[i] {
			rows = math.Min(rows, float64(r.est[i]))
		}
		if wc := rows*(1+r.filterCost(i)) + countCost; wc <= cost {
			p, lead, cost = planWalk, i, wc
		}
	}
	if best >= 0 && !r.capped[best] && drive < cost {
		return planDrive, best
	}
	return p, lead
}

// implied returns the clauses implied by the derived clauses that
// satisfy which (nil when there are none).
func (r *typeRun) implied(which func(i int, m *matcher) bool) map[int]bool {
	var out map[int]bool
	for i, m := range r.ms {
		if len(m.implies) == 0 || !which(i, m) {
			continue
		}
		if out == nil {
			out = map[int]bool{}
		}
		for _, j := range m.implies {
			out[j] = true
		}
	}
	return out
}

// tested returns the clauses that test a resource against every clause
// but skip: each of them but skip, except that a clause that covers
// others is tested in their place, even when it is skip.
func (r *typeRun) tested(skip int) []int {
	covered := r.implied(func(_ int, m *matcher) bool { return m.covers })
	var out []int
	for i, m := range r.ms {
		if !covered[i] && (i != skip || m.covers) {
			out = append(out, i)
		}
	}
	return out
}

// conds writes " AND cond" for the clauses that test a resource against
// every clause but skip (see tested).
func (r *typeRun) conds(q *sq, rid string, skip int) {
	for _, i := range r.tested(skip) {
		q.w(" AND ")
		r.ms[i].cond(q, rid)
	}
}

// page returns up to limit rows of type r after the cursor, in order (or
// before it, in reverse order, when the cursor asks for the page before).
func (c *searcher) page(r *typeRun, after *cursor, limit int) ([]pageRow, error) {
	if after != nil && after.grouped {
		if !c.single || after.lead >= len(r.ms) || r.ms[after.lead].group == nil {
			return nil, badCursor()
		}
		return c.groupPage(r, after.lead, after, limit)
	}
	if err := c.estimate(r); err != nil {
		return nil, err
	}
	if r.empty() {
		return nil, nil
	}
	counting := c.counting(r)
	p, lead := r.choose(limit, counting)
	switch {
	case p == planDrive && r.ms[lead].group != nil && c.single && after == nil && !(counting && !r.capped[lead]) &&
		forcedPlan.Load() == forceNone:
		// Without a count to take along, the first page of a drive
		// through a chain or reverse chain reads only the groups it
		// needs. (A cursor in rid order keeps its order.)
		p = planGroup
	case p == planGroup && (!c.single || after != nil):
		p = planGroup
	}
	back := after != nil && after.before
	order := " ORDER BY %s"
	if back {
		order += " DESC"
	}
	q := &sq{}
	switch p {
	case planScan:
		q.w("SELECT r.rid FROM resource r WHERE r.type = ? AND r.deleted = 0", string(r.t))
		if after != nil {
			ridAfter(q, nil, "r.rid", after)
		}
		r.conds(q, "r.rid", -1)
		q.w(fmt.Sprintf(order, "r.rid")+" LIMIT ?", limit)
	case planWalk:
		q.w("SELECT DISTINCT w.rid FROM ")
		r.ms[lead].walk(q, "w")
		if after != nil {
			ridAfter(q, nil, "w.rid", after)
		}
		r.conds(q, "w.rid", lead)
		q.w(fmt.Sprintf(order, "w.rid")+" LIMIT ?", limit)
	case planDrive:
		// When a total is wanted and the matches are few, they are all
		// read: the total comes with the page.
		all := counting && !r.capped[lead]
		q.w("SELECT DISTINCT d.rid FROM (")
		r.ms[lead].drive(q)
		q.w(") d WHERE 1")
		if after != nil && !all {
			ridAfter(q, nil, "d.rid", after)
		}
		r.conds(q, "d.rid", lead)
		if all {
			q.w(" ORDER BY d.rid")
			return c.allRows(r, q, after, limit)
		}
		q.w(fmt.Sprintf(order, "d.rid")+" LIMIT ?", limit)
	case planSortDrive:
		if counting && lead >= 0 && !r.capped[lead] {
			return c.allRows(r, c.sortDrive(r, lead, nil, 0), after, limit)
		}
		return c.rows(c.sortDrive(r, lead, after, limit), len(r.keys))
	case planSortWalk:
		if back {
			return c.sortWalkBack(r, after, limit)
		}
		return c.sortWalk(r, after, limit)
	case planGroup:
		return c.groupPage(r, lead, after, limit)
	}
	return c.rows(q, 0)
}

// rows runs q, whose columns are rid and nkeys sort keys.
func (c *searcher) rows(q *sq, nkeys int) ([]pageRow, error) {
	res, err := c.query(q)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	var out []pageRow
	for res.Next() {
		row := pageRow{keys: make([]any, nkeys)}
		dst := make([]any, nkeys+1)
		dst[0] = &row.rid
		for i := range row.keys {
			dst[i+1] = &row.keys[i]
		}
		if err := res.Scan(dst...); err != nil {
			return nil, err
		}
		for i, k := range row.keys {
			if b, ok := k.([]byte); ok {
				row.keys[i] = string(b)
			}
		}
		out = append(out, row)
	}
	return out, res.Err()
}

// allRows runs q, which lists every match of r in order, records their
// number as r's total, and returns the page of limit rows after the
// cursor (before it, in reverse order).
func (c *searcher) allRows(r *typeRun, q *sq, at *cursor, limit int) ([]pageRow, error) {
	rows, err := c.rows(q, len(r.keys))
	if err != nil {
		return nil, err
	}
	r.total = int64(len(rows))
	if at == nil {
		return rows[:min(limit, len(rows))], nil
	}
	row := pageRow{rid: at.rid, keys: at.keys}
	i, found := slices.BinarySearchFunc(rows, row, func(a, b pageRow) int { return compareRows(a, b, r.keys) })
	if at.before {
		rows = slices.Clone(rows[max(0, i-limit):i])
		slices.Reverse(rows)
		return rows, nil
	}
	if found {
		i++
	}
	rows = rows[i:]
	return rows[:min(limit, len(rows))], nil
}

// sortDrive returns the query that lists the matches of clause lead (of
// every resource of the type when lead is -1), tests the others, and
// sorts: limit rows after the cursor, or all when limit is 0.
func (c *searcher) sortDrive(r *typeRun, lead int, after *cursor, limit int) *sq {
	q := &sq{}
	q.w("SELECT * FROM (SELECT d.rid AS rid")
	for i, k := range r.keys {
		q.w(", ")
		k.expr(q, "d.rid")
		q.w(" AS s" + strconv.Itoa(i))
	}
	q.w(" FROM (")
	if lead >= 0 {
		q.w("SELECT DISTINCT rid FROM (")
		r.ms[lead].drive(q)
		q.w(")")
	} else {
		q.w("SELECT rid FROM resource WHERE type = ? AND deleted = 0", string(r.t))
	}
	q.w(") d WHERE 1")
	r.conds(q, "d.rid", lead)
	q.w(") WHERE ")
	exprs := make([]func(q *sq), len(r.keys))
	names := make([]string, len(r.keys))
	for i := range r.keys {
		names[i] = "s" + strconv.Itoa(i)
		exprs[i] = func(q *sq) { q.w(names[i]) }
	}
	keyset(q, r.keys, exprs, "rid", after)
	orderBy(q, r.keys, names, "rid", 0, false, after != nil && after.before)
	if limit > 0 {
		q.w(" LIMIT ?", limit)
	}
	return q
}

// sortWalk walks the index of the first sort key: the resources that
// have the key, in key order, then those that lack it.
func (c *searcher) sortWalk(r *typeRun, after *cursor, limit int) ([]pageRow, error) {
	var out []pageRow
	if after == nil || after.keys[0] != nil {
		rows, err := c.keyedRows(r, after, limit)
		if err != nil {
			return nil, err
		}
		out = rows
	}
	if len(out) >= limit {
		return out, nil
	}
	rows, err := c.missingRows(r, after, limit-len(out))
	return append(out, rows...), err
}

// sortWalkBack is sortWalk backwards, before a cursor: the resources that
// lack the first key (when the cursor is among them), then those that have
// it, each in reverse order.
func (c *searcher) sortWalkBack(r *typeRun, before *cursor, limit int) ([]pageRow, error) {
	var out []pageRow
	if before.keys[0] == nil {
		rows, err := c.missingRows(r, before, limit)
		if err != nil {
			return nil, err
		}
		out = rows
	}
	if len(out) >= limit {
		return out, nil
	}
	rows, err := c.keyedRows(r, before, limit-len(out))
	return append(out, rows...), err
}

// keyedRows returns up to limit of the resources that have the first sort
// key, from its index, after (or before) the cursor at.
func (c *searcher) keyedRows(r *typeRun, at *cursor, limit int) ([]pageRow, error) {
	walk := r.keys[0].walk
	back := at != nil && at.before
	q := &sq{}
	col := "w." + walk.col
	q.w("SELECT w.rid, " + col)
	exprs, names := c.keyExprs(r, "w.rid", col)
	for i, k := range r.keys[1:] {
		q.w(", ")
		k.expr(q, "w.rid")
		q.w(" AS " + names[i+1])
	}
	q.w(" FROM ")
	walk.from(q, "w")
	if at != nil {
		if at.keys[0] != nil {
			// The index range first; keyset then settles ties.
			op := " >= ?"
			if r.keys[0].desc != back {
				op = " <= ?"
			}
			q.w(" AND "+col+op, at.keys[0])
		}
		q.w(" AND ")
		keyset(q, r.keys, exprs, "w.rid", at)
	}
	r.conds(q, "w.rid", -1)
	orderBy(q, r.keys, names, "w.rid", 0, true, back)
	q.w(" LIMIT ?", limit)
	return c.rows(q, len(r.keys))
}

// missingRows returns up to limit of the resources that lack the first
// sort key, after (or before) the cursor at.
func (c *searcher) missingRows(r *typeRun, at *cursor, limit int) ([]pageRow, error) {
	walk := r.keys[0].walk
	if walk.k == 0 {
		return nil, nil // every resource has the key
	}
	if n, err := c.paramCount(walk.k); err != nil || n >= r.n {
		return nil, err
	}
	q := &sq{}
	q.w("SELECT r.rid, NULL")
	exprs, names := c.keyExprs(r, "r.rid", "NULL")
	for i, k := range r.keys[1:] {
		q.w(", ")
		k.expr(q, "r.rid")
		q.w(" AS " + names[i+1])
	}
	q.w(" FROM resource r WHERE r.type = ? AND r.deleted = 0 AND ", string(r.t))
	walk.missing(q, "r.rid")
	if at != nil {
		q.w(" AND ")
		keyset(q, r.keys, exprs, "r.rid", at)
	}
	r.conds(q, "r.rid", -1)
	orderBy(q, r.keys, names, "r.rid", 1, false, at != nil && at.before)
	q.w(" LIMIT ?", limit)
	return c.rows(q, len(r.keys))
}

// keyExprs returns the expressions of r's sort keys for the row rid, the
// first being first (an index column, or NULL), and the names the page's
// SELECT gives them (first for the first).
func (c *searcher) keyExprs(r *typeRun, rid, first string) ([]func(q *sq), []string) {
	exprs := make([]func(q *sq), len(r.keys))
	names := make([]string, len(r.keys))
	for i, k := range r.keys {
		if i == 0 {
			exprs[i], names[i] = func(q *sq) { q.w(first) }, first
			continue
		}
		exprs[i], names[i] = func(q *sq) { k.expr(q, rid) }, "s"+strconv.Itoa(i)
	}
	return exprs, names
}

// forcedPlan, when not forceNone, makes the planner choose one kind of plan
// wherever it applies: a test hook that runs every clause through each of
// its paths (cond, drive, walk).
var forcedPlan atomic.Int32

// The plans a test can force.
const (
	forceNone = iota
	forceScan
	forceDrive
	forceWalk
	forceGroup
)

// forced returns the forced plan, if any.
func (r *typeRun) forced(best int) (plan, int, bool) {
	return r.forcedAs(forcedPlan.Load(), best)
}

// forcedAs returns plan f where it applies.
func (r *typeRun) forcedAs(f int32, best int) (plan, int, bool) {
	sorted := len(r.keys) > 0
	switch f {
	case forceScan:
		if sorted {
			return planSortDrive, -1, true
		}
		return planScan, -1, true
	case forceDrive:
		switch {
		case sorted:
			return planSortDrive, best, true
		case best >= 0:
			return planDrive, best, true
		}
		return planScan, -1, true
	case forceGroup:
		for i, m := range r.ms {
			if m.group != nil && !sorted {
				return planGroup, i, true
			}
		}
		return r.forcedAs(forceDrive, best)
	case forceWalk:
		switch {
		case sorted && r.keys[0].walk != nil:
			return planSortWalk, -1, true
		case sorted:
			return planSortDrive, best, true
		}
		for i, m := range r.ms {
			if m.walk != nil {
				return planWalk, i, true
			}
		}
		return planScan, -1, true
	}
	return 0, 0, false
}
