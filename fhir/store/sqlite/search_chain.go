package sqlite

import (
	"math"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Chains and reverse chains join references to their targets through
// hashes: ref.th of a reference is resource.h of its target (refKey of
// the target's type and id), so a chain goes from the targets' rows to the
// references by index ref_th (k, th), and a reverse chain from the
// references to the targets by index resource_h.

// ridsOf returns a SELECT of the rids of the live resources of type t that
// m matches: m's own, or a scan of the type.
func (c *searcher) ridsOf(t fhir.ResourceType, m *matcher) func(q *sq) {
	if m.drivable() {
		return m.drive
	}
	r := c.alias()
	return func(q *sq) {
		q.w("SELECT "+r+".rid AS rid FROM resource "+r+" WHERE "+r+".type = ? AND "+r+".deleted = 0 AND ", string(t))
		m.cond(q, r+".rid")
	}
}

// chain matches resources whose reference parameter refers to a resource
// of one of the chain's target types that matches the chained clause.
func (c *searcher) chain(t fhir.ResourceType, cl *search.Clause) (*matcher, error) {
	targets := cl.Chain.Targets
	if len(targets) == 0 {
		var err error
		if targets, err = c.liveTypes(); err != nil {
			return nil, err
		}
	}
	k := paramKey(t, cl.Param)
	inner := make([]*matcher, len(targets))
	for i, u := range targets {
		m, err := c.compile(u, &cl.Chain.Clause)
		if err != nil {
			return nil, err
		}
		inner[i] = m
	}
	a, x := c.alias(), c.alias()
	m := &matcher{rank: rankChain, cost: chainCosts}
	m.cond = func(q *sq, rid string) {
		q.w("EXISTS (SELECT 1 FROM ref "+a+" CROSS JOIN resource "+x+" ON "+x+".h = "+a+".th AND "+x+".deleted = 0 WHERE "+
			a+".rid = "+rid+" AND "+a+".k = ? AND ", k)
		alts := make([]func(q *sq), len(targets))
		for i, u := range targets {
			alts[i] = func(q *sq) {
				q.w("("+x+".type = ? AND ", string(u))
				inner[i].cond(q, x+".rid")
				q.w(")")
			}
		}
		q.or(alts)
		q.w(")")
	}
	for i, u := range targets {
		g, x, a := c.alias(), c.alias(), c.alias()
		rids := c.ridsOf(u, inner[i])
		m.selects = append(m.selects, func(q *sq) {
			q.w("SELECT " + a + ".rid AS rid FROM (")
			rids(q)
			q.w(") "+g+" CROSS JOIN resource "+x+" ON "+x+".rid = "+g+".rid CROSS JOIN ref "+a+
				" INDEXED BY ref_th ON "+a+".k = ? AND "+a+".th = "+x+".h", k)
		})
	}
	// The targets that match, times the references to each target.
	m.estimate = func(bound int64) (int64, bool, error) {
		var n float64
		capped := false
		for i, u := range targets {
			if !inner[i].drivable() {
				return 0, false, nil
			}
			nu, err := c.bounded(inner[i], bound)
			if err != nil {
				return 0, false, err
			}
			f, err := c.fanout(k, u)
			if err != nil {
				return 0, false, err
			}
			n += float64(nu) * f
			capped = capped || nu >= bound
		}
		est := int64(math.Ceil(n))
		if capped {
			est = max(est, bound)
		}
		return est, true, nil
	}
	if len(targets) == 1 {
		m.group = c.chainGroups(k, targets[0], inner[0])
	}
	return m, nil
}

// fanout estimates how many resources refer to one resource of type u
// through reference parameter k: those with a value for k over the
// resources of type u.
func (c *searcher) fanout(k int64, u fhir.ResourceType) (float64, error) {
	refs, err := c.paramCount(k)
	if err != nil || refs == 0 {
		return 0, err
	}
	n, err := c.typeCount(u)
	if err != nil || n == 0 {
		return 0, err
	}
	return float64(refs) / float64(n), nil
}

// chainGroups groups the matches of a chain through reference parameter
// k to targets of type u that inner matches by target: a match is listed
// with the least of its targets.
func (c *searcher) chainGroups(k int64, u fhir.ResourceType, inner *matcher) *grouping {
	x, a, x2, a2 := c.alias(), c.alias(), c.alias(), c.alias()
	return &grouping{keys: c.ridsOf(u, inner), fanout: func() (float64, error) { return c.fanout(k, u) }, rows: func(q *sq, gs []any) {
		q.w("SELECT "+x+".rid AS g, "+a+".rid AS rid FROM resource "+x+" CROSS JOIN ref "+a+
			" INDEXED BY ref_th ON "+a+".k = ? AND "+a+".th = "+x+".h WHERE "+x+".rid IN ", k).in(gs)
		q.w(" AND NOT EXISTS (SELECT 1 FROM ref "+a2+" INDEXED BY ref_rid CROSS JOIN resource "+x2+" INDEXED BY resource_h ON "+
			x2+".h = "+a2+".th AND "+x2+".deleted = 0 WHERE "+a2+".rid = "+a+".rid AND "+a2+".k = ? AND "+
			x2+".type = ? AND "+x2+".rid < "+x+".rid AND ", k, string(u))
		inner.cond(q, x2+".rid")
		q.w(")")
	}}
}

// hasGroups groups the matches of a reverse chain from sources of type
// src that inner matches, through their reference parameter k to
// resources of type t, by source: a match is listed with the least
// source that refers to it.
func (c *searcher) hasGroups(k int64, t, src fhir.ResourceType, inner *matcher) *grouping {
	a, x, a2 := c.alias(), c.alias(), c.alias()
	// A source refers to about one resource.
	one := func() (float64, error) { return 1, nil }
	return &grouping{keys: c.ridsOf(src, inner), fanout: one, rows: func(q *sq, gs []any) {
		q.w("SELECT "+a+".rid AS g, "+x+".rid AS rid FROM ref "+a+" INDEXED BY ref_rid CROSS JOIN resource "+x+
			" INDEXED BY resource_h ON "+x+".h = "+a+".th AND "+x+".deleted = 0 WHERE "+a+".k = ? AND "+x+".type = ? AND "+
			a+".rid IN ", k, string(t)).in(gs)
		q.w(" AND NOT EXISTS (SELECT 1 FROM ref "+a2+" INDEXED BY ref_th WHERE "+a2+".k = ? AND "+a2+".th = "+x+".h AND "+
			a2+".rid < "+a+".rid AND ", k)
		inner.cond(q, a2+".rid")
		q.w(")")
	}}
}

// has matches resources that a resource of type Has.Type refers to
// through its reference parameter Has.Ref, where that resource matches
// Has.Clause.
func (c *searcher) has(t fhir.ResourceType, cl *search.Clause) (*matcher, error) {
	src := cl.Has.Type
	k := paramKey(src, cl.Has.Ref)
	inner, err := c.compile(src, &cl.Has.Clause)
	if err != nil {
		return nil, err
	}
	x, a := c.alias(), c.alias()
	m := &matcher{rank: rankHas, cost: hasCosts}
	// The sources that match bound the targets (each refers to about
	// one): count them, not the join.
	m.estimate = func(bound int64) (int64, bool, error) {
		if !inner.drivable() {
			return 0, false, nil
		}
		n, err := c.bounded(inner, bound)
		return n, true, err
	}
	m.cond = func(q *sq, rid string) {
		q.w("EXISTS (SELECT 1 FROM resource "+x+" CROSS JOIN ref "+a+" ON "+a+".k = ? AND "+a+".th = "+x+".h WHERE "+
			x+".rid = "+rid+" AND ", k)
		inner.cond(q, a+".rid")
		q.w(")")
	}
	g, a2, x2 := c.alias(), c.alias(), c.alias()
	rids := c.ridsOf(src, inner)
	m.selects = []func(q *sq){func(q *sq) {
		q.w("SELECT " + x2 + ".rid AS rid FROM (")
		rids(q)
		q.w(") "+g+" CROSS JOIN ref "+a2+" INDEXED BY ref_rid ON "+a2+".rid = "+g+".rid AND "+a2+".k = ? CROSS JOIN resource "+x2+
			" INDEXED BY resource_h ON "+x2+".h = "+a2+".th AND "+x2+".deleted = 0 WHERE "+x2+".type = ?", k, string(t))
	}}
	m.group = c.hasGroups(k, t, src, inner)
	return m, nil
}

// composite matches resources with one composite value (one entry e) of
// which every component matches the search value's.
func (c *searcher) composite(t fhir.ResourceType, cl *search.Clause) (*matcher, error) {
	if cl.Modifier != search.ModNone {
		return nil, badModifier(cl)
	}
	k := paramKey(t, cl.Param)
	type entry struct {
		aliases []string
		preds   []func(q *sq)
		lead    *tokenMatch // how the first component is matched, when an index serves it
	}
	var entries []entry
	for _, v := range cl.Values {
		if len(v.Components) == 0 {
			return nil, invalidSearch(cl.Param, "the composite parameter %s has a value without components", cl.Param)
		}
		e := entry{}
		for j, comp := range v.Components {
			a := c.alias()
			p, err := c.componentPred(t, compParam(cl.Param, j), a, comp)
			if err != nil {
				return nil, err
			}
			e.aliases, e.preds = append(e.aliases, a), append(e.preds, p)
		}
		if first := v.Components[0]; first.System != nil || first.Code != "" {
			if tm := tokenTerm(t, compParam(cl.Param, 0), first); tm.col == "v" || tm.col == "sv" {
				e.lead = &tm
			}
		}
		entries = append(entries, e)
	}
	// joins writes the components after the first, joined on its entry.
	joins := func(q *sq, e entry) {
		a0 := e.aliases[0]
		for j, a := range e.aliases[1:] {
			q.w(" JOIN comp "+a+" ON "+a+".rid = "+a0+".rid AND "+a+".k = "+a0+".k AND "+a+".e = "+a0+".e AND "+a+".i = ?", j+1)
		}
	}
	preds := func(q *sq, e entry) {
		for _, p := range e.preds {
			q.w(" AND ")
			p(q)
		}
	}
	m := &matcher{rank: rankEqual}
	m.cond = func(q *sq, rid string) {
		alts := make([]func(q *sq), len(entries))
		for i, e := range entries {
			alts[i] = func(q *sq) {
				a0 := e.aliases[0]
				q.w("EXISTS (SELECT 1 FROM comp " + a0)
				joins(q, e)
				q.w(" WHERE "+a0+".rid = "+rid+" AND "+a0+".k = ? AND "+a0+".i = 0", k)
				preds(q, e)
				q.w(")")
			}
		}
		q.or(alts)
	}
	for _, e := range entries {
		if e.lead == nil {
			return m, nil
		}
	}
	for _, e := range entries {
		m.selects = append(m.selects, func(q *sq) {
			a0 := e.aliases[0]
			q.w("SELECT " + a0 + ".rid AS rid FROM comp " + a0)
			joins(q, e)
			q.w(" WHERE ")
			e.lead.cond(q, a0)
			preds(q, e)
		})
	}
	return m, nil
}

// componentPred returns the condition on comp columns (alias a) of one
// component value v. The query does not say the component's type, so the
// condition has one alternative per kind of value v can stand for, each
// guarded by the kind of the row (comp.t): a component of a parameter
// always has one kind, so only the right alternative applies.
func (c *searcher) componentPred(t fhir.ResourceType, param, a string, v search.Value) (func(q *sq), error) {
	var alts []func(q *sq)
	guard := func(kind int, p func(q *sq)) func(q *sq) {
		return func(q *sq) {
			q.w("("+a+".t = ? AND ", kind)
			p(q)
			q.w(")")
		}
	}
	if v.System != nil || v.Code != "" {
		tm := tokenTerm(t, param, v)
		alts = append(alts, guard(compToken, func(q *sq) {
			if tm.col == "k" {
				q.w("1")
				return
			}
			tm.cond(q, a)
		}))
	}
	if v.Text != "" {
		folded, text := search.Fold(v.Text), v.Text
		alts = append(alts, guard(compString, func(q *sq) { startsWith(q, a+".value", folded) }),
			guard(compURI, func(q *sq) { q.w(a+".value = ?", text) }))
	}
	cols := rangeCols{lo: a + ".lo", hi: a + ".hi"}
	if v.DateLo != 0 || v.DateHi != 0 {
		parts, err := rangeParts(cols, v.Prefix, dateBounds(v, c.now))
		if err != nil {
			return nil, err
		}
		alts = append(alts, guard(compDate, func(q *sq) { q.or(parts) }))
	}
	if v.Prefix != "" || v.NumLo != 0 || v.NumHi != 0 || v.Num != 0 {
		parts, err := rangeParts(cols, v.Prefix, numberBounds(v.NumLo, v.NumHi, v.Num))
		if err != nil {
			return nil, err
		}
		qparts, err := quantityParts(a, v)
		if err != nil {
			return nil, err
		}
		alts = append(alts, guard(compNumber, func(q *sq) { q.or(parts) }),
			guard(compQuantity, func(q *sq) { q.or(qparts) }))
	}
	if v.Type != "" || v.ID != "" || v.URL != "" {
		p, err := c.refPart(a, v)
		if err != nil {
			return nil, err
		}
		alts = append(alts, guard(compRef, p))
	}
	return func(q *sq) { q.or(alts) }, nil
}
