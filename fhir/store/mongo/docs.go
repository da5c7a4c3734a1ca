package mongo

import (
	"fmt"
	"math"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// resDoc is a document of the resources collection: the current version
// of one resource, with its search values. Its _id is "Type/id", so that a
// read is a lookup by _id (the shard key of a sharded cluster).
type resDoc struct {
	Ref     string `bson:"_id"`
	Type    string `bson:"t"`
	ID      string `bson:"i"`
	Version int64  `bson:"v"`
	// Updated is lastUpdated in Unix milliseconds.
	Updated int64  `bson:"ts"`
	Method  string `bson:"m"`
	Deleted bool   `bson:"del"`
	Body    []byte `bson:"b,omitempty"`
	// Created orders resources by creation (the seq of version 1).
	Created int64 `bson:"c"`
	// Keys are the equality keys of the search values (keys.go): an
	// array of scalars, so that one multikey index serves every token,
	// reference, uri and exact string clause, on MongoDB and FerretDB
	// alike.
	Keys []string `bson:"k,omitempty"`
	// Sort holds, per parameter with a value, the keys it sorts by.
	Sort map[string]sortDoc `bson:"s,omitempty"`
	// Index is the whole index, for the exact test of every clause, as
	// BSON in a binary field: FerretDB refuses infinite numbers in
	// documents, which open ranges hold.
	Index []byte `bson:"x,omitempty"`
	// idx is Index decoded.
	idx *search.Index
}

// encodeIndex returns idx as stored in resDoc.Index.
func encodeIndex(idx *search.Index) ([]byte, error) {
	if idx == nil {
		return nil, nil
	}
	return bson.Marshal(idx)
}

// index returns the decoded index of d (empty when it has none).
func (d *resDoc) index() (*search.Index, error) {
	if d.idx == nil {
		d.idx = &search.Index{}
		if len(d.Index) > 0 {
			if err := bson.Unmarshal(d.Index, d.idx); err != nil {
				return nil, fmt.Errorf("mongodb: the search values of %s cannot be read: %w", d.Ref, err)
			}
		}
	}
	return d.idx, nil
}

// sortDoc is the sort key of one parameter: its lowest value for an
// ascending sort and its highest for a descending one. H is always 1: a
// resource without a value has no sortDoc, and sorting on H descending
// puts it last in either direction.
type sortDoc struct {
	H    int `bson:"h"`
	Asc  any `bson:"a"`
	Desc any `bson:"d"`
}

// verDoc is a document of the versions collection: one version of a
// resource. Its _id is "Type/id/version".
type verDoc struct {
	Key     string `bson:"_id"`
	Ref     string `bson:"r"`
	Type    string `bson:"t"`
	ID      string `bson:"i"`
	Version int64  `bson:"v"`
	Updated int64  `bson:"ts"`
	// Seq orders history: lastUpdated, then the order of the writes in
	// their transaction (seqOf).
	Seq    int64  `bson:"q"`
	Method string `bson:"m"`
	Body   []byte `bson:"b,omitempty"`
	// Ended is the lastUpdated of the next version, set when it is
	// written (for _at); absent for the current version.
	Ended *int64 `bson:"te,omitempty"`
}

// seqOf returns the sequence number of the i-th write of a transaction
// stamped at ms: sequence numbers order versions by lastUpdated, and
// within one transaction by the order of its writes (ties between two
// transactions of the same millisecond go by _id).
func seqOf(ms int64, i int) int64 { return ms<<20 | int64(i&(1<<20-1)) }

// verKey returns the _id of version v of ref.
func verKey(ref string, v int64) string { return ref + "/" + itoa(v) }

// resource returns the fhir.Resource of a current-version document.
func (d *resDoc) resource() *fhir.Resource {
	return &fhir.Resource{Type: fhir.ResourceType(d.Type), ID: fhir.ID(d.ID), Version: d.Version,
		LastUpdated: fromMillis(d.Updated), Method: fhir.Method(d.Method), Deleted: d.Deleted, Body: d.Body}
}

// resource returns the fhir.Resource of a version document.
func (d *verDoc) resource() *fhir.Resource {
	return &fhir.Resource{Type: fhir.ResourceType(d.Type), ID: fhir.ID(d.ID), Version: d.Version,
		LastUpdated: fromMillis(d.Updated), Method: fhir.Method(d.Method), Deleted: d.Body == nil, Body: d.Body}
}

// The kinds of equality keys. A key is kind, parameter and value joined
// by keySep, a byte that no parameter code, system or code contains.
const (
	keySep         = "\x1f"
	kindPresent    = "p" // the parameter has a value: p␟param
	kindToken      = "t" // a code in a system (or in none): t␟param␟system␟code
	kindTokenCode  = "c" // a code of any system: c␟param␟code
	kindTokenSys   = "s" // any code of a system: s␟param␟system
	kindRef        = "r" // a literal reference: r␟param␟Type/id
	kindRefURL     = "u" // an absolute or canonical URL: u␟param␟url
	kindURI        = "i" // a uri value: i␟param␟value
	kindStringFold = "x" // a folded string: x␟param␟value
)

// key joins a key's parts.
func key(kind string, parts ...string) string {
	var b strings.Builder
	b.WriteString(kind)
	for _, p := range parts {
		b.WriteString(keySep)
		b.WriteString(p)
	}
	return b.String()
}

// sortField returns the field of the sort keys of param. Parameter codes
// never hold '$', but custom ones could hold '.', which MongoDB reads as a
// path.
func sortField(param string) string {
	return "s." + strings.NewReplacer(".", "%2E", "$", "%24").Replace(param)
}

// keysOf returns the equality keys of idx, without repeats.
func keysOf(idx *search.Index) []string {
	if idx == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, t := range idx.Tokens {
		add(key(kindPresent, t.Param))
		if t.Code == "" && t.System == "" {
			continue
		}
		if t.Code != "" {
			add(key(kindToken, t.Param, t.System, t.Code))
			add(key(kindTokenCode, t.Param, t.Code))
		}
		add(key(kindTokenSys, t.Param, t.System))
	}
	for _, s := range idx.Strings {
		add(key(kindPresent, s.Param))
		add(key(kindStringFold, s.Param, s.Value))
	}
	for _, d := range idx.Dates {
		add(key(kindPresent, d.Param))
	}
	for _, n := range idx.Numbers {
		add(key(kindPresent, n.Param))
	}
	for _, q := range idx.Quantities {
		add(key(kindPresent, q.Param))
	}
	for _, r := range idx.References {
		add(key(kindPresent, r.Param))
		if r.Type != "" && r.ID != "" {
			add(key(kindRef, r.Param, string(r.Type)+"/"+string(r.ID)))
		}
		if r.URL != "" {
			add(key(kindRefURL, r.Param, r.URL))
		}
	}
	for _, u := range idx.URIs {
		add(key(kindPresent, u.Param))
		add(key(kindURI, u.Param, u.Value))
	}
	for _, c := range idx.Composites {
		add(key(kindPresent, c.Param))
	}
	return out
}

// sortsOf returns the sort keys of idx: for each parameter, its lowest and
// highest value as the SQLite adapter sorts them (dates and numbers by the
// low end ascending and the high end descending, strings folded, tokens by
// code, references by their text).
func sortsOf(idx *search.Index) map[string]sortDoc {
	if idx == nil {
		return nil
	}
	out := map[string]sortDoc{}
	str := func(param, lo, hi string) {
		f := sortField(param)[2:]
		d, ok := out[f]
		if !ok {
			out[f] = sortDoc{H: 1, Asc: lo, Desc: hi}
			return
		}
		if lo < d.Asc.(string) {
			d.Asc = lo
		}
		if hi > d.Desc.(string) {
			d.Desc = hi
		}
		out[f] = d
	}
	i64 := func(param string, lo, hi int64) {
		f := sortField(param)[2:]
		d, ok := out[f]
		if !ok {
			out[f] = sortDoc{H: 1, Asc: lo, Desc: hi}
			return
		}
		d.Asc, d.Desc = min(d.Asc.(int64), lo), max(d.Desc.(int64), hi)
		out[f] = d
	}
	f64 := func(param string, lo, hi float64) {
		// FerretDB refuses infinite numbers: an open end sorts as the
		// largest finite one.
		lo, hi = max(lo, -math.MaxFloat64), min(hi, math.MaxFloat64)
		f := sortField(param)[2:]
		d, ok := out[f]
		if !ok {
			out[f] = sortDoc{H: 1, Asc: lo, Desc: hi}
			return
		}
		d.Asc, d.Desc = min(d.Asc.(float64), lo), max(d.Desc.(float64), hi)
		out[f] = d
	}
	for _, t := range idx.Tokens {
		if t.Code != "" {
			str(t.Param, t.Code, t.Code)
		}
	}
	for _, s := range idx.Strings {
		str(s.Param, s.Value, s.Value)
	}
	for _, u := range idx.URIs {
		str(u.Param, u.Value, u.Value)
	}
	for _, r := range idx.References {
		txt := r.URL
		if txt == "" && r.Type != "" && r.ID != "" {
			txt = string(r.Type) + "/" + string(r.ID)
		}
		if txt != "" {
			str(r.Param, txt, txt)
		}
	}
	for _, d := range idx.Dates {
		i64(d.Param, d.Lo, d.Hi)
	}
	for _, n := range idx.Numbers {
		f64(n.Param, n.Lo, n.Hi)
	}
	for _, q := range idx.Quantities {
		f64(q.Param, q.Lo, q.Hi)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
