package parse

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

var update = flag.Bool("update", false, "rewrite the expected results in testdata/vectors.json")

// vector is one case of testdata/vectors.json: a search request and the
// Query it parses into, or the issues of its error.
type vector struct {
	Name string `json:"name,omitempty"`
	// Query is "Type?params" for a type search, "?params" for a system
	// search, "Type1,Type2?params" for a system search allowing those
	// types.
	Query       string          `json:"query"`
	Strict      bool            `json:"strict,omitempty"`
	Conditional bool            `json:"conditional,omitempty"`
	Want        json.RawMessage `json:"want,omitempty"`
	Errors      []issueView     `json:"errors,omitempty"`
}

type issueView struct {
	Expression  string `json:"expression,omitempty"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics"`
}

// vectorBase is the server's base in the vectors.
const vectorBase = "https://cpms.example.org/fhir"

// vectorOptions are the options a vector is parsed with.
func vectorOptions(v *vector) Options {
	return Options{Strict: v.Strict, Conditional: v.Conditional, Base: vectorBase, DefaultCount: 20, MaxCount: 100}
}

// splitQuery splits a vector's query into its types and parameters.
func splitQuery(t *testing.T, s string) ([]fhir.ResourceType, url.Values) {
	t.Helper()
	path, raw, _ := strings.Cut(s, "?")
	var types []fhir.ResourceType
	if path != "" {
		for _, name := range strings.Split(path, ",") {
			types = append(types, fhir.ResourceType(name))
		}
	}
	params, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("bad query %q in the vectors: %v", s, err)
	}
	return types, params
}

func TestVectors(t *testing.T) {
	reg := testRegistry(t)
	file := filepath.Join("testdata", "vectors.json")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var vectors []vector
	if err := json.Unmarshal(b, &vectors); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	seen := map[string]bool{}
	for i := range vectors {
		v := &vectors[i]
		id := v.Query
		if v.Strict {
			id += " (strict)"
		}
		if v.Conditional {
			id += " (conditional)"
		}
		if seen[id] {
			t.Errorf("vector %s appears twice", id)
		}
		seen[id] = true
		types, params := splitQuery(t, v.Query)
		q, err := Parse(reg, types, params, vectorOptions(v))
		var gotWant json.RawMessage
		var gotErrors []issueView
		if err != nil {
			var fe *fhir.Error
			if !errors.As(err, &fe) || fe.Kind != fhir.KindInvalid || len(fe.Issues) == 0 {
				t.Errorf("%s: error %v is not a *fhir.Error of kind invalid with issues", v.Query, err)
				continue
			}
			for _, is := range fe.Issues {
				if is.Severity != fhir.SeverityError {
					t.Errorf("%s: issue %q has severity %s", v.Query, is.Diagnostics, is.Severity)
				}
				iv := issueView{Code: string(is.Code), Diagnostics: is.Diagnostics}
				if len(is.Expression) > 0 {
					iv.Expression = strings.Join(is.Expression, ",")
				}
				gotErrors = append(gotErrors, iv)
			}
		} else {
			gotWant = mustJSON(t, viewQuery(q))
		}
		if *update {
			v.Want, v.Errors = gotWant, gotErrors
			continue
		}
		switch {
		case v.Want == nil && v.Errors == nil:
			t.Errorf("%s: the vector has no expected result (run with -update)", v.Query)
		case err != nil && v.Errors == nil:
			t.Errorf("%s: unexpected error %v", v.Query, err)
		case err == nil && v.Errors != nil:
			t.Errorf("%s: no error, want %+v; got %s", v.Query, v.Errors, gotWant)
		case err != nil && !reflect.DeepEqual(gotErrors, v.Errors):
			t.Errorf("%s: issues\n got %+v\nwant %+v", v.Query, gotErrors, v.Errors)
		case err == nil && !sameJSON(t, gotWant, v.Want):
			t.Errorf("%s:\n got %s\nwant %s", v.Query, gotWant, compact(t, v.Want))
		}
	}
	if *update {
		writeVectors(t, file, vectors)
	}
	t.Logf("%d vectors", len(vectors))
}

// writeVectors writes the vectors one field a line, with each expected
// Query on one line, so that a change reads as a one-line diff.
func writeVectors(t *testing.T, file string, vectors []vector) {
	var buf bytes.Buffer
	field := func(name string, v any, last bool) {
		fmt.Fprintf(&buf, "  %q: %s", name, mustJSON(t, v))
		if !last {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("[\n")
	for i, v := range vectors {
		buf.WriteString(" {\n")
		if v.Name != "" {
			field("name", v.Name, false)
		}
		field("query", v.Query, false)
		if v.Strict {
			field("strict", true, false)
		}
		if v.Conditional {
			field("conditional", true, false)
		}
		if v.Want != nil {
			field("want", compact(t, v.Want), true)
		} else {
			buf.WriteString("  \"errors\": [\n")
			for j, is := range v.Errors {
				fmt.Fprintf(&buf, "   %s", mustJSON(t, is))
				if j < len(v.Errors)-1 {
					buf.WriteByte(',')
				}
				buf.WriteByte('\n')
			}
			buf.WriteString("  ]\n")
		}
		buf.WriteString(" }")
		if i < len(vectors)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]\n")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("marshalling %v: %v", v, err)
	}
	return json.RawMessage(bytes.TrimSpace(buf.Bytes()))
}

func compact(t *testing.T, b json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sameJSON(t *testing.T, a, b json.RawMessage) bool {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// The JSON view of a Query in the vectors: zero fields left out, dates as
// UTC instants, a nil token System left out and an empty one kept.

type queryView struct {
	Types      []fhir.ResourceType `json:"types,omitempty"`
	Clauses    []clauseView        `json:"clauses,omitempty"`
	Sort       []sortView          `json:"sort,omitempty"`
	Count      int                 `json:"count"`
	Cursor     string              `json:"cursor,omitempty"`
	Total      search.Total        `json:"total,omitempty"`
	Include    []includeView       `json:"include,omitempty"`
	RevInclude []includeView       `json:"revinclude,omitempty"`
	Summary    search.Summary      `json:"summary,omitempty"`
	Elements   []string            `json:"elements,omitempty"`
	Unknown    []string            `json:"unknown,omitempty"`
}

type clauseView struct {
	Param    string           `json:"param"`
	Type     search.ParamType `json:"type"`
	Modifier search.Modifier  `json:"modifier,omitempty"`
	Missing  *bool            `json:"missing,omitempty"`
	Values   []valueView      `json:"values,omitempty"`
	Chain    *chainView       `json:"chain,omitempty"`
	Has      *hasView         `json:"has,omitempty"`
}

type chainView struct {
	Targets []fhir.ResourceType `json:"targets"`
	Clause  clauseView          `json:"clause"`
}

type hasView struct {
	Type   fhir.ResourceType `json:"type"`
	Ref    string            `json:"ref"`
	Clause clauseView        `json:"clause"`
}

type valueView struct {
	Prefix        search.Prefix     `json:"prefix,omitempty"`
	System        *string           `json:"system,omitempty"`
	Code          string            `json:"code,omitempty"`
	Text          string            `json:"text,omitempty"`
	DateLo        string            `json:"dateLo,omitempty"`
	DateHi        string            `json:"dateHi,omitempty"`
	Num           *float64          `json:"num,omitempty"`
	NumLo         *float64          `json:"numLo,omitempty"`
	NumHi         *float64          `json:"numHi,omitempty"`
	CanonicalCode string            `json:"canonicalCode,omitempty"`
	Canonical     *float64          `json:"canonical,omitempty"`
	CanonicalLo   *float64          `json:"canonicalLo,omitempty"`
	CanonicalHi   *float64          `json:"canonicalHi,omitempty"`
	Type          fhir.ResourceType `json:"type,omitempty"`
	ID            fhir.ID           `json:"id,omitempty"`
	URL           string            `json:"url,omitempty"`
	Version       string            `json:"version,omitempty"`
	Components    []valueView       `json:"components,omitempty"`
}

type sortView struct {
	Param string           `json:"param"`
	Type  search.ParamType `json:"type"`
	Desc  bool             `json:"desc,omitempty"`
}

type includeView struct {
	Source  fhir.ResourceType `json:"source,omitempty"`
	Param   string            `json:"param"`
	Target  fhir.ResourceType `json:"target,omitempty"`
	Iterate bool              `json:"iterate,omitempty"`
}

func viewQuery(q *search.Query) queryView {
	v := queryView{Types: q.Types, Count: q.Count, Cursor: q.Cursor, Total: q.Total, Summary: q.Summary,
		Elements: q.Elements, Unknown: q.Unknown}
	for _, c := range q.Clauses {
		v.Clauses = append(v.Clauses, viewClause(c))
	}
	for _, s := range q.Sort {
		v.Sort = append(v.Sort, sortView(s))
	}
	for _, inc := range q.Include {
		v.Include = append(v.Include, includeView(inc))
	}
	for _, inc := range q.RevInclude {
		v.RevInclude = append(v.RevInclude, includeView(inc))
	}
	return v
}

func viewClause(c search.Clause) clauseView {
	v := clauseView{Param: c.Param, Type: c.Type, Modifier: c.Modifier, Missing: c.Missing}
	for _, val := range c.Values {
		v.Values = append(v.Values, viewValue(val))
	}
	if c.Chain != nil {
		v.Chain = &chainView{Targets: c.Chain.Targets, Clause: viewClause(c.Chain.Clause)}
	}
	if c.Has != nil {
		v.Has = &hasView{Type: c.Has.Type, Ref: c.Has.Ref, Clause: viewClause(c.Has.Clause)}
	}
	return v
}

func viewValue(val search.Value) valueView {
	v := valueView{Prefix: val.Prefix, System: val.System, Code: val.Code, Text: val.Text,
		CanonicalCode: val.CanonicalCode, Type: val.Type, ID: val.ID, URL: val.URL, Version: val.Version}
	if val.DateLo != 0 || val.DateHi != 0 {
		v.DateLo, v.DateHi = instant(val.DateLo), instant(val.DateHi)
	}
	if val.NumLo != 0 || val.NumHi != 0 || val.Num != 0 || val.Prefix != "" && val.DateLo == 0 && val.DateHi == 0 {
		v.Num, v.NumLo, v.NumHi = &val.Num, &val.NumLo, &val.NumHi
	}
	if val.CanonicalCode != "" {
		v.Canonical, v.CanonicalLo, v.CanonicalHi = &val.Canonical, &val.CanonicalLo, &val.CanonicalHi
	}
	for _, c := range val.Components {
		v.Components = append(v.Components, viewValue(c))
	}
	return v
}

func instant(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}
