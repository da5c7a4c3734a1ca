package search

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/search/internal/gen"
	"github.com/cpms-fhir/cpms/internal/testfixture"
)

func TestGeneratedParamsUpToDate(t *testing.T) {
	defs := filepath.Dir(testfixture.SharedData(t, "fhir", "definitions-r4", gen.File))
	testfixture.CheckGenerated(t, r4Data, func() ([]byte, error) { return gen.Build(defs) }, "r4params.json.gz", "go generate ./fhir/search")
}

// TestR4ParamsFromResources reads every R4 SearchParameter with
// ParamFromResource: each must be accepted and give the Param of the table.
func TestR4ParamsFromResources(t *testing.T) {
	f, err := os.Open(testfixture.SharedData(t, "fhir", "definitions-r4", gen.File))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.NewDecoder(zr).Decode(&b); err != nil {
		t.Fatal(err)
	}
	tb := NewTable()
	n := 0
	for _, e := range b.Entry {
		var head struct {
			URL        string `json:"url"`
			Expression string `json:"expression"`
		}
		if err := json.Unmarshal(e.Resource, &head); err != nil {
			t.Fatal(err)
		}
		if head.Expression == "" {
			continue // _text, _content, _query: defined by the search page, not by an expression
		}
		p, err := tb.ParamFromResource(e.Resource)
		if err != nil {
			t.Errorf("%s: %v", head.URL, err)
			continue
		}
		want, _ := tb.ByURL(head.URL)
		if !sameDefinition(p, want) && head.URL != "http://hl7.org/fhir/SearchParameter/DocumentReference-relationship" {
			t.Errorf("%s: ParamFromResource gives %+v, the table %+v", head.URL, p, want)
		}
		if err := tb.Add(p); err != nil && head.URL != "http://hl7.org/fhir/SearchParameter/DocumentReference-relationship" {
			t.Errorf("%s: Add of the R4 definition: %v", head.URL, err)
		}
		n++
	}
	t.Logf("%d R4 SearchParameter resources read", n)
}

func TestR4Params(t *testing.T) {
	params := R4Params()
	if len(params) != 1375+len(extraParams) {
		t.Fatalf("%d parameters, want %d", len(params), 1375+len(extraParams))
	}
	exprs := map[string]bool{}
	for _, p := range params {
		for _, e := range append([]string{p.Expression}, componentExprs(p)...) {
			if e == "" || exprs[e] {
				continue
			}
			exprs[e] = true
			if _, err := fhirpath.Compile(e); err != nil {
				t.Errorf("%s: %v", p.URL, err)
			}
		}
	}
	tb := NewTable()
	for _, tc := range []struct {
		t          fhir.ResourceType
		code       string
		typ        ParamType
		found      bool
		expression string
	}{
		{"Patient", "name", TypeString, true, "Patient.name"},
		{"Patient", "_id", TypeToken, true, "Resource.id"},
		{"Bundle", "_lastUpdated", TypeDate, true, "Resource.meta.lastUpdated"},
		{"Patient", "_text", TypeString, true, ""},
		{"Bundle", "_text", "", false, ""}, // DomainResource only
		{"Patient", "_has", TypeSpecial, true, ""},
		{"Observation", "_type", TypeToken, true, ""},
		{"Observation", "code", TypeToken, true, "Observation.code"},
		{"Patient", "nope", "", false, ""},
		{"Nope", "_id", "", false, ""},
	} {
		p, ok := tb.Lookup(tc.t, tc.code)
		if ok != tc.found {
			t.Errorf("Lookup(%s, %s) found = %v", tc.t, tc.code, ok)
			continue
		}
		if ok && (p.Type != tc.typ || !strings.Contains(p.Expression, tc.expression)) {
			t.Errorf("Lookup(%s, %s) = %s %q", tc.t, tc.code, p.Type, p.Expression)
		}
	}
	p, _ := tb.Lookup("Observation", "code-value-quantity")
	if p == nil || len(p.Components) != 2 || p.Components[0].Type != TypeToken || p.Components[1].Type != TypeQuantity ||
		p.Components[1].Expression != "value.as(Quantity)" {
		t.Errorf("code-value-quantity = %+v", p)
	}
	p, _ = tb.Lookup("Observation", "subject")
	if p == nil || !slices.Contains(p.Targets, "Patient") || !slices.Contains(p.Targets, "Group") {
		t.Errorf("subject = %+v", p)
	}
	p, _ = tb.Lookup("Observation", "date")
	if p == nil || len(p.Comparators) != 9 {
		t.Errorf("date = %+v", p)
	}
	ps := tb.Params("Patient")
	if !slices.IsSortedFunc(ps, func(a, b *Param) int { return strings.Compare(a.Code, b.Code) }) {
		t.Error("Params(Patient) not sorted")
	}
	codes := map[string]bool{}
	for _, p := range ps {
		codes[p.Code] = true
	}
	for _, c := range []string{"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source", "_text", "_content", "_list", "_has", "_type", "_query", "name", "birthdate", "identifier", "phonetic"} {
		if !codes[c] {
			t.Errorf("Params(Patient) lacks %s", c)
		}
	}
	t.Logf("Patient %d, Observation %d, Bundle %d parameters", len(tb.Params("Patient")), len(tb.Params("Observation")), len(tb.Params("Bundle")))
}

func componentExprs(p *Param) []string {
	var out []string
	for _, c := range p.Components {
		out = append(out, c.Expression)
	}
	return out
}

const cpmsIDParam = `{"resourceType":"SearchParameter","url":"https://cpms.example/SearchParameter/cpms-id",
"name":"cpms-id","status":"active","code":"cpms-id","base":["Patient"],"type":"token",
"expression":"Patient.identifier.where(system = 'https://cpms.example/id')"}`

func TestAddRemove(t *testing.T) {
	tb := NewTable()
	other := NewTable()
	p, err := tb.ParamFromResource([]byte(cpmsIDParam))
	if err != nil {
		t.Fatal(err)
	}
	before := tb.Params("Patient")
	if err := tb.Add(p); err != nil {
		t.Fatal(err)
	}
	got, ok := tb.Lookup("Patient", "cpms-id")
	if !ok || got == p || got.Expression != p.Expression {
		t.Fatalf("Lookup after Add = %+v, %v (want a copy)", got, ok)
	}
	if len(tb.Params("Patient")) != len(before)+1 || len(before) != len(other.Params("Patient")) {
		t.Error("Add changed a published list or another table")
	}
	if _, ok := other.Lookup("Patient", "cpms-id"); ok {
		t.Error("Add changed another table")
	}
	// Replacing by URL.
	p2 := *p
	p2.Expression = "Patient.identifier"
	if err := tb.Add(&p2); err != nil {
		t.Fatal(err)
	}
	if got, _ := tb.Lookup("Patient", "cpms-id"); got.Expression != "Patient.identifier" {
		t.Errorf("replaced expression = %q", got.Expression)
	}
	// Conflicts.
	dup := *p
	dup.URL = "https://cpms.example/SearchParameter/other"
	if err := tb.Add(&dup); !fhir.IsKind(err, fhir.KindUnprocessable) {
		t.Errorf("duplicate code: %v", err)
	}
	name, _ := tb.Lookup("Patient", "name")
	redefined := *name
	redefined.Expression = "Patient.name.family"
	if err := tb.Add(&redefined); !fhir.IsKind(err, fhir.KindUnprocessable) {
		t.Errorf("redefining an R4 parameter: %v", err)
	}
	same := *name
	if err := tb.Add(&same); err != nil {
		t.Errorf("adding an R4 parameter unchanged: %v", err)
	}
	tb.Remove(name.URL) // no effect on R4 parameters
	if _, ok := tb.Lookup("Patient", "name"); !ok {
		t.Error("Remove removed an R4 parameter")
	}
	tb.Remove(p.URL)
	if _, ok := tb.Lookup("Patient", "cpms-id"); ok || len(tb.Params("Patient")) != len(before) {
		t.Error("Remove left the parameter")
	}
	// A parameter on Resource applies to every type.
	common := &Param{Code: "cpms-flag", URL: "https://cpms.example/SearchParameter/flag", Type: TypeToken,
		Base: []fhir.ResourceType{"Resource"}, Expression: "Resource.meta.tag"}
	if err := tb.Add(common); err != nil {
		t.Fatal(err)
	}
	for _, rt := range []fhir.ResourceType{"Patient", "Bundle", "Binary"} {
		if _, ok := tb.Lookup(rt, "cpms-flag"); !ok {
			t.Errorf("%s lacks cpms-flag", rt)
		}
	}
}

func TestConcurrentLookup(t *testing.T) {
	tb := NewTable()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				p := &Param{Code: fmt.Sprintf("c%d-%d", i, j), URL: fmt.Sprintf("urn:x:%d:%d", i, j), Type: TypeString,
					Base: []fhir.ResourceType{"Patient"}, Expression: "Patient.name"}
				if err := tb.Add(p); err != nil {
					t.Error(err)
					return
				}
				if j%2 == 0 {
					tb.Remove(p.URL)
				}
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				if _, ok := tb.Lookup("Patient", "name"); !ok {
					t.Error("name missing")
					return
				}
				for _, p := range tb.Params("Patient") {
					_ = p.Code
				}
			}
		}()
	}
	wg.Wait()
	if n := len(tb.Params("Patient")) - len(NewTable().Params("Patient")); n != 400 {
		t.Errorf("%d custom parameters left, want 400", n)
	}
}

func TestParamFromResource(t *testing.T) {
	p, err := ParamFromResource([]byte(`{"resourceType":"SearchParameter","url":"https://cpms.example/sp/consent-cv",
	"code":"code-cv","base":["Observation"],"type":"composite","expression":"Observation",
	"component":[{"definition":"http://hl7.org/fhir/SearchParameter/clinical-code","expression":"code"},
	{"definition":"http://hl7.org/fhir/SearchParameter/Observation-value-quantity","expression":"value.as(Quantity)"}],
	"comparator":["eq","gt"],"modifier":["missing","ofType"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Components) != 2 || p.Components[0].Type != TypeToken || p.Components[1].Type != TypeQuantity ||
		!slices.Equal(p.Comparators, []Prefix{PrefixEq, PrefixGt}) || !slices.Equal(p.Modifiers, []Modifier{"missing", ModOfType}) {
		t.Errorf("composite = %+v", p)
	}
	for _, tc := range []struct {
		name, body string
		where      []string
	}{
		{"not a SearchParameter", `{"resourceType":"Patient"}`, []string{"resourceType"}},
		{"not JSON", `{`, []string{"SearchParameter"}},
		{"missing everything", `{"resourceType":"SearchParameter"}`,
			[]string{"SearchParameter.code", "SearchParameter.url", "SearchParameter.type", "SearchParameter.base"}},
		{"bad expression", `{"resourceType":"SearchParameter","url":"u","code":"x","base":["Patient"],"type":"string","expression":"Patient.name.("}`,
			[]string{"SearchParameter.expression"}},
		{"expression for another type", `{"resourceType":"SearchParameter","url":"u","code":"x","base":["Patient"],"type":"string","expression":"Observation.code"}`,
			[]string{"SearchParameter.expression"}},
		{"unknown element", `{"resourceType":"SearchParameter","url":"u","code":"x","base":["Patient"],"type":"string","expression":"Patient.nam"}`,
			[]string{"SearchParameter.expression"}},
		{"no expression", `{"resourceType":"SearchParameter","url":"u","code":"x","base":["Patient"],"type":"string"}`,
			[]string{"SearchParameter.expression"}},
		{"bad base and target", `{"resourceType":"SearchParameter","url":"u","code":"x","base":["Patient","Nope"],"type":"reference","expression":"Patient.generalPractitioner","target":["Foo"]}`,
			[]string{"SearchParameter.base[1]", "SearchParameter.target[0]"}},
		{"bad code", `{"resourceType":"SearchParameter","url":"u","code":"a.b","base":["Patient"],"type":"string","expression":"Patient.name"}`,
			[]string{"SearchParameter.code"}},
		{"bad component", `{"resourceType":"SearchParameter","url":"u","code":"x","base":["Observation"],"type":"composite","expression":"Observation",
			"component":[{"definition":"urn:nope","expression":"code"},{"definition":"http://hl7.org/fhir/SearchParameter/clinical-code","expression":"code.("}]}`,
			[]string{"SearchParameter.component[0].definition", "SearchParameter.component[1].expression"}},
		{"bad comparator", `{"resourceType":"SearchParameter","url":"u","code":"x","base":["Patient"],"type":"date","expression":"Patient.birthDate","comparator":["xx"],"modifier":["nope"]}`,
			[]string{"SearchParameter.comparator[0]", "SearchParameter.modifier[0]"}},
	} {
		_, err := ParamFromResource([]byte(tc.body))
		if !fhir.IsKind(err, fhir.KindUnprocessable) {
			t.Errorf("%s: %v, want an unprocessable error", tc.name, err)
			continue
		}
		var where []string
		for _, is := range err.(*fhir.Error).Issues {
			where = append(where, is.Expression...)
		}
		for _, w := range tc.where {
			if !slices.Contains(where, w) {
				t.Errorf("%s: issues at %v, want one at %s (%v)", tc.name, where, w, err)
			}
		}
	}
}
