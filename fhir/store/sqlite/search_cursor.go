package sqlite

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// A search cursor is a position between two rows of a search's order: the
// sort keys and rid of the last row of a page, so that the next page
// starts after it by index, or of the first row of a page, so that the
// previous page ends before it (keyset paging, both ways: the same cost
// at any depth, and no match skipped or repeated when other resources
// change between pages). It reads
//
//	s1.<base64url of {"q": fingerprint, "k": [keys], "r": rid, "b": before}>
//
// where "s1" is the format's version, the fingerprint (a hash of the
// query's types, clauses and sort) ties the cursor to its search, each
// key is "i<integer>", "f<float>", "s<text>" or null (no value), and "b"
// (omitted when false) asks for the page before the row. The cursor of a
// grouped page (search_group.go) adds "l", its leading clause, and "g",
// the row's group.

// cursorVersion prefixes the cursors of this format.
const cursorVersion = "s1."

// cursor is a decoded search cursor: the page after the row (rid, keys),
// or the page before it.
type cursor struct {
	keys   []any
	rid    int64
	before bool
	// grouped: the row is of a grouped page led by clause lead, in group
	// group.
	grouped bool
	lead    int
	group   int64
}

type cursorJSON struct {
	Q string    `json:"q"`
	K []*string `json:"k"`
	R int64     `json:"r"`
	B bool      `json:"b,omitempty"`
	L *int      `json:"l,omitempty"`
	G int64     `json:"g,omitempty"`
}

// encodeCursor returns the cursor of the page after row (before it, when
// before is set) for the search fingerprinted fp.
func encodeCursor(fp string, row pageRow, before bool) string {
	c := cursorJSON{Q: fp, R: row.rid, K: make([]*string, len(row.keys)), B: before}
	if row.grouped {
		c.L, c.G = &row.lead, row.group
	}
	for i, k := range row.keys {
		var s string
		switch k := k.(type) {
		case nil:
			continue
		case int64:
			s = "i" + strconv.FormatInt(k, 10)
		case float64:
			s = "f" + strconv.FormatFloat(k, 'g', -1, 64)
		case string:
			s = "s" + k
		case []byte:
			s = "s" + string(k)
		default:
			continue
		}
		c.K[i] = &s
	}
	b, _ := json.Marshal(c) // strings and numbers only
	return cursorVersion + base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor decodes s, a cursor of the search fingerprinted fp with
// nkeys sort keys.
func decodeCursor(s, fp string, nkeys int) (*cursor, error) {
	bad := badCursor
	rest, ok := strings.CutPrefix(s, cursorVersion)
	if !ok {
		return nil, bad()
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, bad()
	}
	var c cursorJSON
	if err := json.Unmarshal(b, &c); err != nil || c.Q != fp || len(c.K) != nkeys || c.R < 1 {
		return nil, bad()
	}
	out := &cursor{rid: c.R, keys: make([]any, nkeys), before: c.B}
	if c.L != nil {
		if *c.L < 0 || nkeys > 0 {
			return nil, bad()
		}
		out.grouped, out.lead, out.group = true, *c.L, c.G
	}
	for i, k := range c.K {
		if k == nil {
			continue
		}
		if *k == "" {
			return nil, bad()
		}
		v := (*k)[1:]
		switch (*k)[0] {
		case 'i':
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, bad()
			}
			out.keys[i] = n
		case 'f':
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, bad()
			}
			out.keys[i] = f
		case 's':
			out.keys[i] = v
		default:
			return nil, bad()
		}
	}
	return out, nil
}

// badCursor is the error of a cursor that is not one of the search's.
func badCursor() error {
	return &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueInvalid, Diagnostics: "the paging cursor is not valid for this search", Expression: []string{engine.CursorParam}}}}
}

// fingerprint identifies what a search selects and how it orders: a
// cursor of one search is refused by another.
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
