package parse

import (
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// FuzzParse checks that no query string makes Parse or Conditional panic,
// that every error is an invalid *fhir.Error with issues, and that every
// Query holds sane values. Seeds are the queries of testdata/vectors.json;
// crashers found are kept in testdata/fuzz/FuzzParse. Run it with
//
//	go test ./fhir/search/parse -run '^$' -fuzz FuzzParse -fuzztime 3m
func FuzzParse(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		f.Fatal(err)
	}
	var vectors []vector
	if err := json.Unmarshal(b, &vectors); err != nil {
		f.Fatal(err)
	}
	for _, v := range vectors {
		f.Add(v.Query, v.Strict)
	}
	for _, q := range []string{
		"Patient?_has:Observation:patient:_has:Observation:patient:_has:Observation:patient:_has:Observation:patient:_has:Observation:patient:_has:Observation:patient:code=x",
		"RiskAssessment?probability=ap1.000000000000000000000000000001e-300",
		"RiskAssessment?probability=-0.0e-400,1e300,ap-1e300",
		"Observation?value-quantity=ap1e300|http://unitsofmeasure.org|mmol/L",
		"Observation?date=ap0001,ap9999-12-31T23:59:59.999999999-14:00",
		"Patient?name=%FF%FE%C3,%5C%5C%5C,%5C",
		"Observation?subject:Patient.organization:Organization.partof._has:Patient:organization:name:exact=%00",
		"?_type=,&_include=*:*:*&_revinclude=:&_sort=-&_elements=.&_count=%2B0",
	} {
		f.Add(q, false)
		f.Add(q, true)
	}
	reg := testRegistry(f)
	f.Fuzz(func(t *testing.T, query string, strict bool) {
		path, raw, _ := strings.Cut(query, "?")
		params, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		var types []fhir.ResourceType
		if path != "" {
			for _, name := range strings.Split(path, ",") {
				types = append(types, fhir.ResourceType(name))
			}
		}
		opts := Options{Strict: strict, Base: vectorBase, MaxCount: 100}
		q, err := Parse(reg, types, params, opts)
		checkOutcome(t, query, q, err, opts)
		if len(types) == 1 {
			q, err := Conditional(reg, types[0], params)
			checkOutcome(t, query, q, err, Options{Conditional: true})
			if err == nil && (len(q.Clauses) == 0 || len(q.Unknown) > 0) {
				t.Errorf("Conditional(%q) has no criteria or ignored some: %+v", query, q)
			}
		}
	})
}

func checkOutcome(t *testing.T, query string, q *search.Query, err error, opts Options) {
	t.Helper()
	if err != nil {
		var fe *fhir.Error
		if !errors.As(err, &fe) || fe.Kind != fhir.KindInvalid || len(fe.Issues) == 0 || q != nil {
			t.Fatalf("Parse(%q) = %v, %v: want an invalid *fhir.Error with issues", query, q, err)
		}
		for _, is := range fe.Issues {
			if is.Severity != fhir.SeverityError || is.Diagnostics == "" {
				t.Fatalf("Parse(%q): issue %+v", query, is)
			}
		}
		return
	}
	if q == nil {
		t.Fatalf("Parse(%q) returned neither a query nor an error", query)
	}
	if q.Count < 0 || q.Count > max(opts.MaxCount, MaxCount) {
		t.Fatalf("Parse(%q): Count %d", query, q.Count)
	}
	if opts.Strict && len(q.Unknown) > 0 {
		t.Fatalf("Parse(%q) strict ignored %v", query, q.Unknown)
	}
	for _, c := range q.Clauses {
		checkClause(t, query, c, 0)
	}
	if _, err := json.Marshal(q); err != nil {
		t.Fatalf("Parse(%q): the query does not marshal: %v", query, err)
	}
}

func checkClause(t *testing.T, query string, c search.Clause, depth int) {
	t.Helper()
	if depth > MaxDepth {
		t.Fatalf("Parse(%q): clause nested %d deep", query, depth)
	}
	parts := 0
	if len(c.Values) > 0 {
		parts++
	}
	for _, set := range []bool{c.Missing != nil, c.Chain != nil, c.Has != nil} {
		if set {
			parts++
		}
	}
	if parts != 1 {
		t.Fatalf("Parse(%q): clause %+v should have exactly one of values, missing, chain and has", query, c)
	}
	for _, v := range c.Values {
		checkValue(t, query, v)
	}
	switch {
	case c.Chain != nil:
		if len(c.Chain.Targets) == 0 || c.Type != search.TypeReference {
			t.Fatalf("Parse(%q): chain %+v", query, c)
		}
		checkClause(t, query, c.Chain.Clause, depth+1)
	case c.Has != nil:
		checkClause(t, query, c.Has.Clause, depth+1)
	}
}

func checkValue(t *testing.T, query string, v search.Value) {
	t.Helper()
	for _, f := range []float64{v.Num, v.NumLo, v.NumHi, v.Canonical, v.CanonicalLo, v.CanonicalHi} {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			t.Fatalf("Parse(%q): value %+v is not finite", query, v)
		}
	}
	if v.DateLo > v.DateHi || v.NumLo > v.NumHi || v.CanonicalLo > v.CanonicalHi ||
		v.Prefix != "" && v.DateLo == v.DateHi && v.NumLo == v.NumHi {
		t.Fatalf("Parse(%q): value %+v has an empty or reversed range", query, v)
	}
	for _, c := range v.Components {
		checkValue(t, query, c)
	}
}
