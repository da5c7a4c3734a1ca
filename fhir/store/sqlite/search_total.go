package sqlite

import (
	"math"

	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Totals. Counts the store keeps answer a search without clauses at once
// (typecount), and the first page answers its own search when it is also
// the last. Otherwise:
//
//   - TotalAccurate counts the matches (from the most selective indexed
//     clause, or by a scan of the type when none is indexed);
//   - TotalEstimate gives the planner's estimate (a clause's bounded count
//     when it is alone and below the bound, otherwise the type's size times
//     the clauses' selectivities);
//   - TotalDefault counts when the query asks for no page (Count 0) or
//     when counting is cheap: for every type, listing the most selective
//     indexed clause's matches and testing them against the others costs
//     at most defaultCountBudget index lookups (a clause of up to 1,000
//     matches alone, fewer with others, a reverse chain's third of that:
//     about a millisecond). Otherwise it is -1 (the client can ask for
//     _total=accurate): a first page then reads what it needs only,
//     which a count would undo. For the same reason a search led by a
//     chain or reverse chain, whose first page is grouped
//     (search_group.go), is not counted;
//   - TotalNone is always -1.
//
// When a search counts and its page is planned from the same clause, the
// page reads every match and the total comes with it.

// defaultCountBudget bounds the cost (driveCost) of the counts of
// TotalDefault.
const defaultCountBudget = 1000

// counting reports whether the search will count the matches of r exactly
// (when it needs a page: with Count 0 TotalDefault always counts).
func (c *searcher) counting(r *typeRun) bool {
	switch c.mode {
	case search.TotalAccurate:
		return c.clauses
	case search.TotalDefault:
		b := r.best()
		if b >= 0 && r.ms[b].group != nil && c.single {
			// A grouped first page reads a few groups: counting would
			// read them all.
			return false
		}
		return c.clauses && b >= 0 && !r.capped[b] && r.driveCost(b) <= defaultCountBudget
	}
	return false
}

// total returns the total of search q, whose first page (when count > 0)
// is res.
func (c *searcher) total(q *search.Query, runs []*typeRun, after *cursor, count int, res *engine.SearchResult) (int, error) {
	if q.Total == search.TotalNone {
		return -1, nil
	}
	if len(q.Clauses) == 0 {
		var n int64
		for _, r := range runs {
			n += r.n
		}
		return int(n), nil
	}
	if after == nil && count > 0 && res.Next == "" {
		return len(res.Resources), nil
	}
	known := int64(0)
	for _, r := range runs {
		if r.total < 0 {
			known = -1
			break
		}
		known += r.total
	}
	if known >= 0 {
		return int(known), nil
	}
	for _, r := range runs {
		if err := c.estimate(r); err != nil {
			return 0, err
		}
	}
	switch q.Total {
	case search.TotalEstimate:
		var n float64
		for _, r := range runs {
			n += r.estimateTotal()
		}
		return int(math.Round(n)), nil
	case search.TotalDefault:
		if count == 0 {
			break
		}
		for _, r := range runs {
			if r.total < 0 && !r.empty() && !c.counting(r) {
				return -1, nil
			}
		}
	}
	var n int64
	for _, r := range runs {
		k, err := c.count(r)
		if err != nil {
			return 0, err
		}
		n += k
	}
	return int(n), nil
}

// estimateTotal estimates the matches of r.
func (r *typeRun) estimateTotal() float64 {
	if r.empty() {
		return 0
	}
	if len(r.ms) == 1 && r.est[0] >= 0 && !r.capped[0] {
		return float64(r.est[0])
	}
	return float64(r.n) * r.selectivity(-1)
}

// count counts the matches of r.
func (c *searcher) count(r *typeRun) (int64, error) {
	if r.total >= 0 {
		return r.total, nil
	}
	if r.empty() {
		return 0, nil
	}
	q := &sq{}
	if b := r.best(); b >= 0 && forcedPlan.Load() != forceScan {
		q.w("SELECT count(*) FROM (SELECT DISTINCT rid FROM (")
		r.ms[b].drive(q)
		q.w(")) d WHERE 1")
		r.conds(q, "d.rid", b)
	} else {
		q.w("SELECT count(*) FROM resource r WHERE r.type = ? AND r.deleted = 0", string(r.t))
		r.conds(q, "r.rid", -1)
	}
	var n int64
	err := c.queryRow(q).Scan(&n)
	return n, err
}
