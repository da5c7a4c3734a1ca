package sqlite

import (
	"cmp"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Sorting. A resource's key for a parameter is its lowest value for an
// ascending sort and its highest for a descending one (the low end of a
// date's range and the high end, respectively); a resource without a value
// sorts after all that have one, ascending or descending. Ties are broken
// by the next key, and finally by rid (creation order), in the direction
// of the last key: so "-date" lists the newest first, and among equal
// dates the most recently created first.

// sortKey is a sort parameter compiled for one resource type.
type sortKey struct {
	desc bool
	// expr writes the key of the resource whose rid is the SQL expression
	// rid: NULL when it has none.
	expr func(q *sq, rid string)
	// walk, when set, is an index that lists the resources that have a
	// key in key order.
	walk *keyWalk
}

// keyWalk is an index walk in key order.
type keyWalk struct {
	// from writes "table alias WHERE conditions": one row per resource
	// that has a key, with the key in column col, in index order (col,
	// rid).
	from func(q *sq, alias string)
	col  string
	// k is the paramcount key of the resources that have a key; 0 when
	// every resource has one.
	k int64
	// missing writes the condition that the resource rid has no key.
	missing func(q *sq, rid string)
}

// sortColumns are the columns that hold the sort value of each parameter
// type, low and high, and whether an index serves them.
var sortColumns = map[search.ParamType]struct {
	lo, hi string
	walk   bool
}{
	search.TypeDate:      {"lo", "hi", true},
	search.TypeNumber:    {"lo", "hi", true},
	search.TypeQuantity:  {"lo", "hi", true},
	search.TypeString:    {"value", "value", true},
	search.TypeURI:       {"value", "value", true},
	search.TypeToken:     {"code", "code", false},
	search.TypeReference: {"txt", "txt", false},
}

// compileSort compiles sort key s for resource type t.
func (c *searcher) compileSort(t fhir.ResourceType, s search.Sort) (*sortKey, error) {
	if s.Param == paramID || s.Param == paramLastUpdated {
		col := "id"
		if s.Param == paramLastUpdated {
			col = "updated"
		}
		a := c.alias()
		return &sortKey{desc: s.Desc,
			expr: func(q *sq, rid string) {
				q.w("(SELECT " + a + "." + col + " FROM resource " + a + " WHERE " + a + ".rid = " + rid + ")")
			},
			walk: &keyWalk{col: col, from: func(q *sq, w string) {
				q.w("resource "+w+" WHERE "+w+".type = ? AND "+w+".deleted = 0", string(t))
			}},
		}, nil
	}
	cols, ok := sortColumns[s.Type]
	table := valueTable[s.Type]
	if !ok {
		return nil, invalidSearch("_sort", "the search parameter %s has type %q, which results cannot be sorted by", s.Param, s.Type)
	}
	col, agg, flag := cols.lo, "min", flagMin
	if s.Desc {
		col, agg, flag = cols.hi, "max", flagMax
	}
	own := search.SortedBy(t, s.Param)
	if own == "" {
		// The key over the rows of all the parts (see union); no index
		// lists them in that order.
		parts := search.UnionOf(t, s.Param)
		ks := make([]any, len(parts))
		for i, p := range parts {
			ks[i] = paramKey(t, p)
		}
		a := c.alias()
		return &sortKey{desc: s.Desc, expr: func(q *sq, rid string) {
			q.w("(SELECT " + agg + "(" + a + "." + col + ") FROM " + table + " " + a + " WHERE " + a + ".rid = " + rid + " AND " + a + ".k IN ").in(ks).w(")")
		}}, nil
	}
	// A parameter's own rows, or those of the union among its own parts
	// that it sorts as, which hold its lowest and highest value.
	k := paramKey(t, own)
	a, m := c.alias(), c.alias()
	key := &sortKey{desc: s.Desc, expr: func(q *sq, rid string) {
		q.w("(SELECT "+agg+"("+a+"."+col+") FROM "+table+" "+a+" WHERE "+a+".rid = "+rid+" AND "+a+".k = ?)", k)
	}}
	if cols.walk {
		key.walk = &keyWalk{col: col, k: k,
			from: func(q *sq, w string) {
				q.w(table+" "+w+" WHERE "+w+".k = ? AND ("+w+".f & ?) != 0", k, flag)
			},
			missing: func(q *sq, rid string) {
				q.w("NOT EXISTS (SELECT 1 FROM "+table+" "+m+" WHERE "+m+".rid = "+rid+" AND "+m+".k = ?)", k)
			}}
	}
	return key, nil
}

// orderBy writes the ORDER BY of a page: the keys from the one at from
// (those before are constant), named by exprs, missing keys last (but the
// first, when the page holds only resources that have it), then rid. When
// back is set (a page read backwards, before a cursor) the order is the
// exact reverse.
func orderBy(q *sq, keys []*sortKey, exprs []string, rid string, from int, firstNeverNull, back bool) {
	dir := func(desc bool) {
		if desc != back {
			q.w(" DESC")
		}
	}
	q.w(" ORDER BY ")
	for i := from; i < len(keys); i++ {
		if i > 0 || !firstNeverNull {
			q.w("(" + exprs[i] + " IS NULL)")
			dir(false)
			q.w(", ")
		}
		q.w(exprs[i])
		dir(keys[i].desc)
		q.w(", ")
	}
	q.w(rid)
	dir(ridDesc(keys))
}

// ridDesc reports whether ties end in descending rid order: when the
// last key is descending.
func ridDesc(keys []*sortKey) bool {
	return len(keys) > 0 && keys[len(keys)-1].desc
}

// ridAfter writes the condition that rid (an SQL expression) comes after
// the cursor's rid in the order of keys (before it, when the cursor asks
// for the page before).
func ridAfter(q *sq, keys []*sortKey, rid string, at *cursor) {
	if ridDesc(keys) != at.before {
		q.w(" AND "+rid+" < ?", at.rid)
	} else {
		q.w(" AND "+rid+" > ?", at.rid)
	}
}

// keyset writes the condition that a row comes after the cursor (before
// it, for a cursor that asks for the page before): its keys (exprs) and
// rid (ridExpr) are after those of the cursor's row in the order of keys.
// Without a cursor it writes true.
func keyset(q *sq, keys []*sortKey, exprs []func(q *sq), ridExpr string, at *cursor) {
	if at == nil {
		q.w("1")
		return
	}
	// less: the order's comparison to the cursor's value is "<" (the
	// row is before it in SQL terms) for a descending key read forwards
	// or an ascending one read backwards.
	less := func(desc bool) bool { return desc != at.before }
	var terms []func(q *sq)
	for j := 0; j <= len(keys); j++ {
		if j < len(keys) && at.keys[j] == nil && !at.before {
			// Nothing comes after a missing key but rows also missing it,
			// which later terms hold.
			continue
		}
		terms = append(terms, func(q *sq) {
			q.w("(")
			for i := range j {
				exprs[i](q)
				q.w(" IS ? AND ", at.keys[i])
			}
			switch {
			case j == len(keys):
				op := " > ?"
				if less(ridDesc(keys)) {
					op = " < ?"
				}
				q.w(ridExpr+op, at.rid)
			case at.keys[j] == nil:
				// Before a missing key: every row that has one.
				exprs[j](q)
				q.w(" IS NOT NULL")
			case at.before:
				// Before a value: lesser (greater) values, never a
				// missing one.
				op := " > ?"
				if less(keys[j].desc) {
					op = " < ?"
				}
				exprs[j](q)
				q.w(op, at.keys[j])
			default:
				op := " > ? OR "
				if less(keys[j].desc) {
					op = " < ? OR "
				}
				q.w("(")
				exprs[j](q)
				q.w(op, at.keys[j])
				exprs[j](q)
				q.w(" IS NULL)")
			}
			q.w(")")
		})
	}
	q.or(terms)
}

// pageRow is one match of a page: its rid and sort keys.
type pageRow struct {
	rid  int64
	keys []any
	// grouped marks a row of a grouped page (search_group.go), listed in
	// group group of clause lead.
	grouped bool
	lead    int
	group   int64
}

// compareRows orders rows as the SQL of a page does, so that the pages of
// several resource types merge.
func compareRows(a, b pageRow, keys []*sortKey) int {
	for i, k := range keys {
		x, y := a.keys[i], b.keys[i]
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
	c := cmp.Compare(a.rid, b.rid)
	if ridDesc(keys) {
		c = -c
	}
	return c
}

// compareValues compares two non-NULL SQLite values as SQLite does:
// numbers before text, numbers by value, text byte by byte.
func compareValues(x, y any) int {
	xs, xText := x.(string)
	ys, yText := y.(string)
	switch {
	case xText && yText:
		return strings.Compare(xs, ys)
	case xText:
		return 1
	case yText:
		return -1
	}
	xi, xInt := x.(int64)
	yi, yInt := y.(int64)
	if xInt && yInt {
		return cmp.Compare(xi, yi)
	}
	return cmp.Compare(toFloat(x), toFloat(y))
}

func toFloat(v any) float64 {
	switch v := v.(type) {
	case int64:
		return float64(v)
	case float64:
		return v
	}
	return 0
}
