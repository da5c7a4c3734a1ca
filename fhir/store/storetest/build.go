package storetest

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// The suite builds index values and queries by hand, as the extractor and
// the parser would produce them, so that it tests the store alone. This
// file has the builders.

// withMeta returns a copy of idx with the values the engine adds to every
// index: the resource's _id and its _lastUpdated (an instant, to the
// millisecond). A deletion has no index.
func withMeta(r *fhir.Resource, idx *search.Index) *search.Index {
	if idx == nil || r.Deleted {
		return idx
	}
	c := *idx
	c.Tokens = append(slices.Clip(idx.Tokens), search.Token{Param: "_id", Code: string(r.ID)})
	ms := r.LastUpdated.UnixMilli()
	c.Dates = append(slices.Clip(idx.Dates), search.Date{Param: "_lastUpdated", Lo: ms, Hi: ms + 1})
	return &c
}

// fixture is a resource to write with its index, built value by value.
type fixture struct {
	typ fhir.ResourceType
	id  fhir.ID
	idx search.Index
}

// fx starts a fixture typ/id with an empty index.
func fx(typ fhir.ResourceType, id fhir.ID) *fixture { return &fixture{typ: typ, id: id} }

// tok adds a token system|code.
func (f *fixture) tok(param, system, code string) *fixture {
	f.idx.Tokens = append(f.idx.Tokens, search.Token{Param: param, System: system, Code: code})
	return f
}

// tokText adds a token system|code with a display (folded here, as the
// extractor does).
func (f *fixture) tokText(param, system, code, text string) *fixture {
	f.idx.Tokens = append(f.idx.Tokens, search.Token{Param: param, System: system, Code: code, Text: search.Fold(text)})
	return f
}

// str adds a string value as written.
func (f *fixture) str(param, exact string) *fixture {
	f.idx.Strings = append(f.idx.Strings, search.String{Param: param, Value: search.Fold(exact), Exact: exact})
	return f
}

// date adds a date at the precision it is written with (see span).
func (f *fixture) date(param, value string) *fixture {
	lo, hi := span(value)
	f.idx.Dates = append(f.idx.Dates, search.Date{Param: param, Lo: lo, Hi: hi})
	return f
}

// period adds a period from the start of start to the end of end, each at
// its precision; "" is an open end.
func (f *fixture) period(param, start, end string) *fixture {
	d := search.Date{Param: param, Lo: search.MinTime, Hi: search.MaxTime}
	if start != "" {
		d.Lo, _ = span(start)
	}
	if end != "" {
		_, d.Hi = span(end)
	}
	f.idx.Dates = append(f.idx.Dates, d)
	return f
}

// dateRange adds a date as milliseconds [lo, hi).
func (f *fixture) dateRange(param string, lo, hi int64) *fixture {
	f.idx.Dates = append(f.idx.Dates, search.Date{Param: param, Lo: lo, Hi: hi})
	return f
}

// num adds a number [lo, hi] (lo = hi for a single value).
func (f *fixture) num(param string, lo, hi float64) *fixture {
	f.idx.Numbers = append(f.idx.Numbers, search.Number{Param: param, Lo: lo, Hi: hi})
	return f
}

// qty adds a quantity value with its unit and, when canonicalCode is not
// empty, its value in the canonical unit (value × factor).
func (f *fixture) qty(param string, value float64, system, code, unit, canonicalCode string, factor float64) *fixture {
	q := search.Quantity{Param: param, Lo: value, Hi: value, System: system, Code: code, Unit: unit}
	if canonicalCode != "" {
		q.CanonicalCode, q.CanonicalLo, q.CanonicalHi = canonicalCode, value*factor, value*factor
	}
	f.idx.Quantities = append(f.idx.Quantities, q)
	return f
}

// ref adds a literal reference to typ/id.
func (f *fixture) ref(param string, typ fhir.ResourceType, id fhir.ID) *fixture {
	f.idx.References = append(f.idx.References, search.Reference{Param: param, Type: typ, ID: id})
	return f
}

// refValue adds a reference value as the extractor would make it.
func (f *fixture) refValue(r search.Reference) *fixture {
	f.idx.References = append(f.idx.References, r)
	return f
}

// uri adds a uri value.
func (f *fixture) uri(param, value string) *fixture {
	f.idx.URIs = append(f.idx.URIs, search.URI{Param: param, Value: value})
	return f
}

// comp adds a composite value of the parts.
func (f *fixture) comp(param string, parts ...search.Part) *fixture {
	f.idx.Composites = append(f.idx.Composites, search.Composite{Param: param, Parts: parts})
	return f
}

// fixtureVersion is a version with its index.
type fixtureVersion struct {
	r   *fhir.Resource
	idx *search.Index
}

// version returns version v of the fixture with a body that names it.
func (f *fixture) version(v int64) (*fhir.Resource, *search.Index) {
	body, _ := json.Marshal(map[string]any{"resourceType": f.typ, "id": f.id, "meta": map[string]string{"versionId": fmt.Sprint(v)}})
	method := fhir.MethodPut
	if v == 1 {
		method = fhir.MethodPost
	}
	idx := f.idx
	return &fhir.Resource{Type: f.typ, ID: f.id, Version: v, Method: method, Body: body}, &idx
}

// span returns the range of a FHIR date, dateTime or instant at its
// precision, in Unix milliseconds: "2024" is all of 2024,
// "2024-03-15T10:00:00Z" one second, "2024-03-15T10:00:00.250Z" one
// millisecond.
func span(s string) (lo, hi int64) {
	layouts := []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01-02T15:04:05Z07:00", func(t time.Time) time.Time { return t.Add(time.Second) }},
		{"2006-01-02T15:04:05.000Z07:00", func(t time.Time) time.Time { return t.Add(time.Millisecond) }},
	}
	for _, l := range layouts {
		if strings.Contains(s, ".") != strings.Contains(l.layout, ".") {
			continue
		}
		if t, err := time.Parse(l.layout, s); err == nil {
			return t.UnixMilli(), l.next(t).UnixMilli()
		}
	}
	panic("storetest: not a date: " + s)
}

// Query builders.

// sq returns a search of typ (none: every type) with the clauses.
func sq(types []fhir.ResourceType, clauses ...search.Clause) *search.Query {
	return &search.Query{Types: types, Clauses: clauses}
}

// of returns a one-type list.
func of(t ...fhir.ResourceType) []fhir.ResourceType { return t }

// tokenClause is a token clause with a modifier.
func tokenClause(param string, mod search.Modifier, values ...search.Value) search.Clause {
	return search.Clause{Param: param, Type: search.TypeToken, Modifier: mod, Values: values}
}

// sc is the token value system|code ("|code" when system is empty,
// "system|" when code is).
func sc(system, code string) search.Value { return search.Value{System: &system, Code: code} }

// code is the token value code, of any system.
func code(c string) search.Value { return search.Value{Code: c} }

// text is a :text or string value, folded.
func text(s string) search.Value { return search.Value{Text: search.Fold(s)} }

// stringClause is a string clause; values are folded but for :exact.
func stringClause(param string, mod search.Modifier, values ...string) search.Clause {
	c := search.Clause{Param: param, Type: search.TypeString, Modifier: mod}
	for _, v := range values {
		if mod != search.ModExact {
			v = search.Fold(v)
		}
		c.Values = append(c.Values, search.Value{Text: v})
	}
	return c
}

// dv is the date search value prefix+value at the value's precision.
func dv(prefix search.Prefix, value string) search.Value {
	lo, hi := span(value)
	return search.Value{Prefix: prefix, DateLo: lo, DateHi: hi}
}

// dateClause is a date clause.
func dateClause(param string, values ...search.Value) search.Clause {
	return search.Clause{Param: param, Type: search.TypeDate, Values: values}
}

// nv is the number search value prefix+value: its range is the value at
// its precision (100 is [99.5, 100.5), 100.0 is [99.95, 100.05)).
func nv(prefix search.Prefix, value string) search.Value {
	x, err := strconv.ParseFloat(value, 64)
	if err != nil {
		panic("storetest: not a number: " + value)
	}
	decimals := 0
	if i := strings.IndexByte(value, '.'); i >= 0 {
		decimals = len(value) - i - 1
	}
	half := 0.5 * math.Pow(10, -float64(decimals))
	return search.Value{Prefix: prefix, Num: x, NumLo: x - half, NumHi: x + half}
}

// nvExact is the number search value prefix+x as the parser sends it for
// gt, lt, ge, le, sa and eb: the range [x, the next float after x).
func nvExact(prefix search.Prefix, x float64) search.Value {
	return search.Value{Prefix: prefix, Num: x, NumLo: x, NumHi: math.Nextafter(x, math.Inf(1))}
}

// numberClause is a number clause.
func numberClause(param string, values ...search.Value) search.Clause {
	return search.Clause{Param: param, Type: search.TypeNumber, Values: values}
}

// qv is the quantity search value prefix+value|system|code; with
// canonicalCode, the value converts to it by factor.
func qv(prefix search.Prefix, value string, system *string, code, canonicalCode string, factor float64) search.Value {
	v := nv(prefix, value)
	v.System, v.Code = system, code
	if canonicalCode != "" {
		v.CanonicalCode = canonicalCode
		v.Canonical, v.CanonicalLo, v.CanonicalHi = v.Num*factor, v.NumLo*factor, v.NumHi*factor
	}
	return v
}

// quantityClause is a quantity clause.
func quantityClause(param string, values ...search.Value) search.Clause {
	return search.Clause{Param: param, Type: search.TypeQuantity, Values: values}
}

// refClause is a reference clause.
func refClause(param string, mod search.Modifier, values ...search.Value) search.Clause {
	return search.Clause{Param: param, Type: search.TypeReference, Modifier: mod, Values: values}
}

// rv is the reference value Type/id (id alone when typ is empty).
func rv(typ fhir.ResourceType, id fhir.ID) search.Value { return search.Value{Type: typ, ID: id} }

// uriClause is a uri clause.
func uriClause(param string, mod search.Modifier, values ...string) search.Clause {
	c := search.Clause{Param: param, Type: search.TypeURI, Modifier: mod}
	for _, v := range values {
		c.Values = append(c.Values, search.Value{Text: v})
	}
	return c
}

// missing is a :missing clause.
func missing(param string, typ search.ParamType, want bool) search.Clause {
	return search.Clause{Param: param, Type: typ, Missing: &want}
}

// chain is the chained clause param:target.inner (targets may be
// several).
func chain(param string, targets []fhir.ResourceType, inner search.Clause) search.Clause {
	return search.Clause{Param: param, Type: search.TypeReference, Chain: &search.Chain{Targets: targets, Clause: inner}}
}

// has is the reverse chain _has:typ:ref:inner.
func has(typ fhir.ResourceType, ref string, inner search.Clause) search.Clause {
	return search.Clause{Param: "_has", Type: search.TypeSpecial, Has: &search.Has{Type: typ, Ref: ref, Clause: inner}}
}

// compositeClause is a composite clause whose values each have the given
// components.
func compositeClause(param string, values ...[]search.Value) search.Clause {
	c := search.Clause{Param: param, Type: search.TypeComposite}
	for _, comps := range values {
		c.Values = append(c.Values, search.Value{Components: comps})
	}
	return c
}

// query builds a search of typ from a query string of _id and identifier
// parameters ("identifier=s|a&_id=x,y"), as the parser would: repeated
// parameters AND, commas OR, "\," "\|" and "\\" escapes.
func query(t interface{ Fatalf(string, ...any) }, typ fhir.ResourceType, raw string) *search.Query {
	q := &search.Query{Types: []fhir.ResourceType{typ}}
	if raw == "" {
		return q
	}
	for _, param := range strings.Split(raw, "&") {
		name, value, ok := strings.Cut(param, "=")
		if !ok || (name != "_id" && name != "identifier") {
			t.Fatalf("query %q: %q is not an _id or identifier parameter", raw, param)
		}
		c := search.Clause{Param: name, Type: search.TypeToken}
		for _, alt := range splitEscaped(value, ',') {
			parts := splitEscaped(alt, '|')
			switch len(parts) {
			case 1:
				c.Values = append(c.Values, search.Value{Code: unescape(parts[0])})
			case 2:
				c.Values = append(c.Values, sc(unescape(parts[0]), unescape(parts[1])))
			default:
				t.Fatalf("query %q: %q has more than one |", raw, alt)
			}
		}
		q.Clauses = append(q.Clauses, c)
	}
	return q
}

// splitEscaped splits s on sep not preceded by a backslash, keeping
// escapes.
func splitEscaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unescape removes the backslashes of escapes.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
