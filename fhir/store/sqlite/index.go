package sqlite

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// The parameters every resource has, which the store answers from the
// resource row rather than from index values: the engine puts them in
// every Index, and the store skips them there.
const (
	paramID          = "_id"
	paramLastUpdated = "_lastUpdated"
)

// valueColumns are the columns of each value table, in the order the
// index writer gives them.
var valueColumns = map[string]string{
	"token":    "rid, k, v, sv, s, code, f",
	"string":   "rid, k, value, exact, f",
	"date":     "rid, k, lo, hi, f",
	"number":   "rid, k, lo, hi, f",
	"quantity": "rid, k, lo, hi, system, code, unit, cc, clo, chi, f",
	"ref":      "rid, k, th, u, ver, txt, f",
	"uri":      "rid, k, value, f",
	"comp":     "rid, k, e, i, t, v, sv, s, value, exact, lo, hi, system, code, unit, cc, clo, chi, th, u, ver, f",
}

// insertSQL returns the INSERT of n rows into table. The index writer
// inserts a resource's rows of a table in chunks of 1<<maxChunk, 1<<(maxChunk-1),
// ..., 1 rows: one statement for several rows costs much less than one a row.
//
// OR IGNORE keeps those statements out of SQLite's statement journal. A
// statement that writes several rows and may abort halfway (on a
// uniqueness or NOT NULL constraint, under the default ABORT) must be able
// to undo its own rows, so SQLite copies every page it changes to a
// sub-journal first, and closing it walks the sub-journal of an enclosing
// savepoint. A statement that cannot abort needs none of that: 6% of the
// writer's time on creates, and a large transaction run again in a
// savepoint (see runBatch) no longer grows quadratic. Nothing is lost:
// the writer removes duplicates before it inserts, and gives no NULL to a
// NOT NULL column.
func insertSQL(table string, n int) string {
	cols := valueColumns[table]
	row := "(" + strings.Repeat("?, ", strings.Count(cols, ",")) + "?)"
	return "INSERT OR IGNORE INTO " + table + " (" + cols + ") VALUES " + strings.Repeat(row+", ", n-1) + row
}

// maxChunk bounds the rows of one INSERT to 1<<maxChunk.
const maxChunk = 4

// deleteSQL deletes the rows of one resource from each value table;
// countedSQL lists first its parameters counted in paramcount (the rows
// flagged flagMin). No RETURNING: see sqlInsertResource.
var deleteSQL, countedSQL = func() (map[string]string, map[string]string) {
	del, counted := map[string]string{}, map[string]string{}
	for _, t := range valueTables {
		del[t] = `DELETE FROM ` + t + ` WHERE rid = ?`
		counted[t] = `SELECT k FROM ` + t + ` WHERE rid = ? AND f & ` + strconv.Itoa(flagMin) + ` != 0`
	}
	return del, counted
}()

// The sort-key flags of column f (see schema2).
const (
	flagMin = 1
	flagMax = 2
)

// The kinds of composite components (comp.t).
const (
	compToken = iota + 1
	compString
	compDate
	compNumber
	compQuantity
	compRef
	compURI
)

// indexWriter turns an Index into rows of the value tables, without
// duplicates and with their sort-key flags, and inserts them with exec,
// table by table.
type indexWriter struct {
	exec func(ctx context.Context, table string, rows [][]any) error
	// counted, when set, is called once per parameter the resource has a
	// value for.
	counted func(k int64)
	// dates, when set, is called once per date parameter the resource has
	// values of: n values, the longest span long.
	dates func(k int64, n int, span int64) error
}

// row is one row of a value table: its parameter key, the key that makes
// it distinct among the resource's rows, the key it sorts by, and its
// columns after rid.
type row struct {
	k    int64
	dup  any
	sort any
	cols []any
}

// write inserts the rows of idx for resource rid of type t. The values of
// a union parameter (search.UnionOf) that its parts have are not written
// (search.Stored): searches and sorts on the union read the parts' rows.
func (w *indexWriter) write(ctx context.Context, rid int64, t fhir.ResourceType, idx *search.Index) error {
	idx = search.Stored(t, idx)
	tables := map[string][]row{}
	for _, tok := range idx.Tokens {
		if tok.Param == paramID {
			continue
		}
		sv := tokenKey(t, tok.Param, tok.System, tok.Code)
		k := paramKey(t, tok.Param)
		tables["token"] = append(tables["token"], row{k: k, dup: sv, sort: tok.Code, cols: []any{k,
			tokenCodeKey(t, tok.Param, tok.Code), sv, tokenSystemKey(t, tok.Param, tok.System), tok.Code}})
		if tok.Text != "" {
			tk := paramKey(t, textParam(tok.Param))
			tables["string"] = append(tables["string"], row{k: tk, dup: tok.Text, sort: tok.Text,
				cols: []any{tk, tok.Text, tok.Text}})
		}
	}
	for _, s := range idx.Strings {
		k := paramKey(t, s.Param)
		tables["string"] = append(tables["string"], row{k: k, dup: s.Exact, sort: s.Value, cols: []any{k, s.Value, s.Exact}})
	}
	for _, d := range idx.Dates {
		if d.Param == paramLastUpdated {
			continue
		}
		k := paramKey(t, d.Param)
		tables["date"] = append(tables["date"], row{k: k, dup: [2]int64{d.Lo, d.Hi}, sort: [2]int64{d.Lo, d.Hi},
			cols: []any{k, d.Lo, d.Hi}})
	}
	for _, n := range idx.Numbers {
		if math.IsNaN(n.Lo) || math.IsNaN(n.Hi) {
			continue
		}
		k := paramKey(t, n.Param)
		tables["number"] = append(tables["number"], row{k: k, dup: [2]float64{n.Lo, n.Hi}, sort: [2]float64{n.Lo, n.Hi},
			cols: []any{k, n.Lo, n.Hi}})
	}
	for _, q := range idx.Quantities {
		if math.IsNaN(q.Lo) || math.IsNaN(q.Hi) {
			continue
		}
		k := paramKey(t, q.Param)
		cc, clo, chi := canonical(q)
		tables["quantity"] = append(tables["quantity"], row{k: k, dup: q, sort: [2]float64{q.Lo, q.Hi},
			cols: []any{k, q.Lo, q.Hi, q.System, q.Code, q.Unit, cc, clo, chi}})
	}
	for _, r := range idx.References {
		th, u, txt := refColumns(r)
		if th == nil && u == nil {
			continue
		}
		k := paramKey(t, r.Param)
		tables["ref"] = append(tables["ref"], row{k: k, dup: [4]any{th, u, r.Version}, sort: txt,
			cols: []any{k, th, u, r.Version, txt}})
	}
	for _, u := range idx.URIs {
		k := paramKey(t, u.Param)
		tables["uri"] = append(tables["uri"], row{k: k, dup: u.Value, sort: u.Value, cols: []any{k, u.Value}})
	}
	for table, rows := range tables {
		if err := w.insert(ctx, table, rid, rows); err != nil {
			return err
		}
	}
	return w.composites(ctx, rid, t, idx.Composites)
}

// insert writes rows into table, once each, flagging in each parameter
// the rows with the lowest and the highest sort key.
func (w *indexWriter) insert(ctx context.Context, table string, rid int64, rows []row) error {
	slices.SortStableFunc(rows, func(a, b row) int { return cmp.Compare(a.k, b.k) })
	var out [][]any
	for start := 0; start < len(rows); {
		end := start + 1
		for end < len(rows) && rows[end].k == rows[start].k {
			end++
		}
		group := rows[start:end]
		seen := make(map[any]bool, len(group))
		kept := group[:0]
		for _, r := range group {
			if !seen[r.dup] {
				seen[r.dup] = true
				kept = append(kept, r)
			}
		}
		lo, hi := 0, 0
		for i := range kept {
			if lessSort(kept[i].sort, kept[lo].sort, false) {
				lo = i
			}
			if lessSort(kept[hi].sort, kept[i].sort, true) {
				hi = i
			}
		}
		for i, r := range kept {
			f := 0
			if i == lo {
				f |= flagMin
			}
			if i == hi {
				f |= flagMax
			}
			args := make([]any, 0, len(r.cols)+2)
			out = append(out, append(append(append(args, rid), r.cols...), f))
			if f&flagMin != 0 && w.counted != nil {
				w.counted(r.k)
			}
		}
		if table == "date" && w.dates != nil {
			var span int64
			for _, r := range kept {
				d := r.sort.([2]int64)
				span = max(span, dateSpan(d[0], d[1]))
			}
			if err := w.dates(group[0].k, len(kept), span); err != nil {
				return err
			}
		}
		start = end
	}
	return w.exec(ctx, table, out)
}

// lessSort compares sort keys: ranges by their low end for the lowest key
// and by their high end for the highest (high).
func lessSort(a, b any, high bool) bool {
	switch a := a.(type) {
	case string:
		return a < b.(string)
	case [2]int64:
		b := b.([2]int64)
		if high {
			return a[1] < b[1]
		}
		return a[0] < b[0]
	case [2]float64:
		b := b.([2]float64)
		if high {
			return a[1] < b[1]
		}
		return a[0] < b[0]
	}
	return false
}

// composites writes one row per component of each composite value.
func (w *indexWriter) composites(ctx context.Context, rid int64, t fhir.ResourceType, comps []search.Composite) error {
	entries := map[string]int{}
	flagged := map[int64]bool{}
	var out [][]any
	for _, c := range comps {
		e := entries[c.Param]
		entries[c.Param] = e + 1
		k := paramKey(t, c.Param)
		for i, p := range c.Parts {
			cols := compColumns(t, compParam(c.Param, i), p)
			if cols == nil {
				continue
			}
			f := 0
			if !flagged[k] {
				f, flagged[k] = flagMin|flagMax, true
			}
			args := append([]any{rid, k, e, i}, cols...)
			out = append(out, append(args, f))
			if f != 0 && w.counted != nil {
				w.counted(k)
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return w.exec(ctx, "comp", out)
}

// compColumns returns the columns t to ver of comp for part p, hashing a
// token under param (the component's derived parameter); nil for an
// empty part.
func compColumns(t fhir.ResourceType, param string, p search.Part) []any {
	// t, v, sv, s, value, exact, lo, hi, system, code, unit, cc, clo, chi, th, u, ver
	c := make([]any, 17)
	switch {
	case p.Token != nil:
		c[0], c[1], c[2], c[3] = compToken, tokenCodeKey(t, param, p.Token.Code),
			tokenKey(t, param, p.Token.System, p.Token.Code), tokenSystemKey(t, param, p.Token.System)
		c[9] = p.Token.Code
	case p.String != nil:
		c[0], c[4], c[5] = compString, p.String.Value, p.String.Exact
	case p.Date != nil:
		c[0], c[6], c[7] = compDate, p.Date.Lo, p.Date.Hi
	case p.Number != nil:
		c[0], c[6], c[7] = compNumber, p.Number.Lo, p.Number.Hi
	case p.Quantity != nil:
		q := p.Quantity
		c[0], c[6], c[7], c[8], c[9], c[10] = compQuantity, q.Lo, q.Hi, q.System, q.Code, q.Unit
		c[11], c[12], c[13] = canonical(*q)
	case p.Reference != nil:
		th, u, _ := refColumns(*p.Reference)
		c[0], c[14], c[15], c[16] = compRef, th, u, p.Reference.Version
	case p.URI != nil:
		c[0], c[4] = compURI, p.URI.Value
	default:
		return nil
	}
	return c
}

// canonical returns the canonical columns of q: NULLs when its unit does
// not convert.
func canonical(q search.Quantity) (cc, clo, chi any) {
	if q.CanonicalCode == "" {
		return nil, nil, nil
	}
	return q.CanonicalCode, q.CanonicalLo, q.CanonicalHi
}

// refColumns returns the target key (NULL without a literal target), the
// URL key (NULL without a URL) and the text of r.
func refColumns(r search.Reference) (th, u any, txt string) {
	if r.Type != "" && r.ID != "" {
		th = refKey(r.Type, r.ID)
		txt = string(r.Type) + "/" + string(r.ID)
	}
	if r.URL != "" {
		u = urlKey(r.URL)
		txt = r.URL
	}
	return th, u, txt
}
