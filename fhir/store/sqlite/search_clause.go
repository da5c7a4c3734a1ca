package sqlite

import (
	"fmt"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// matcher is one clause of a search compiled for one resource type: how
// to test a resource against it, and how to list its matches from an
// index when it can lead the search.
type matcher struct {
	// cond writes a condition that holds when the resource whose rid is
	// the SQL expression rid matches.
	cond func(q *sq, rid string)
	// selects, when not empty, each write a SELECT of column rid from one
	// index range: together they list the matches (live resources of the
	// type, possibly repeated). Empty: the clause is only a filter.
	selects []func(q *sq)
	// walk, when set, writes "table alias WHERE conditions" whose rows,
	// in the order of one index range, list the matches by ascending rid
	// (column alias.rid, possibly repeated): the search can then stop at
	// the end of a page.
	walk func(q *sq, alias string)
	// count, when set, returns the number of matches exactly and cheaply
	// (from the counts the store keeps).
	count func() (int64, error)
	// estimate, when set, estimates the matches up to bound more cheaply
	// than counting the selects' rows; ok false when it cannot.
	estimate func(bound int64) (n int64, ok bool, err error)
	// rank orders the estimates: kinds usually more selective and
	// cheaper to count first.
	rank int
	// cost, when set, is the relative cost of cond and of listing a
	// match (simple index lookups cost 1).
	cost *costs
	// implies, for a clause the planner derived from others (a date
	// window), lists them: its selectivity stands for theirs together.
	implies []int
	// covers, for such a clause, means its cond tests every clause it
	// implies: conds then writes it in their place.
	covers bool
	// group, for a chain or reverse chain, lists its matches group by
	// group (search_group.go).
	group *grouping
	// on, for a date clause, writes its test of the row of table date
	// with alias a (the parameter's value), so that a date window can
	// test several clauses on one row.
	on func(q *sq, a string)
}

// costs are the relative costs of a matcher's operations.
type costs struct{ cond, drive float64 }

// The costs of the kinds of matchers: chains follow a reference to its
// target, reverse chains from a resource to the many that refer to it.
var (
	simpleCosts = &costs{cond: 1, drive: 1}
	chainCosts  = &costs{cond: 3, drive: 3}
	hasCosts    = &costs{cond: 10, drive: 3}
)

// costs returns m's costs.
func (m *matcher) costs() *costs {
	if m.cost == nil {
		return simpleCosts
	}
	return m.cost
}

// drivable reports whether an index lists the matches.
func (m *matcher) drivable() bool { return len(m.selects) > 0 }

// drive writes a SELECT of column rid listing the matches: the union of
// the selects.
func (m *matcher) drive(q *sq) { q.union(m.selects) }

// The ranks of matchers.
const (
	rankID = iota
	rankEqual
	rankExact
	rankPrefix
	rankRange
	rankOpenRange
	rankChain
	rankHas
	rankScan
)

// valueTable is the table of the values of each parameter type.
var valueTable = map[search.ParamType]string{
	search.TypeToken: "token", search.TypeString: "string", search.TypeDate: "date",
	search.TypeNumber: "number", search.TypeQuantity: "quantity", search.TypeReference: "ref",
	search.TypeURI: "uri", search.TypeComposite: "comp",
}

// compile compiles clause cl for resource type t.
func (c *searcher) compile(t fhir.ResourceType, cl *search.Clause) (*matcher, error) {
	switch {
	case cl.Chain != nil:
		return c.chain(t, cl)
	case cl.Has != nil:
		return c.has(t, cl)
	case search.UnionOf(t, cl.Param) != nil:
		return c.union(t, cl)
	case cl.Param == search.CompartmentParam:
		return c.compartment(t, cl)
	case cl.Param == search.CareDateParam:
		return c.careDate(t, cl)
	}
	return c.compileStored(t, cl)
}

// compartment matches the resources of type t in the compartment cl names
// (search.CompartmentParts): those that match one of its parts.
func (c *searcher) compartment(t fhir.ResourceType, cl *search.Clause) (*matcher, error) {
	parts, err := search.CompartmentParts(t, cl)
	if err != nil {
		return nil, invalidSearch(cl.Param, "%s", err.Error())
	}
	if len(parts) == 0 {
		return constMatcher(false), nil
	}
	return c.anyPart(t, parts)
}

// careDate matches the resources of type t whose care date matches cl, a
// clause on search.CareDateParam, or that have none
// (search.CareDateParts).
func (c *searcher) careDate(t fhir.ResourceType, cl *search.Clause) (*matcher, error) {
	parts, err := search.CareDateParts(t, cl)
	if err != nil {
		return nil, invalidSearch(cl.Param, "%s", err.Error())
	}
	if len(parts) == 0 {
		return constMatcher(true), nil
	}
	return c.anyPart(t, parts)
}

// anyPart matches the resources of type t that match one of parts.
func (c *searcher) anyPart(t fhir.ResourceType, parts []search.Clause) (*matcher, error) {
	ms := make([]*matcher, len(parts))
	for i := range parts {
		var err error
		if ms[i], err = c.compile(t, &parts[i]); err != nil {
			return nil, err
		}
	}
	return anyOf(ms, false), nil
}

// compileStored compiles clause cl on a parameter whose own rows hold its
// values: any but a union, and a union's part (which may be the union
// itself, see search.UnionOf).
func (c *searcher) compileStored(t fhir.ResourceType, cl *search.Clause) (*matcher, error) {
	if cl.Missing != nil {
		return c.missing(t, cl)
	}
	if len(cl.Values) == 0 {
		return nil, invalidSearch(cl.Param, "the search parameter %s has no value", cl.Param)
	}
	switch cl.Type {
	case search.TypeToken:
		return c.token(t, []string{cl.Param}, cl)
	case search.TypeString:
		return c.str(cl.Param, []int64{paramKey(t, cl.Param)}, cl.Modifier, cl.Values)
	case search.TypeDate:
		return c.date(t, cl)
	case search.TypeNumber:
		return c.number(t, cl)
	case search.TypeQuantity:
		return c.quantity(t, cl)
	case search.TypeReference:
		return c.reference(t, cl)
	case search.TypeURI:
		return c.uri(t, cl)
	case search.TypeComposite:
		return c.composite(t, cl)
	}
	return nil, invalidSearch(cl.Param, "the search parameter %s has type %q, which the store cannot search", cl.Param, cl.Type)
}

// union matches a clause on a union parameter (search.UnionOf) through
// its parts, whose rows the store keeps instead of the union's: a
// resource matches when it matches the clause on one of the parts, or,
// for a clause that selects resources by the values they lack (:not,
// :missing=true), on all of them.
//
// A string or token clause on values is one condition on the rows of all
// the parts (k IN ..., v IN ...): one SELECT and one count to plan it
// rather than one per part. A token clause with :not is then NOT EXISTS
// over the rows of all the parts, which is its meaning on the union.
func (c *searcher) union(t fhir.ResourceType, cl *search.Clause) (*matcher, error) {
	parts := search.UnionOf(t, cl.Param)
	if cl.Missing == nil && len(cl.Values) > 0 {
		switch cl.Type {
		case search.TypeString:
			ks := make([]int64, len(parts))
			for i, p := range parts {
				ks[i] = paramKey(t, p)
			}
			return c.str(cl.Param, ks, cl.Modifier, cl.Values)
		case search.TypeToken:
			return c.token(t, parts, cl)
		}
	}
	ms := make([]*matcher, len(parts))
	for i, p := range parts {
		part := *cl
		part.Param = p
		m, err := c.compileStored(t, &part)
		if err != nil {
			return nil, err
		}
		ms[i] = m
	}
	return anyOf(ms, cl.Modifier == search.ModNot || (cl.Missing != nil && *cl.Missing)), nil
}

// anyOf matches the resources that match one of ms, or, when all is set,
// all of them. Without all it is drivable when each of ms is: its rows
// are those of all their SELECTs.
func anyOf(ms []*matcher, all bool) *matcher {
	m := &matcher{cond: func(q *sq, rid string) {
		conds := make([]func(q *sq), len(ms))
		for i, m := range ms {
			conds[i] = func(q *sq) { m.cond(q, rid) }
		}
		if all {
			q.w("(").join(" AND ", conds).w(")")
		} else {
			q.or(conds)
		}
	}}
	drivable := !all
	for _, p := range ms {
		m.rank = max(m.rank, p.rank)
		drivable = drivable && p.drivable()
	}
	if drivable {
		for _, p := range ms {
			m.selects = append(m.selects, p.selects...)
		}
	}
	return m
}

// exists writes EXISTS (SELECT 1 FROM table a WHERE a.rid = rid AND a.k
// is one of ks AND pred(a)).
func exists(q *sq, table, a, rid string, ks []int64, pred func(q *sq)) {
	q.w("EXISTS (SELECT 1 FROM " + table + " " + a + " WHERE " + a + ".rid = " + rid + " AND ")
	keyIn(q, a, ks)
	q.w(" AND ")
	pred(q)
	q.w(")")
}

// keyIn writes that column k of alias a is one of ks.
func keyIn(q *sq, a string, ks []int64) {
	if len(ks) == 1 {
		q.w(a+".k = ?", ks[0])
		return
	}
	args := make([]any, len(ks))
	for i, k := range ks {
		args[i] = k
	}
	q.w(a + ".k IN ").in(args)
}

// selectsOf returns one SELECT per part: the rids of the rows of table
// (alias a) of the parameter keyed ks that satisfy the part.
func selectsOf(table, a string, ks []int64, parts []func(q *sq)) []func(q *sq) {
	sel := make([]func(q *sq), len(parts))
	for i, p := range parts {
		sel[i] = func(q *sq) {
			q.w("SELECT " + a + ".rid AS rid FROM " + table + " " + a + " WHERE ")
			keyIn(q, a, ks)
			q.w(" AND ")
			p(q)
		}
	}
	return sel
}

func (c *searcher) missing(t fhir.ResourceType, cl *search.Clause) (*matcher, error) {
	want := *cl.Missing
	if cl.Param == paramID || cl.Param == paramLastUpdated {
		// Every resource has an id and a lastUpdated.
		return constMatcher(!want), nil
	}
	table, ok := valueTable[cl.Type]
	if !ok {
		return nil, invalidSearch(cl.Param, "the search parameter %s has type %q, which the store cannot search", cl.Param, cl.Type)
	}
	k := paramKey(t, cl.Param)
	a := c.alias()
	return &matcher{rank: rankScan,
		cond: func(q *sq, rid string) {
			if want {
				q.w("NOT ")
			}
			q.w("EXISTS (SELECT 1 FROM "+table+" "+a+" WHERE "+a+".rid = "+rid+" AND "+a+".k = ?)", k)
		},
		count: func() (int64, error) {
			n, err := c.paramCount(k)
			if err != nil || !want {
				return n, err
			}
			all, err := c.typeCount(t)
			return max(all-n, 0), err
		}}, nil
}

// constMatcher matches every resource or none.
func constMatcher(all bool) *matcher {
	return &matcher{rank: rankScan, cond: func(q *sq, rid string) {
		if all {
			q.w("1")
		} else {
			q.w("0")
		}
	}}
}

// token matches a token clause on the rows of params: the clause's own
// parameter, or the parts of a union (a resource matches when one of
// them has one of the values; with :not, when none has any).
func (c *searcher) token(t fhir.ResourceType, params []string, cl *search.Clause) (*matcher, error) {
	switch cl.Modifier {
	case search.ModNone, search.ModNot:
	case search.ModText:
		texts := make([]search.Value, len(cl.Values))
		for i, v := range cl.Values {
			texts[i] = search.Value{Text: v.Text}
		}
		ks := make([]int64, len(params))
		for i, p := range params {
			ks[i] = paramKey(t, textParam(p))
		}
		return c.str(textParam(cl.Param), ks, search.ModNone, texts)
	case search.ModOfType:
		derived := *cl
		derived.Param, derived.Modifier = cl.Param+search.SuffixOfType, search.ModNone
		ofType := make([]string, len(params))
		for i, p := range params {
			ofType[i] = p + search.SuffixOfType
		}
		return c.token(t, ofType, &derived)
	case search.ModIn, search.ModNotIn, search.ModAbove, search.ModBelow:
		return nil, fhir.Errorf(fhir.KindNotImplemented,
			"the modifier :%s of %s needs the terminology service, which the server does not have yet", cl.Modifier, cl.Param)
	default:
		return nil, badModifier(cl)
	}
	not := cl.Modifier == search.ModNot
	if cl.Param == paramID {
		return c.id(t, cl.Values, not), nil
	}
	// One condition per column, with the keys of all the values (of all
	// the parameters) for it.
	a := c.alias()
	drivable := true
	keys := map[string][]any{}
	var codes []any // the v keys of the values matched on sv
	for _, p := range params {
		for _, v := range cl.Values {
			tm := tokenTerm(t, p, v)
			drivable = drivable && tm.col != "k"
			keys[tm.col] = append(keys[tm.col], tm.key)
			if tm.col == "sv" {
				codes = append(codes, tm.code)
			}
		}
	}
	var parts []func(q *sq)
	for _, col := range []string{"sv", "v", "s", "k"} {
		ks := keys[col]
		switch {
		case len(ks) == 0:
		case col == "sv":
			// sv has no index of its own: token_v holds it (the table's
			// key) in every entry. A value's sv determines its v, so
			// testing both lists is testing sv.
			parts = append(parts, func(q *sq) {
				inOrEq(q, a+".v", codes)
				q.w(" AND ")
				inOrEq(q, a+".sv", ks)
			})
		default:
			parts = append(parts, func(q *sq) { inOrEq(q, a+"."+col, ks) })
		}
	}
	m := &matcher{rank: rankEqual, cond: func(q *sq, rid string) {
		if not {
			q.w("NOT ")
		}
		q.w("EXISTS (SELECT 1 FROM token " + a + " WHERE " + a + ".rid = " + rid + " AND ")
		q.or(parts)
		q.w(")")
	}}
	if not || !drivable {
		return m, nil
	}
	for _, p := range parts {
		m.selects = append(m.selects, func(q *sq) {
			q.w("SELECT " + a + ".rid AS rid FROM token " + a + " WHERE ")
			p(q)
		})
	}
	if len(cl.Values) == 1 && len(params) == 1 {
		tm := tokenTerm(t, params[0], cl.Values[0])
		m.walk = func(q *sq, w string) {
			q.w("token " + w + " WHERE ")
			tm.cond(q, w)
		}
	} else {
		m.rank = rankExact
	}
	return m, nil
}

// inOrEq writes col = key, or col IN (keys) for several.
func inOrEq(q *sq, col string, keys []any) {
	if len(keys) == 1 {
		q.w(col+" = ?", keys[0])
		return
	}
	q.w(col + " IN ").in(keys)
}

// tokenMatch is how a token value is matched: on the token column col
// (of the token table, or of comp's token components) equal to key, and
// for a code in a system (col sv) on the code's key v as well.
type tokenMatch struct {
	col  string
	key  int64
	code int64 // v, when col is sv
}

// tokenTerm returns how token value v of param is matched: on v for a
// code of any system, on s for any code of a system, on sv (and v) for a
// code in a system (or in none), and on k for any value.
func tokenTerm(t fhir.ResourceType, param string, v search.Value) tokenMatch {
	switch {
	case v.System == nil && v.Code == "":
		return tokenMatch{col: "k", key: paramKey(t, param)}
	case v.System == nil:
		return tokenMatch{col: "v", key: tokenCodeKey(t, param, v.Code)}
	case v.Code == "":
		return tokenMatch{col: "s", key: tokenSystemKey(t, param, *v.System)}
	}
	return tokenMatch{col: "sv", key: tokenKey(t, param, *v.System, v.Code), code: tokenCodeKey(t, param, v.Code)}
}

// cond writes the condition on the columns of alias a.
func (tm tokenMatch) cond(q *sq, a string) {
	if tm.col == "sv" {
		q.w(a+".v = ? AND "+a+".sv = ?", tm.code, tm.key)
		return
	}
	q.w(a+"."+tm.col+" = ?", tm.key)
}

// id matches by the resource's own id.
func (c *searcher) id(t fhir.ResourceType, values []search.Value, not bool) *matcher {
	ids := make([]any, len(values))
	for i, v := range values {
		ids[i] = v.Code
	}
	a := c.alias()
	m := &matcher{rank: rankID, cond: func(q *sq, rid string) {
		if not {
			q.w("NOT ")
		}
		q.w("EXISTS (SELECT 1 FROM resource " + a + " WHERE " + a + ".rid = " + rid + " AND " + a + ".id IN ").in(ids).w(")")
	}}
	if not {
		return m
	}
	m.selects = []func(q *sq){func(q *sq) {
		q.w("SELECT "+a+".rid AS rid FROM resource "+a+" WHERE "+a+".type = ? AND "+a+".deleted = 0 AND "+a+".id IN ", string(t)).in(ids)
	}}
	// An id names at most one resource of the type: the values bound the
	// matches without a count (which, for the hundred ids of a bulk
	// load's look-up, cost as much as the search).
	distinct := map[any]bool{}
	for _, id := range ids {
		distinct[id] = true
	}
	m.estimate = func(bound int64) (int64, bool, error) { return min(int64(len(distinct)), bound), true, nil }
	if len(ids) == 1 {
		m.walk = func(q *sq, w string) {
			q.w("resource "+w+" WHERE "+w+".type = ? AND "+w+".id = ? AND "+w+".deleted = 0", string(t), ids[0])
		}
	}
	return m
}

// str matches string values of parameter param, whose rows are those of
// the keys ks (more than one: the parts of a union).
func (c *searcher) str(param string, ks []int64, mod search.Modifier, values []search.Value) (*matcher, error) {
	a := c.alias()
	var parts []func(q *sq)
	rank := rankPrefix
	for _, v := range values {
		switch mod {
		case search.ModNone:
			p := search.Fold(v.Text)
			parts = append(parts, func(q *sq) { startsWith(q, a+".value", p) })
		case search.ModExact:
			text := v.Text
			parts = append(parts, func(q *sq) { q.w("("+a+".value = ? AND "+a+".exact = ?)", search.Fold(text), text) })
			rank = rankExact
		case search.ModContains:
			p := search.Fold(v.Text)
			parts = append(parts, func(q *sq) { q.w("instr("+a+".value, ?) > 0", p) })
			rank = rankScan
		default:
			return nil, badModifier(&search.Clause{Param: param, Type: search.TypeString, Modifier: mod})
		}
	}
	return simple(a, "string", ks, rank, parts), nil
}

// simple is the matcher of a clause on one value table (alias a, the
// alias the parts are written for) whose values give conditions parts,
// each served by an index: a resource matches when one of its rows of
// the parameter keyed ks (one key, or a union's parts') satisfies one of
// them.
func simple(a, table string, ks []int64, rank int, parts []func(q *sq)) *matcher {
	return &matcher{rank: rank, selects: selectsOf(table, a, ks, parts), cond: func(q *sq, rid string) {
		exists(q, table, a, rid, ks, func(q *sq) { q.or(parts) })
	}}
}

func (c *searcher) date(t fhir.ResourceType, cl *search.Clause) (*matcher, error) {
	if cl.Modifier != search.ModNone {
		return nil, badModifier(cl)
	}
	a := c.alias()
	special := cl.Param == paramLastUpdated
	cols := rangeCols{lo: a + ".lo", hi: a + ".hi"}
	if special {
		cols = rangeCols{lo: a + ".updated", ms: true}
	}
	// partsOf returns the conditions of the values on columns cols.
	partsOf := func(cols rangeCols) ([]func(q *sq), error) {
		var parts []func(q *sq)
		for _, v := range cl.Values {
			p, err := rangeParts(cols, v.Prefix, dateBounds(v, c.now))
			if err != nil {
				return nil, err
			}
			parts = append(parts, p...)
		}
		return parts, nil
	}
	parts, err := partsOf(cols)
	if err != nil {
		return nil, err
	}
	rank := rankRange
	for _, v := range cl.Values {
		if v.Prefix != search.PrefixEq && v.Prefix != "" {
			rank = rankOpenRange
		}
	}
	if !special {
		m := simple(a, "date", []int64{paramKey(t, cl.Param)}, rank, parts)
		m.on = func(q *sq, a string) {
			parts, _ := partsOf(rangeCols{lo: a + ".lo", hi: a + ".hi"}) // checked above
			q.or(parts)
		}
		return m, nil
	}
	m := &matcher{rank: rank, cond: func(q *sq, rid string) {
		q.w("EXISTS (SELECT 1 FROM resource " + a + " WHERE " + a + ".rid = " + rid + " AND ")
		q.or(parts)
		q.w(")")
	}}
	for _, p := range parts {
		m.selects = append(m.selects, func(q *sq) {
			q.w("SELECT "+a+".rid AS rid FROM resource "+a+" WHERE "+a+".type = ? AND "+a+".deleted = 0 AND ", string(t))
			p(q)
		})
	}
	return m, nil
}

func (c *searcher) number(t fhir.ResourceType, cl *search.Clause) (*matcher, error) {
	if cl.Modifier != search.ModNone {
		return nil, badModifier(cl)
	}
	a := c.alias()
	cols := rangeCols{lo: a + ".lo", hi: a + ".hi"}
	var parts []func(q *sq)
	rank := rankRange
	for _, v := range cl.Values {
		p, err := rangeParts(cols, v.Prefix, numberBounds(v.NumLo, v.NumHi, v.Num))
		if err != nil {
			return nil, err
		}
		parts = append(parts, p...)
		if v.Prefix != search.PrefixEq && v.Prefix != "" {
			rank = rankOpenRange
		}
	}
	return simple(a, "number", []int64{paramKey(t, cl.Param)}, rank, parts), nil
}

func (c *searcher) quantity(t fhir.ResourceType, cl *search.Clause) (*matcher, error) {
	if cl.Modifier != search.ModNone {
		return nil, badModifier(cl)
	}
	a := c.alias()
	var parts []func(q *sq)
	rank := rankRange
	for _, v := range cl.Values {
		p, err := quantityParts(a, v)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p...)
		if v.Prefix != search.PrefixEq && v.Prefix != "" {
			rank = rankOpenRange
		}
	}
	return simple(a, "quantity", []int64{paramKey(t, cl.Param)}, rank, parts), nil
}

// quantityParts returns the conditions on quantity columns (alias a) of
// quantity value v: canonical values compared when both sides have them,
// otherwise the values as written, in the same unit when v has one (the
// same system and code, or the same code of any system when v has no
// system).
func quantityParts(a string, v search.Value) ([]func(q *sq), error) {
	plain, err := rangeParts(rangeCols{lo: a + ".lo", hi: a + ".hi"}, v.Prefix, numberBounds(v.NumLo, v.NumHi, v.Num))
	if err != nil {
		return nil, err
	}
	var unit func(q *sq)
	switch {
	case v.System != nil && *v.System != "":
		unit = func(q *sq) { q.w("("+a+".system = ? AND "+a+".code = ?)", *v.System, v.Code) }
	case v.Code != "":
		unit = func(q *sq) { q.w(a+".code = ?", v.Code) }
	}
	if v.CanonicalCode == "" && unit == nil {
		return plain, nil
	}
	var parts []func(q *sq)
	if v.CanonicalCode != "" {
		canon, err := rangeParts(rangeCols{lo: a + ".clo", hi: a + ".chi"}, v.Prefix,
			numberBounds(v.CanonicalLo, v.CanonicalHi, v.Canonical))
		if err != nil {
			return nil, err
		}
		for _, p := range canon {
			parts = append(parts, func(q *sq) {
				q.w("("+a+".cc = ? AND ", v.CanonicalCode)
				p(q)
				q.w(")")
			})
		}
	}
	for _, p := range plain {
		parts = append(parts, func(q *sq) {
			q.w("(")
			if v.CanonicalCode != "" {
				q.w(a + ".cc IS NULL AND ")
			}
			if unit != nil {
				unit(q)
				q.w(" AND ")
			}
			p(q)
			q.w(")")
		})
	}
	return parts, nil
}

func (c *searcher) reference(t fhir.ResourceType, cl *search.Clause) (*matcher, error) {
	switch cl.Modifier {
	case search.ModNone:
	case search.ModIdentifier:
		derived := *cl
		derived.Param, derived.Type, derived.Modifier = cl.Param+search.SuffixIdentifier, search.TypeToken, search.ModNone
		return c.token(t, []string{derived.Param}, &derived)
	default:
		return nil, badModifier(cl)
	}
	a := c.alias()
	k := paramKey(t, cl.Param)
	// Literal targets in one condition; URLs one by one.
	var parts []func(q *sq)
	var targets []any
	for _, v := range cl.Values {
		if v.URL == "" && v.ID != "" {
			keys, err := c.targetKeys(v)
			if err != nil {
				return nil, err
			}
			targets = append(targets, keys...)
			continue
		}
		p, err := c.refPart(a, v)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	if len(targets) == 1 {
		parts = append(parts, func(q *sq) { q.w(a+".th = ?", targets[0]) })
	} else if len(targets) > 1 {
		parts = append(parts, func(q *sq) { q.w(a + ".th IN ").in(targets) })
	}
	m := simple(a, "ref", []int64{k}, rankEqual, parts)
	if v := cl.Values[0]; len(cl.Values) == 1 && v.URL == "" && v.Type != "" && v.ID != "" {
		m.walk = func(q *sq, w string) {
			q.w("ref "+w+" WHERE "+w+".k = ? AND "+w+".th = ?", k, refKey(v.Type, v.ID))
		}
	}
	return m, nil
}

// refPart returns the condition on ref columns (alias a) of reference
// value v.
func (c *searcher) refPart(a string, v search.Value) (func(q *sq), error) {
	switch {
	case v.URL != "":
		return func(q *sq) {
			if v.Version != "" {
				q.w("("+a+".u = ? AND "+a+".ver = ?)", urlKey(v.URL), v.Version)
				return
			}
			q.w(a+".u = ?", urlKey(v.URL))
		}, nil
	case v.ID != "":
		keys, err := c.targetKeys(v)
		if err != nil {
			return nil, err
		}
		return func(q *sq) { q.w(a + ".th IN ").in(keys) }, nil
	}
	return func(q *sq) { q.w("0") }, nil
}

// targetKeys returns the keys (ref.th) of the targets reference value v
// names: Type/id, or an id of any type.
func (c *searcher) targetKeys(v search.Value) ([]any, error) {
	if v.Type != "" {
		return []any{refKey(v.Type, v.ID)}, nil
	}
	types, err := c.allTypes()
	if err != nil {
		return nil, err
	}
	keys := make([]any, len(types))
	for i, rt := range types {
		keys[i] = refKey(rt, v.ID)
	}
	return keys, nil
}

func (c *searcher) uri(t fhir.ResourceType, cl *search.Clause) (*matcher, error) {
	a := c.alias()
	var parts []func(q *sq)
	rank := rankEqual
	for _, v := range cl.Values {
		text := v.Text
		switch cl.Modifier {
		case search.ModNone:
			parts = append(parts, func(q *sq) { q.w(a+".value = ?", text) })
		case search.ModBelow:
			parts = append(parts, func(q *sq) { startsWith(q, a+".value", text) })
			rank = max(rank, rankPrefix)
		case search.ModAbove:
			prefixes := make([]any, 0, len(text))
			for i := len(text); i > 0; i-- {
				prefixes = append(prefixes, text[:i])
			}
			if len(prefixes) == 0 {
				prefixes = append(prefixes, "")
			}
			parts = append(parts, func(q *sq) { q.w(a + ".value IN ").in(prefixes) })
		case search.ModContains:
			parts = append(parts, func(q *sq) { q.w("instr("+a+".value, ?) > 0", text) })
			rank = rankScan
		default:
			return nil, badModifier(cl)
		}
	}
	k := paramKey(t, cl.Param)
	m := simple(a, "uri", []int64{k}, rank, parts)
	if len(cl.Values) == 1 && cl.Modifier == search.ModNone {
		text := cl.Values[0].Text
		m.walk = func(q *sq, w string) { q.w("uri "+w+" WHERE "+w+".k = ? AND "+w+".value = ?", k, text) }
	}
	return m, nil
}

// badModifier is the error for a modifier the clause's type does not take.
func badModifier(cl *search.Clause) error {
	return invalidSearch(cl.Param, "the modifier :%s does not apply to the %s parameter %s", cl.Modifier, cl.Type, cl.Param)
}

// invalidSearch is a KindInvalid error about parameter param.
func invalidSearch(param, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &fhir.Error{Kind: fhir.KindInvalid, Message: msg, Issues: []fhir.Issue{{
		Severity: fhir.SeverityError, Code: fhir.IssueInvalid, Diagnostics: msg, Expression: []string{param}}}}
}
