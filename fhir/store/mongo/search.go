package mongo

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/fhir/search/match"
)

// Search runs q over the current resources: the database lists the
// candidates its keys select, in the query's order from the cursor on
// (keyset paging: the same cost at any depth, and no server-local state,
// so that any server continues a page another served); the server tests
// each exactly and stops at the end of the page.
func (s *Store) Search(ctx context.Context, q *search.Query) (*engine.SearchResult, error) {
	p, err := s.plan(ctx, q)
	if err != nil {
		return nil, err
	}
	res, err := p.run(ctx)
	return res, storeErr("search", err)
}

// plan is a search compiled against the store.
type plan struct {
	s     *Store
	q     *search.Query
	now   time.Time
	fp    string
	after *cursor
	keys  []sortKey
	// filter selects the candidates; exact, when its conditions alone
	// select the matches.
	filter bson.D
	exact  bool
	// chains and hases hold the resolved chains and reverse chains.
	chains map[*search.Chain]map[string]bool
	hases  map[hasKey]map[string]bool
	// matchers holds each type's compiled clauses.
	matchers map[fhir.ResourceType]*match.Matcher
}

// hasKey names a reverse chain resolved for one resource type.
type hasKey struct {
	h *search.Has
	t fhir.ResourceType
}

// sortKey is one key of the order of a page.
type sortKey struct {
	field string
	// presence, when set, is the field that a resource with a value has
	// (the others sort last).
	presence string
	desc     bool
}

// plan compiles q.
func (s *Store) plan(ctx context.Context, q *search.Query) (*plan, error) {
	p := &plan{s: s, q: q, now: time.Now(), fp: fingerprint(q), exact: true,
		chains: map[*search.Chain]map[string]bool{}, hases: map[hasKey]map[string]bool{},
		matchers: map[fhir.ResourceType]*match.Matcher{}}
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, p.fp, len(q.Sort))
		if err != nil {
			return nil, err
		}
		p.after = c
	}
	for _, so := range q.Sort {
		k, err := compileSort(so)
		if err != nil {
			return nil, err
		}
		p.keys = append(p.keys, k)
	}
	last := len(q.Sort) > 0 && q.Sort[len(q.Sort)-1].Desc
	p.keys = append(p.keys, sortKey{field: "c", desc: last}, sortKey{field: "_id", desc: last})
	// Compile for the searched types now, so that a bad clause fails the
	// search; a system search compiles each type as it meets it.
	for _, t := range q.Types {
		if _, err := p.matcher(ctx, t); err != nil {
			return nil, err
		}
	}
	if len(q.Types) == 0 && len(q.Clauses) > 0 {
		if _, err := p.matcher(ctx, "Resource"); err != nil {
			return nil, err
		}
	}
	conds := []bson.D{typesFilter(q.Types)}
	for i := range q.Clauses {
		cl := &q.Clauses[i]
		var chain, has map[string]bool
		if cl.Chain != nil {
			chain = p.chains[cl.Chain]
		}
		if cl.Has != nil && len(q.Types) == 1 {
			has = p.hases[hasKey{cl.Has, q.Types[0]}]
		}
		if cl.Has != nil && len(q.Types) != 1 {
			p.exact = false
			continue
		}
		f, exact := filterOf(cl, chain, has)
		conds = append(conds, f)
		p.exact = p.exact && exact
	}
	p.filter = and(conds)
	return p, nil
}

// compileSort returns the key of sort so.
func compileSort(so search.Sort) (sortKey, error) {
	switch so.Param {
	case "_id":
		return sortKey{field: "i", desc: so.Desc}, nil
	case "_lastUpdated":
		return sortKey{field: "ts", desc: so.Desc}, nil
	}
	switch so.Type {
	case search.TypeDate, search.TypeNumber, search.TypeQuantity, search.TypeString, search.TypeURI,
		search.TypeToken, search.TypeReference:
	default:
		return sortKey{}, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueInvalid, Expression: []string{"_sort"},
			Diagnostics: "the search parameter " + so.Param + " has type \"" + string(so.Type) + "\", which results cannot be sorted by"}}}
	}
	f := sortField(so.Param)
	k := sortKey{field: f + ".a", presence: f + ".h", desc: so.Desc}
	if so.Desc {
		k.field = f + ".d"
	}
	return k, nil
}

// matcher returns the compiled clauses for type t.
func (p *plan) matcher(ctx context.Context, t fhir.ResourceType) (*match.Matcher, error) {
	if m := p.matchers[t]; m != nil {
		return m, nil
	}
	m, err := match.Compile(ctx, t, p.q.Clauses, p.now, match.Resolver{
		Chain: func(ctx context.Context, ch *search.Chain) (map[string]bool, error) {
			if set, ok := p.chains[ch]; ok {
				return set, nil
			}
			docs, err := p.s.matchAll(ctx, ch.Targets, []search.Clause{ch.Clause}, false)
			if err != nil {
				return nil, err
			}
			set := make(map[string]bool, len(docs))
			for _, d := range docs {
				set[d.Ref] = true
			}
			p.chains[ch] = set
			return set, nil
		},
		Has: func(ctx context.Context, t fhir.ResourceType, h *search.Has) (map[fhir.ID]bool, error) {
			set, ok := p.hases[hasKey{h, t}]
			if !ok {
				docs, err := p.s.matchAll(ctx, []fhir.ResourceType{h.Type}, []search.Clause{h.Clause}, true)
				if err != nil {
					return nil, err
				}
				set = map[string]bool{}
				for _, d := range docs {
					idx, err := d.index()
					if err != nil {
						return nil, err
					}
					for _, r := range idx.References {
						if r.Param == h.Ref && r.Type == t && r.ID != "" {
							set[string(t)+"/"+string(r.ID)] = true
						}
					}
				}
				p.hases[hasKey{h, t}] = set
			}
			ids := make(map[fhir.ID]bool, len(set))
			for ref := range set {
				ids[fhir.ID(ref[strings.IndexByte(ref, '/')+1:])] = true
			}
			return ids, nil
		},
	})
	if err != nil {
		return nil, err
	}
	p.matchers[t] = m
	return m, nil
}

// matches reports whether candidate document d matches every clause.
func (p *plan) matches(ctx context.Context, d *resDoc) (bool, error) {
	if p.exact {
		return true, nil
	}
	m, err := p.matcher(ctx, fhir.ResourceType(d.Type))
	if err != nil {
		return false, err
	}
	c, err := candidate(d)
	if err != nil {
		return false, err
	}
	return m.Match(c), nil
}

// candidate returns the match candidate of d.
func candidate(d *resDoc) (*match.Candidate, error) {
	idx, err := d.index()
	if err != nil {
		return nil, err
	}
	return &match.Candidate{Type: fhir.ResourceType(d.Type), ID: fhir.ID(d.ID), LastUpdated: d.Updated, Index: idx}, nil
}

// run reads the page of the plan and its total.
func (p *plan) run(ctx context.Context) (*engine.SearchResult, error) {
	q, count := p.q, max(p.q.Count, 0)
	res := &engine.SearchResult{Total: -1}
	after := p.after
	var rows []*resDoc
	more := false
	if count > 0 {
		var err error
		if rows, more, err = p.page(ctx, after, count); err != nil {
			return nil, err
		}
		if after != nil && after.Before && !more {
			// Nothing is left before this page: it is the first page.
			after = nil
			if rows, more, err = p.page(ctx, nil, count); err != nil {
				return nil, err
			}
		}
		switch {
		case after != nil && after.Before:
			slices.Reverse(rows)
			res.Prev = p.encode(rows[0], true)
			res.Next = p.encode(rows[len(rows)-1], false)
		default:
			if more {
				res.Next = p.encode(rows[len(rows)-1], false)
			}
			if after != nil && len(rows) > 0 {
				res.Prev = p.encode(rows[0], true)
			}
		}
		for _, d := range rows {
			res.Resources = append(res.Resources, d.resource())
		}
	}
	switch {
	case q.Total == search.TotalNone:
	case count > 0 && after == nil && !more:
		res.Total = len(rows)
	case count == 0 || q.Total == search.TotalAccurate:
		n, err := p.count(ctx, -1)
		if err != nil {
			return nil, err
		}
		res.Total = n
	case q.Total == search.TotalEstimate:
		n, err := p.s.res.CountDocuments(ctx, p.filter)
		if err != nil {
			return nil, err
		}
		res.Total = int(n)
	default:
		// Counted when the database can count the matches alone, and
		// there are not many.
		if p.exact {
			n, err := p.count(ctx, defaultCountBound)
			if err != nil {
				return nil, err
			}
			if n < defaultCountBound {
				res.Total = n
			}
		}
	}
	return res, nil
}

// defaultCountBound bounds the matches that a search without _total
// counts.
const defaultCountBound = 1000

// count counts the matches, up to bound when bound > 0.
func (p *plan) count(ctx context.Context, bound int) (int, error) {
	if p.exact {
		o := options.Count()
		if bound > 0 {
			o.SetLimit(int64(bound))
		}
		n, err := p.s.res.CountDocuments(ctx, p.filter, o)
		return int(n), err
	}
	cur, err := p.s.res.Find(ctx, p.filter, options.Find().SetProjection(bson.D{{Key: "b", Value: 0}, {Key: "k", Value: 0}, {Key: "s", Value: 0}}))
	if err != nil {
		return 0, err
	}
	defer cur.Close(ctx)
	n := 0
	for cur.Next(ctx) {
		var d resDoc
		if err := cur.Decode(&d); err != nil {
			return 0, err
		}
		ok, err := p.matches(ctx, &d)
		if err != nil {
			return 0, err
		}
		if ok {
			n++
			if bound > 0 && n >= bound {
				break
			}
		}
	}
	return n, cur.Err()
}

// page reads up to count matches after (or before) the cursor c, in the
// query's order (reversed when reading before), and whether more follow.
func (p *plan) page(ctx context.Context, c *cursor, count int) ([]*resDoc, bool, error) {
	back := c != nil && c.Before
	filter := p.filter
	if c != nil {
		filter = and([]bson.D{filter, p.beyond(c, back)})
	}
	batch := int32(count + 1)
	if !p.exact {
		batch = int32(max(count+1, 100))
	}
	o := options.Find().SetSort(p.order(back)).SetBatchSize(batch).SetProjection(bson.D{{Key: "k", Value: 0}})
	if p.exact {
		o.SetLimit(int64(count + 1))
	}
	cur, err := p.s.res.Find(ctx, filter, o)
	if err != nil {
		return nil, false, err
	}
	defer cur.Close(ctx)
	var rows []*resDoc
	for cur.Next(ctx) {
		d := &resDoc{}
		if err := cur.Decode(d); err != nil {
			return nil, false, err
		}
		ok, err := p.matches(ctx, d)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			continue
		}
		if len(rows) == count {
			return rows, true, nil
		}
		rows = append(rows, d)
	}
	return rows, false, cur.Err()
}

// order returns the sort of a page (reversed when back).
func (p *plan) order(back bool) bson.D {
	dir := func(desc bool) int {
		if desc != back {
			return -1
		}
		return 1
	}
	var o bson.D
	for _, k := range p.keys {
		if k.presence != "" {
			// Present (1) before absent (null) in the query's order.
			o = append(o, bson.E{Key: k.presence, Value: dir(true)})
		}
		o = append(o, bson.E{Key: k.field, Value: dir(k.desc)})
	}
	return o
}

// beyond returns the condition that a document comes after the cursor's
// row in the query's order (before it, when back).
func (p *plan) beyond(c *cursor, back bool) bson.D {
	vals := c.row()
	var alts bson.A
	var eqs []bson.D
	for i, k := range p.keys {
		v := vals[i]
		if step := k.step(v, back); step != nil {
			alts = append(alts, and(append(slices.Clone(eqs), step)))
		}
		eqs = append(eqs, k.equal(v))
	}
	if len(alts) == 0 {
		return bson.D{{Key: "_id", Value: bson.D{{Key: "$exists", Value: false}}}}
	}
	return bson.D{{Key: "$or", Value: alts}}
}

// equal is the condition that a document's key k is v (nil: absent).
func (k sortKey) equal(v any) bson.D {
	if v == nil {
		return bson.D{{Key: k.presence, Value: bson.D{{Key: "$exists", Value: false}}}}
	}
	return bson.D{{Key: k.field, Value: v}}
}

// step is the condition that a document's key k comes strictly after v in
// the query's order (before it, when back); nil when none can.
func (k sortKey) step(v any, back bool) bson.D {
	op := "$gt"
	if k.desc != back {
		op = "$lt"
	}
	beyond := bson.D{{Key: k.field, Value: bson.D{{Key: op, Value: v}}}}
	switch {
	case k.presence == "":
		return beyond
	case v == nil && back:
		// Before an absent key: every present one.
		return bson.D{{Key: k.presence, Value: 1}}
	case v == nil:
		return nil
	case back:
		return beyond
	}
	// After a present key: greater ones, then the absent.
	return bson.D{{Key: "$or", Value: bson.A{beyond, bson.D{{Key: k.presence, Value: bson.D{{Key: "$exists", Value: false}}}}}}}
}

// rowKeys returns d's values of the plan's keys (nil: absent).
func (p *plan) rowKeys(d *resDoc) []any {
	out := make([]any, len(p.keys))
	for i, k := range p.keys {
		switch k.field {
		case "i":
			out[i] = d.ID
		case "ts":
			out[i] = d.Updated
		case "c":
			out[i] = d.Created
		case "_id":
			out[i] = d.Ref
		default:
			// s.<param>.a or .d
			name := k.field[2 : len(k.field)-2]
			if sd, ok := d.Sort[name]; ok {
				if k.field[len(k.field)-1] == 'a' {
					out[i] = sd.Asc
				} else {
					out[i] = sd.Desc
				}
			}
		}
	}
	return out
}

// compareRows compares two rows' keys in the query's order.
func (p *plan) compareRows(a, b []any) int {
	for i, k := range p.keys {
		x, y := a[i], b[i]
		switch {
		case x == nil && y == nil:
			continue
		case x == nil:
			return 1
		case y == nil:
			return -1
		}
		c := compareValues(x, y)
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// compareValues compares two key values of one kind.
func compareValues(x, y any) int {
	switch x := x.(type) {
	case string:
		if y, ok := y.(string); ok {
			return strings.Compare(x, y)
		}
	case int64:
		switch y := y.(type) {
		case int64:
			return cmp.Compare(x, y)
		case float64:
			return cmp.Compare(float64(x), y)
		}
	case float64:
		switch y := y.(type) {
		case float64:
			return cmp.Compare(x, y)
		case int64:
			return cmp.Compare(x, float64(y))
		}
	case int32:
		return compareValues(int64(x), y)
	}
	if y, ok := y.(int32); ok {
		return compareValues(x, int64(y))
	}
	return 0
}

// matchAll returns every current resource of types (any type when empty)
// matching clauses, without their bodies (nor their indexes unless
// withIndex).
func (s *Store) matchAll(ctx context.Context, types []fhir.ResourceType, clauses []search.Clause, withIndex bool) ([]*resDoc, error) {
	p, err := s.plan(ctx, &search.Query{Types: types, Clauses: clauses})
	if err != nil {
		return nil, err
	}
	proj := bson.D{{Key: "b", Value: 0}, {Key: "k", Value: 0}}
	if p.exact && !withIndex {
		proj = append(proj, bson.E{Key: "x", Value: 0})
	}
	cur, err := s.res.Find(ctx, p.filter, options.Find().SetProjection(proj))
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	var out []*resDoc
	for cur.Next(ctx) {
		d := &resDoc{}
		if err := cur.Decode(d); err != nil {
			return nil, err
		}
		ok, err := p.matches(ctx, d)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, d)
		}
	}
	return out, cur.Err()
}

// Search, in a transaction, sees what the transaction put: the store's
// matches, less the resources the transaction replaced, plus those of
// its versions that match, ordered and paged in the server. It holds the
// commit lock exclusively from then on (write.go).
func (t *tx) Search(ctx context.Context, q *search.Query) (*engine.SearchResult, error) {
	p, err := t.s.plan(ctx, q)
	if err != nil {
		return nil, err
	}
	if !t.exclusive {
		if err := t.s.lockExclusive(ctx, t.id); err != nil {
			return nil, err
		}
		t.exclusive = true
	}
	docs, err := t.s.matchAll(ctx, q.Types, q.Clauses, true)
	if err != nil {
		return nil, storeErr("search", err)
	}
	var all []*resDoc
	for _, d := range docs {
		if t.cur[d.Ref] == nil {
			all = append(all, d)
		}
	}
	for _, put := range t.puts {
		d := put.Res
		if t.cur[d.Ref] != put || d.Deleted || len(q.Types) > 0 && !slices.Contains(q.Types, fhir.ResourceType(d.Type)) {
			continue
		}
		m, err := p.matcher(ctx, fhir.ResourceType(d.Type))
		if err != nil {
			return nil, err
		}
		c, err := candidate(d)
		if err != nil {
			return nil, err
		}
		if m.Match(c) {
			all = append(all, d)
		}
	}
	// The bodies of the store's matches were not read: read those of the
	// page only.
	keys := make([][]any, len(all))
	for i, d := range all {
		keys[i] = p.rowKeys(d)
	}
	order := make([]int, len(all))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return p.compareRows(keys[a], keys[b]) })
	count := max(q.Count, 0)
	res := &engine.SearchResult{Total: -1}
	if q.Total != search.TotalNone {
		res.Total = len(all)
	}
	if count == 0 {
		return res, nil
	}
	start, end := 0, len(order)
	if c := p.after; c != nil {
		row := c.row()
		if c.Before {
			end, _ = slices.BinarySearchFunc(order, row, func(i int, r []any) int { return p.compareRows(keys[i], r) })
			start = max(end-count, 0)
			if start == 0 {
				end = min(count, len(order))
			}
		} else {
			pos, found := slices.BinarySearchFunc(order, row, func(i int, r []any) int { return p.compareRows(keys[i], r) })
			if found {
				pos++
			}
			start = pos
		}
	}
	end = min(end, start+count, len(order))
	page := order[start:end]
	if end < len(order) {
		res.Next = p.encode(all[page[len(page)-1]], false)
	}
	if start > 0 && len(page) > 0 {
		res.Prev = p.encode(all[page[0]], true)
	}
	for _, i := range page {
		d := all[i]
		if d.Body == nil && !d.Deleted {
			full, err := t.s.readDoc(ctx, d.Ref)
			if err != nil {
				return nil, err
			}
			if full != nil {
				d = full
			}
		}
		res.Resources = append(res.Resources, d.resource())
	}
	return res, nil
}

// A search cursor is the position of a row in the search's order: its
// sort keys, creation sequence and reference, for the page after it (or
// before it). It reads "m1.<base64url of BSON>"; the BSON holds the
// query's fingerprint, so that a cursor of one search is refused by
// another.
const cursorVersion = "m1."

// cursor is a decoded search cursor.
type cursor struct {
	Q      string `bson:"q"`
	Keys   bson.A `bson:"k"`
	Before bool   `bson:"b,omitempty"`
}

// row returns the cursor's key values, bson.Null as nil.
func (c *cursor) row() []any {
	out := make([]any, len(c.Keys))
	for i, v := range c.Keys {
		if _, null := v.(bson.Null); !null {
			out[i] = v
		}
	}
	return out
}

// encode returns the cursor of the page after row d (before it, when
// before).
func (p *plan) encode(d *resDoc, before bool) string {
	keys := p.rowKeys(d)
	b, err := bson.Marshal(&cursor{Q: p.fp, Keys: bson.A(keys), Before: before})
	if err != nil {
		return ""
	}
	return cursorVersion + base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor decodes s, a cursor of the search fingerprinted fp with
// nsort sort keys.
func decodeCursor(s, fp string, nsort int) (*cursor, error) {
	rest, ok := strings.CutPrefix(s, cursorVersion)
	if !ok {
		return nil, badCursor()
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, badCursor()
	}
	var c cursor
	if err := bson.Unmarshal(b, &c); err != nil || c.Q != fp || len(c.Keys) != nsort+2 {
		return nil, badCursor()
	}
	return &c, nil
}

// badCursor is the error of a cursor that is not one of the search's.
func badCursor() error {
	return &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueInvalid, Diagnostics: "the paging cursor is not valid for this search", Expression: []string{engine.CursorParam}}}}
}

// fingerprint identifies what a search selects and how it orders.
func fingerprint(q *search.Query) string {
	b, err := json.Marshal(struct {
		T []fhir.ResourceType
		C []search.Clause
		S []search.Sort
	}{q.Types, q.Clauses, q.Sort})
	if err != nil {
		b = []byte(err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
