package sqlite

import (
	"fmt"
	"math"
)

// Grouped pages. A chain (Observation?subject:Patient.name=Kuhn) matches
// the resources that refer to the targets its inner search finds; a
// reverse chain (Patient?_has:Condition:subject:code=X) the resources
// that the sources its inner search finds refer to. Listed by rid, a
// first page needs every match: all the references of every target, or
// every source's target, then a sort. When the inner search matches ten
// times as many resources, so does the work, for a page that stays 20
// entries.
//
// A grouped page lists the matches in the order of the resources through
// which they match instead (FHIR leaves the order of an unsorted search
// to the server): by group key g, the rid of the target (chain) or
// source (reverse chain), then by rid. It reads the group keys in order a
// few at a time, and the matches of those groups, until the page is full:
// the cost follows the page, not the matches. A resource that matches
// through several groups is listed once, in the least of them. The
// cursor holds g and the leading clause, so that the following pages
// keep this order whatever the planner would choose for a first page.
//
// The planner chooses a grouped page where it would drive from such a
// clause without counting its matches (counting reads them all anyway),
// on a search of one resource type.

// grouping lists the matches of a chain or reverse chain by group.
type grouping struct {
	// keys writes a SELECT of column rid listing the group keys (in no
	// order, possibly repeated).
	keys func(q *sq)
	// rows writes a SELECT of columns g and rid listing the matches in
	// the groups gs, each match only in the least group it has.
	rows func(q *sq, gs []any)
	// fanout estimates the matches in one group.
	fanout func() (float64, error)
}

// groupMax bounds the groups a grouped page reads at once.
const groupMax = 1024

// groupBatch returns how many groups to read for need more rows, when a
// group holds rate rows (the rate of the groups read so far, the
// grouping's estimate before the first read): enough for the page at
// that rate, and a quarter more.
func groupBatch(need int, rate float64) int {
	n := math.Ceil(float64(need) / max(rate, 1e-3) * 1.25)
	return int(min(max(n, 1), groupMax))
}

// groupPage returns up to limit rows of r in the order of the groups of
// clause lead, after the cursor (before it, nearest first, when it asks
// for the page before).
func (c *searcher) groupPage(r *typeRun, lead int, at *cursor, limit int) ([]pageRow, error) {
	g := r.ms[lead].group
	back := at != nil && at.before
	cmp, dir, inclusive := ">", "", ">="
	if back {
		cmp, dir, inclusive = "<", " DESC", "<="
	}
	// pos is the last row listed (exclusive); from bounds the next group
	// keys (inclusive when the group at pos may hold more rows).
	var pos *[2]int64
	var from *int64
	if at != nil {
		pos = &[2]int64{at.group, at.rid}
		from = &at.group
	}
	fromOp := inclusive
	rate, err := g.fanout()
	if err != nil {
		return nil, err
	}
	groups, rows := 0, 0
	var out []pageRow
	for len(out) < limit {
		if groups > 0 {
			rate = float64(rows) / float64(groups)
		}
		batch := groupBatch(limit-len(out), rate)
		q := (&sq{}).w("SELECT DISTINCT gk.rid FROM (")
		g.keys(q)
		q.w(") gk")
		if from != nil {
			q.w(" WHERE gk.rid "+fromOp+" ?", *from)
		}
		q.w(" ORDER BY gk.rid"+dir+" LIMIT ?", batch)
		gs, err := c.ints(q)
		if err != nil || len(gs) == 0 {
			return out, err
		}
		need := limit - len(out)
		q = (&sq{}).w("SELECT DISTINCT gm.g, gm.rid FROM (")
		g.rows(q, gs)
		q.w(") gm WHERE 1")
		if pos != nil {
			q.w(" AND (gm.g, gm.rid) "+cmp+" (?, ?)", pos[0], pos[1])
		}
		r.conds(q, "gm.rid", lead)
		q.w(fmt.Sprintf(" ORDER BY gm.g%s, gm.rid%s LIMIT ?", dir, dir), need)
		got, err := c.groupRows(q, lead)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
		groups, rows = groups+len(gs), rows+len(got)
		if len(got) == need || len(gs) < batch {
			return out, nil
		}
		// Every row of these groups is listed: the next start after them.
		last := gs[len(gs)-1].(int64)
		from, fromOp = &last, cmp
		end := int64(math.MaxInt64)
		if back {
			end = 0
		}
		pos = &[2]int64{last, end}
	}
	return out, nil
}

// ints runs q, whose one column is an integer.
func (c *searcher) ints(q *sq) ([]any, error) {
	res, err := c.query(q)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	var out []any
	for res.Next() {
		var n int64
		if err := res.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, res.Err()
}

// groupRows runs q, whose columns are g and rid, as rows of a grouped page
// led by clause lead.
func (c *searcher) groupRows(q *sq, lead int) ([]pageRow, error) {
	res, err := c.query(q)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	var out []pageRow
	for res.Next() {
		row := pageRow{grouped: true, lead: lead}
		if err := res.Scan(&row.group, &row.rid); err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, res.Err()
}
