package parse

import (
	"errors"
	"math"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

func TestSplitCutUnescape(t *testing.T) {
	for _, tc := range []struct {
		in    string
		sep   byte
		parts []string
	}{
		{"a,b,c", ',', []string{"a", "b", "c"}},
		{`a\,b,c`, ',', []string{`a\,b`, "c"}},
		{`a\\,b`, ',', []string{`a\\`, "b"}},
		{`a\\\,b`, ',', []string{`a\\\,b`}},
		{",", ',', []string{"", ""}},
		{"", ',', []string{""}},
		{`x|y\|z|w`, '|', []string{"x", `y\|z`, "w"}},
		{`trailing\`, ',', []string{`trailing\`}},
		{`a$b\$c`, '$', []string{"a", `b\$c`}},
	} {
		if got := split(tc.in, tc.sep); !reflect.DeepEqual(got, tc.parts) {
			t.Errorf("split(%q, %q) = %q, want %q", tc.in, tc.sep, got, tc.parts)
		}
	}
	for _, tc := range []struct{ in, before, after string }{
		{"sys|code", "sys", "code"},
		{`s\|y|c|d`, `s\|y`, "c|d"},
		{"code", "code", ""},
	} {
		b, a, _ := cut(tc.in, '|')
		if b != tc.before || a != tc.after {
			t.Errorf("cut(%q) = %q, %q; want %q, %q", tc.in, b, a, tc.before, tc.after)
		}
	}
	for in, want := range map[string]string{
		`a\,b`: "a,b", `a\|b`: "a|b", `a\$b`: "a$b", `a\\b`: `a\b`, `a\nb`: `a\nb`, `end\`: `end\`, "plain": "plain",
		`\\\,`: `\,`,
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	for _, tc := range []struct {
		in            string
		value, lo, hi float64
	}{
		{"100", 100, 99.5, 100.5},
		{"100.00", 100, 99.995, 100.005},
		{"1e2", 100, 99.5, 100.5},
		{"1.00e2", 100, 99.5, 100.5},
		{"1.234e2", 123.4, 123.35, 123.45},
		{"1.5e-3", 0.0015, 0.00145, 0.00155},
		{"1E 2", 100, 99.5, 100.5}, // an unescaped +
		{"0", 0, -0.5, 0.5},
		{"-0.5", -0.5, -0.55, -0.45},
		{"007", 7, 6.5, 7.5},
		{"0.1", 0.1, 0.05, 0.15},
	} {
		d, err := parseDecimal(tc.in)
		if err != nil {
			t.Errorf("parseDecimal(%q): %v", tc.in, err)
			continue
		}
		if d.value != tc.value || d.lo != tc.lo || d.hi != tc.hi {
			t.Errorf("parseDecimal(%q) = %v [%v, %v), want %v [%v, %v)", tc.in, d.value, d.lo, d.hi, tc.value, tc.lo, tc.hi)
		}
	}
	for _, in := range []string{"", "-", "1.", ".1", "1e", "1e+", "+1", "0x10", "1_000", "NaN", "Inf", "1e401",
		"1e300000000000000000000", "1e301", strings.Repeat("1", 101), "1 2", "1e2.5"} {
		if d, err := parseDecimal(in); err == nil {
			t.Errorf("parseDecimal(%q) = %+v, want an error", in, d)
		}
	}
}

func TestSearchRange(t *testing.T) {
	d, _ := parseDecimal("5.4")
	for pfx, want := range map[search.Prefix][2]float64{
		search.PrefixEq: {5.35, 5.45},
		search.PrefixNe: {5.35, 5.45},
		search.PrefixAp: {5.35, 5.45},
		search.PrefixGt: {5.4, math.Nextafter(5.4, 6)},
		search.PrefixSa: {5.4, math.Nextafter(5.4, 6)},
	} {
		lo, hi := searchRange(pfx, d)
		if lo != want[0] || hi != want[1] {
			t.Errorf("searchRange(%s, 5.4) = [%v, %v), want [%v, %v)", pfx, lo, hi, want[0], want[1])
		}
	}
	// The prefix rules of package search, applied to a point value 5.4
	// with the range of ge and le, find it; gt and lt do not.
	for pfx, want := range map[search.Prefix]bool{search.PrefixGe: true, search.PrefixLe: true, search.PrefixGt: false, search.PrefixLt: false} {
		slo, shi := searchRange(pfx, d)
		v := 5.4
		eq := slo <= v && v < shi
		var got bool
		switch pfx {
		case search.PrefixGe:
			got = v > shi || eq
		case search.PrefixLe:
			got = v < slo || eq
		case search.PrefixGt:
			got = v > shi
		case search.PrefixLt:
			got = v < slo
		}
		if got != want {
			t.Errorf("5.4 %s5.4 = %v, want %v", pfx, got, want)
		}
	}
}

func TestDateRange(t *testing.T) {
	ms := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	for _, tc := range []struct{ in, lo, hi string }{
		{"2024", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"},
		{"2024-02", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"2024-02-29", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"2024-12-31", "2024-12-31T00:00:00Z", "2025-01-01T00:00:00Z"},
		{"2024-12-31T23:59Z", "2024-12-31T23:59:00Z", "2025-01-01T00:00:00Z"},
		{"2024-06-30T23:59:60Z", "", ""}, // no leap seconds
		{"2024-03-01T10:00:00.5Z", "2024-03-01T10:00:00.5Z", "2024-03-01T10:00:00.6Z"},
		{"2024-03-01T10:00:00.0001Z", "2024-03-01T10:00:00Z", "2024-03-01T10:00:00.001Z"},
		{"2024-03-01T10:00:00.999999999Z", "2024-03-01T10:00:00.999Z", "2024-03-01T10:00:01Z"},
		{"2024-03-01T10:00:00 05:30", "2024-03-01T04:30:00Z", "2024-03-01T04:30:01Z"},
		{"2024-03-01T10:00:00-00:00", "2024-03-01T10:00:00Z", "2024-03-01T10:00:01Z"},
		{"0001", "0001-01-01T00:00:00Z", "0002-01-01T00:00:00Z"},
		{"9999-12-31", "9999-12-31T00:00:00Z", "10000-01-01T00:00:00Z"},
	} {
		lo, hi, err := dateRange(tc.in)
		if tc.lo == "" {
			if err == nil {
				t.Errorf("dateRange(%q) succeeded, want an error", tc.in)
			}
			continue
		}
		if tc.hi == "10000-01-01T00:00:00Z" {
			tc.hi = "" // beyond RFC 3339: compare with the computed end
			if err == nil && hi != time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() {
				t.Errorf("dateRange(%q) ends at %d", tc.in, hi)
			}
		}
		switch {
		case err != nil:
			t.Errorf("dateRange(%q): %v", tc.in, err)
		case lo != ms(tc.lo) || tc.hi != "" && hi != ms(tc.hi):
			t.Errorf("dateRange(%q) = [%d, %d), want [%s, %s)", tc.in, lo, hi, tc.lo, tc.hi)
		}
	}
}

// TestApproximate checks that ap carries the range of eq: the store
// widens it (query.go), so the parser must not.
func TestApproximate(t *testing.T) {
	for _, query := range []string{"date=2024-03", "value-quantity=5.4|http://unitsofmeasure.org|mg"} {
		eq := mustParse(t, Options{}, "Observation", query).Clauses[0].Values[0]
		name, value, _ := strings.Cut(query, "=")
		ap := mustParse(t, Options{}, "Observation", name+"=ap"+value).Clauses[0].Values[0]
		if ap.Prefix != search.PrefixAp {
			t.Errorf("%s: prefix %s", query, ap.Prefix)
		}
		ap.Prefix = search.PrefixEq
		if !reflect.DeepEqual(ap, eq) {
			t.Errorf("%s: ap %+v, eq %+v", query, ap, eq)
		}
	}
}

func mustParse(t *testing.T, opts Options, typ fhir.ResourceType, query string) *search.Query {
	t.Helper()
	params, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse(testRegistry(t), []fhir.ResourceType{typ}, params, opts)
	if err != nil {
		t.Fatalf("%s?%s: %v", typ, query, err)
	}
	return q
}

func TestOptionsDefaults(t *testing.T) {
	for _, tc := range []struct {
		opts  Options
		query string
		count int
	}{
		{Options{}, "", DefaultCount},
		{Options{}, "_count=5000", MaxCount},
		{Options{DefaultCount: 50}, "", 50},
		{Options{DefaultCount: 50, MaxCount: 10}, "", 10},
		{Options{MaxCount: 10}, "_count=11", 10},
		{Options{MaxCount: 10}, "_count=0", 0},
	} {
		if q := mustParse(t, tc.opts, "Patient", tc.query); q.Count != tc.count {
			t.Errorf("%+v with %q: Count %d, want %d", tc.opts, tc.query, q.Count, tc.count)
		}
	}
	deep := "partof.partof.name=x"
	if _, err := Parse(testRegistry(t), []fhir.ResourceType{"Organization"}, url.Values{"partof.partof.name": {"x"}}, Options{MaxDepth: 1}); err == nil {
		t.Errorf("%s passed with MaxDepth 1", deep)
	}
	mustParse(t, Options{MaxDepth: 2}, "Organization", deep)
}

func TestConditional(t *testing.T) {
	reg := testRegistry(t)
	q, err := Conditional(reg, "Patient", url.Values{"identifier": {"http://hospital.example/mrn|1"}, "_count": {"50"}, "_sort": {"-birthdate"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Clauses) != 1 || q.Count != 2 || q.Sort != nil || !reflect.DeepEqual(q.Types, []fhir.ResourceType{"Patient"}) {
		t.Errorf("Conditional = %+v", q)
	}
	// Criteria that a lenient search would partly ignore are refused.
	for _, query := range []string{
		"identifier=1&foo=bar",           // unknown parameter
		"identifier=1&_text=x",           // unsupported parameter
		"identifier=1&name:foo=x",        // bad modifier
		"identifier=1&name=",             // empty value
		"identifier=1&_contained=true&x", // unknown parameter without value
		"_count=1",                       // no criteria
		"",                               // no criteria
		"_type=Patient",                  // _type is no criterion here
	} {
		params, _ := url.ParseQuery(query)
		_, err := Conditional(reg, "Patient", params)
		var fe *fhir.Error
		if !errors.As(err, &fe) || fe.Kind != fhir.KindInvalid || len(fe.Issues) == 0 {
			t.Errorf("Conditional(%q) = %v, want an invalid error", query, err)
		}
		// The same parameters in a lenient search pass or fail alike, but
		// never silently drop a criterion in a conditional.
		if q, err := Parse(reg, []fhir.ResourceType{"Patient"}, params, Options{}); err == nil && len(q.Unknown) == 0 &&
			query != "_count=1" && query != "" && !strings.Contains(query, "name=") && query != "_type=Patient" {
			t.Errorf("Parse(%q) accepted everything, yet Conditional refused it", query)
		}
	}
	// With the base, absolute references to this server are read.
	params := url.Values{"subject": {"https://cpms.example.org/fhir/Patient/7"}}
	q, err = Parse(reg, []fhir.ResourceType{"Observation"}, params, Options{Conditional: true, Base: "https://cpms.example.org/fhir/"})
	if err != nil {
		t.Fatal(err)
	}
	if v := q.Clauses[0].Values[0]; v.Type != "Patient" || v.ID != "7" || q.Count != 2 {
		t.Errorf("conditional reference = %+v", v)
	}
}

func TestErrorShape(t *testing.T) {
	reg := testRegistry(t)
	// Every problem gets an issue naming its parameter.
	params := url.Values{}
	for i := range 80 {
		params.Set("birthdate:"+strings.Repeat("x", i+1), "1")
	}
	params.Set("gender", "male")
	_, err := Parse(reg, []fhir.ResourceType{"Patient"}, params, Options{})
	var fe *fhir.Error
	if !errors.As(err, &fe) || fe.Kind != fhir.KindInvalid {
		t.Fatalf("err = %v", err)
	}
	if len(fe.Issues) != maxIssues+1 {
		t.Errorf("%d issues, want %d and a note", len(fe.Issues), maxIssues+1)
	}
	for _, is := range fe.Issues[:maxIssues] {
		if is.Severity != fhir.SeverityError || len(is.Expression) != 1 || !strings.HasPrefix(is.Expression[0], "birthdate:") {
			t.Errorf("issue %+v", is)
		}
	}
	if last := fe.Issues[maxIssues]; !strings.Contains(last.Diagnostics, "30 more problems") {
		t.Errorf("last issue %+v", last)
	}
	if !strings.Contains(fe.Error(), "and 50 more problems") {
		t.Errorf("Error() = %q", fe.Error())
	}
	// A single problem is the message.
	_, err = Parse(reg, []fhir.ResourceType{"Patient"}, url.Values{"birthdate": {"x"}}, Options{})
	if !errors.As(err, &fe) || fe.Error() != fe.Issues[0].Diagnostics {
		t.Errorf("err = %v", err)
	}
}

// TestNoAliasing checks that parsing leaves the registry's parameters and
// the caller's types untouched.
func TestNoAliasing(t *testing.T) {
	reg := testRegistry(t)
	types := []fhir.ResourceType{"Observation", "Condition"}
	q, err := Parse(reg, types, url.Values{"subject": {"Patient/1"}, "_type": {"Condition"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	q.Types[0] = "Patient"
	if types[1] != "Condition" {
		t.Error("the caller's types changed")
	}
	q, err = Parse(reg, types, url.Values{"subject": {"Patient/1"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	q.Types[0] = "Patient"
	if types[0] != "Observation" {
		t.Error("the caller's types changed")
	}
	p, _ := reg.Lookup("Observation", "subject")
	if len(p.Targets) != 4 {
		t.Errorf("Observation.subject targets changed: %v", p.Targets)
	}
}

func BenchmarkParse(b *testing.B) {
	reg := testRegistry(b)
	params, err := url.ParseQuery("code=http://loinc.org|8480-6,http://loinc.org|8462-4&date=ge2024-01-01&date=lt2025" +
		"&subject:Patient.name=smith&value-quantity=lt140|http://unitsofmeasure.org|mm[Hg]&_sort=-date&_count=50" +
		"&_include=Observation:subject&_total=accurate&_has:Provenance:target:agent=Practitioner/1")
	if err != nil {
		b.Fatal(err)
	}
	types := []fhir.ResourceType{"Observation"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(reg, types, params, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
