package terminology

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
)

// fixture is a small polyhierarchy in the shape the importers write:
// flat concepts, parents as properties, synonyms and French designations.
//
//	D1 Disease
//	├── D2 Connective tissue disease
//	│   └── D4 Marfan syndrome ── also under D3
//	│       └── D5 Neonatal Marfan syndrome
//	└── D3 Cardiovascular disease
//	    └── D6 Aortic aneurysm (inactive)
const fixtureURL = "http://example.org/fhir/CodeSystem/cpms-test"

func fixture() *CodeSystem {
	syn := &Coding{System: SynonymCS, Code: SynonymCode, Display: "Synonym"}
	parent := func(codes ...string) []ConceptProperty {
		var out []ConceptProperty
		for _, c := range codes {
			out = append(out, ConceptProperty{Code: "parent", ValueCode: c})
		}
		return out
	}
	inactive := true
	return &CodeSystem{ResourceType: "CodeSystem", URL: fixtureURL, Version: "2", Name: "CPMSTest", Status: "active",
		Content: "complete", HierarchyMeaning: "is-a",
		Property: []PropertyDef{{Code: "parent", Type: "code"}, {Code: "inactive", Type: "boolean"}, {Code: "kind", Type: "string"}},
		Concept: []Concept{
			{Code: "D1", Display: "Disease"},
			{Code: "D2", Display: "Connective tissue disease", Property: parent("D1")},
			{Code: "D3", Display: "Cardiovascular disease", Property: parent("D1")},
			{Code: "D4", Display: "Marfan syndrome", Definition: "A disorder of the fibrous connective tissue.",
				Designation: []Designation{{Language: "en", Use: syn, Value: "MFS"}, {Language: "fr", Value: "Syndrome de Marfan"}},
				Property:    append(parent("D2", "D3"), ConceptProperty{Code: "kind", ValueString: "disorder"})},
			{Code: "D5", Display: "Neonatal Marfan syndrome", Property: append(parent("D4"), ConceptProperty{Code: "kind", ValueString: "disorder"})},
			{Code: "D6", Display: "Aortic aneurysm", Property: append(parent("D3"), ConceptProperty{Code: "inactive", ValueBoolean: &inactive})},
		}}
}

func fixtureService(t *testing.T) *Service {
	t.Helper()
	s := New()
	s.AddCodeSystem(fixture())
	s.AddValueSet(&ValueSet{ResourceType: "ValueSet", URL: "http://example.org/fhir/ValueSet/connective", Version: "1", Status: "active",
		Compose: &Compose{Include: []Include{{System: fixtureURL, Filter: []Filter{{Property: "concept", Op: "is-a", Value: "D2"}}}}}})
	s.AddValueSet(&ValueSet{ResourceType: "ValueSet", URL: "http://example.org/fhir/ValueSet/listed", Status: "active",
		Compose: &Compose{Include: []Include{{System: fixtureURL, Concept: []IncludeConcept{{Code: "D6"}, {Code: "D4", Display: "Marfan"}}}}}})
	return s
}

func codes(vs *ValueSet) []string {
	var out []string
	for _, c := range vs.Expansion.Contains {
		out = append(out, c.Code)
	}
	return out
}

func TestExpandCompose(t *testing.T) {
	s := fixtureService(t)
	s.AddValueSet(&ValueSet{ResourceType: "ValueSet", URL: "http://x/vs/ops", Status: "active", Compose: &Compose{
		Include: []Include{
			{System: fixtureURL, Filter: []Filter{{Property: "concept", Op: "descendent-of", Value: "D3"}}},
			{ValueSet: []string{"http://example.org/fhir/ValueSet/connective"}},
		},
		Exclude: []Include{{System: fixtureURL, Concept: []IncludeConcept{{Code: "D5"}}}},
	}})
	for _, tc := range []struct {
		name string
		req  ExpandRequest
		want []string
	}{
		{"whole system, implicit", ExpandRequest{URL: fixtureURL + "?fhir_vs"}, []string{"D1", "D2", "D3", "D4", "D5", "D6"}},
		{"implicit is-a", ExpandRequest{URL: fixtureURL + "?fhir_vs=isa/D3"}, []string{"D3", "D4", "D5", "D6"}},
		{"is-a filter", ExpandRequest{URL: "http://example.org/fhir/ValueSet/connective"}, []string{"D2", "D4", "D5"}},
		{"listed keeps its order", ExpandRequest{URL: "http://example.org/fhir/ValueSet/listed"}, []string{"D6", "D4"}},
		{"descendent-of, import, exclude", ExpandRequest{URL: "http://x/vs/ops"}, []string{"D2", "D4", "D6"}},
		{"active only", ExpandRequest{URL: fixtureURL + "?fhir_vs=isa/D3", ActiveOnly: true}, []string{"D3", "D4", "D5"}},
		{"paged", ExpandRequest{URL: fixtureURL + "?fhir_vs", Offset: 2, Count: 2, CountSet: true}, []string{"D3", "D4"}},
		{"given whole", ExpandRequest{ValueSet: &ValueSet{ResourceType: "ValueSet", Status: "active", Compose: &Compose{Include: []Include{
			{System: fixtureURL, Filter: []Filter{{Property: "kind", Op: "=", Value: "disorder"}}}}}}}, []string{"D4", "D5"}},
		{"generalizes", ExpandRequest{ValueSet: &ValueSet{ResourceType: "ValueSet", Status: "active", Compose: &Compose{Include: []Include{
			{System: fixtureURL, Filter: []Filter{{Property: "concept", Op: "generalizes", Value: "D4"}}}}}}}, []string{"D1", "D2", "D3", "D4"}},
		{"is-not-a", ExpandRequest{ValueSet: &ValueSet{ResourceType: "ValueSet", Status: "active", Compose: &Compose{Include: []Include{
			{System: fixtureURL, Filter: []Filter{{Property: "concept", Op: "is-not-a", Value: "D2"}}}}}}}, []string{"D1", "D3", "D6"}},
		{"parent =", ExpandRequest{ValueSet: &ValueSet{ResourceType: "ValueSet", Status: "active", Compose: &Compose{Include: []Include{
			{System: fixtureURL, Filter: []Filter{{Property: "parent", Op: "=", Value: "D3"}}}}}}}, []string{"D4", "D6"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs, err := s.Expand(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := codes(vs); !slices.Equal(got, tc.want) {
				t.Errorf("codes %v, want %v", got, tc.want)
			}
		})
	}
	vs, _ := s.Expand(ExpandRequest{URL: "http://example.org/fhir/ValueSet/listed"})
	if d := vs.Expansion.Contains[1].Display; d != "Marfan" {
		t.Errorf("the value set's own display: got %q", d)
	}
	if vs.Expansion.Contains[0].Inactive == nil || !*vs.Expansion.Contains[0].Inactive {
		t.Errorf("D6 is not marked inactive")
	}
}

func TestExpandFilterRanking(t *testing.T) {
	s := fixtureService(t)
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		// The display starting with the text ranks before a word inside
		// a display; a synonym match comes after displays.
		{"marf", []string{"D4", "D5"}},
		{"neonatal marf", []string{"D5"}},
		{"marfan neo", []string{"D5"}},
		{"mfs", []string{"D4"}},
		{"syndrome de", []string{"D4"}}, // the French designation
		{"dis", []string{"D1", "D3", "D2"}},
		{"d4", []string{"D4"}}, // a code
		{"arf", nil},           // not a word start
		{"Marfan-syndrome", []string{"D4", "D5"}},
	} {
		vs, err := s.Expand(ExpandRequest{URL: fixtureURL + "?fhir_vs", Filter: tc.filter})
		if err != nil {
			t.Fatal(err)
		}
		if got := codes(vs); !slices.Equal(got, tc.want) {
			t.Errorf("filter %q: %v, want %v", tc.filter, got, tc.want)
		}
	}
	// A page of a filtered expansion is that part of the whole ranking;
	// the total counts every match.
	for _, page := range [][2]int{{0, 1}, {0, 2}, {1, 1}, {1, 2}, {2, 5}, {0, 0}} {
		vs, err := s.Expand(ExpandRequest{URL: fixtureURL + "?fhir_vs", Filter: "dis", Offset: page[0], Count: page[1], CountSet: true})
		if err != nil {
			t.Fatal(err)
		}
		all := []string{"D1", "D3", "D2"}
		want := all[min(page[0], 3):min(page[0]+page[1], 3)]
		if got := codes(vs); !slices.Equal(got, want) || *vs.Expansion.Total != 3 {
			t.Errorf("filter dis, offset %d count %d: %v (total %d), want %v", page[0], page[1], got, *vs.Expansion.Total, want)
		}
	}
	// The filter applies within the value set only.
	vs, _ := s.Expand(ExpandRequest{URL: "http://example.org/fhir/ValueSet/connective", Filter: "disease"})
	if got := codes(vs); !slices.Equal(got, []string{"D2"}) {
		t.Errorf("filter within a value set: %v", got)
	}
}

func TestExpandDisplayLanguage(t *testing.T) {
	s := fixtureService(t)
	vs, err := s.Expand(ExpandRequest{URL: fixtureURL + "?fhir_vs=isa/D4", DisplayLanguage: "fr-FR,en;q=0.5"})
	if err != nil {
		t.Fatal(err)
	}
	if got := vs.Expansion.Contains[0].Display; got != "Syndrome de Marfan" {
		t.Errorf("French display of D4: %q", got)
	}
	if got := vs.Expansion.Contains[1].Display; got != "Neonatal Marfan syndrome" {
		t.Errorf("D5 has no French designation, so the English display: %q", got)
	}
}

func TestExpandErrors(t *testing.T) {
	s := fixtureService(t)
	for _, tc := range []struct {
		name string
		req  ExpandRequest
		kind fhir.Kind
		expr string
	}{
		{"no value set", ExpandRequest{}, fhir.KindInvalid, "url"},
		{"unknown value set", ExpandRequest{URL: "http://x/none"}, fhir.KindNotFound, "url"},
		{"unknown system", ExpandRequest{URL: "http://x/cs?fhir_vs"}, fhir.KindNotFound, "ValueSet.compose.include[0].system"},
		{"unknown version", ExpandRequest{URL: fixtureURL + "|9?fhir_vs"}, fhir.KindNotFound, "ValueSet.compose.include[0].system"},
		{"bad filter code", ExpandRequest{URL: fixtureURL + "?fhir_vs=isa/ZZ"}, fhir.KindInvalid, "ValueSet.compose.include[0].filter[0].value"},
		{"bad filter property", ExpandRequest{ValueSet: &ValueSet{ResourceType: "ValueSet", Compose: &Compose{Include: []Include{
			{System: fixtureURL, Filter: []Filter{{Property: "colour", Op: "=", Value: "red"}}}}}}}, fhir.KindInvalid, "ValueSet.compose.include[0].filter[0]"},
		{"bad regex", ExpandRequest{ValueSet: &ValueSet{ResourceType: "ValueSet", Compose: &Compose{Include: []Include{
			{System: fixtureURL, Filter: []Filter{{Property: "code", Op: "regex", Value: "("}}}}}}}, fhir.KindInvalid, "ValueSet.compose.include[0].filter[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Expand(tc.req)
			var fe *fhir.Error
			if err == nil || !errorsAs(err, &fe) || fe.Kind != tc.kind {
				t.Fatalf("got %v, want kind %v", err, tc.kind)
			}
			if len(fe.Issues) == 0 || !slices.Contains(fe.Issues[0].Expression, tc.expr) {
				t.Errorf("issues %+v, want expression %q", fe.Issues, tc.expr)
			}
		})
	}
}

func errorsAs(err error, fe **fhir.Error) bool {
	e, ok := err.(*fhir.Error)
	*fe = e
	return ok
}

func TestLookupSubsumes(t *testing.T) {
	s := fixtureService(t)
	r, err := s.Lookup(fixtureURL, "", "D4", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var parents, children []string
	for _, p := range r.Properties {
		switch p.Code {
		case "parent":
			parents = append(parents, p.ValueCode)
		case "child":
			children = append(children, p.ValueCode)
		}
	}
	if r.Display != "Marfan syndrome" || r.Name != "CPMSTest" || r.Version != "2" || len(r.Designations) != 2 ||
		!slices.Equal(parents, []string{"D2", "D3"}) || !slices.Equal(children, []string{"D5"}) {
		t.Errorf("lookup D4: %+v", r)
	}
	if r, _ := s.Lookup(fixtureURL, "", "D4", "fr", []string{"display"}); r.Display != "Syndrome de Marfan" || len(r.Properties) != 0 {
		t.Errorf("lookup D4 in French, display only: %+v", r)
	}
	if _, err := s.Lookup(fixtureURL, "", "ZZ", "", nil); !fhir.IsKind(err, fhir.KindNotFound) {
		t.Errorf("unknown code: %v", err)
	}
	if _, err := s.Lookup("http://x/none", "", "D4", "", nil); !fhir.IsKind(err, fhir.KindNotFound) {
		t.Errorf("unknown system: %v", err)
	}
	for _, tc := range []struct{ a, b, want string }{
		{"D1", "D5", Subsumes}, {"D5", "D3", SubsumedBy}, {"D4", "D4", Equivalent}, {"D2", "D6", NotSubsumed},
	} {
		if got, err := s.Subsumes(fixtureURL, "", tc.a, tc.b); err != nil || got != tc.want {
			t.Errorf("subsumes %s %s: %s %v, want %s", tc.a, tc.b, got, err, tc.want)
		}
	}
}

func TestValidateCode(t *testing.T) {
	s := fixtureService(t)
	v, err := s.ValidateCodeInSystem(CodingToCheck{System: fixtureURL, Code: "D4", Display: "MFS"}, "")
	if err != nil || !v.Result || v.Display != "Marfan syndrome" {
		t.Errorf("D4 with a synonym as display: %+v %v", v, err)
	}
	if v, _ := s.ValidateCodeInSystem(CodingToCheck{System: fixtureURL, Code: "D4", Display: "Marfan disease"}, ""); v.Result || !strings.Contains(v.Message, "Wrong Display") {
		t.Errorf("wrong display: %+v", v)
	}
	if v, _ := s.ValidateCodeInSystem(CodingToCheck{System: fixtureURL, Code: "D9"}, ""); v.Result {
		t.Errorf("unknown code: %+v", v)
	}
	if _, err := s.ValidateCodeInSystem(CodingToCheck{System: "http://x/none", Code: "D9"}, ""); !fhir.IsKind(err, fhir.KindNotFound) {
		t.Errorf("unknown system: %v", err)
	}
	in := func(code string) bool {
		v, err := s.ValidateCodeInValueSet(nil, "http://example.org/fhir/ValueSet/connective", "", []CodingToCheck{{System: fixtureURL, Code: code}}, "", false)
		if err != nil {
			t.Fatal(err)
		}
		return v.Result
	}
	if !in("D5") || in("D6") || in("D9") {
		t.Errorf("membership in the is-a value set: D5 %v, D6 %v, D9 %v", in("D5"), in("D6"), in("D9"))
	}
	v, err = s.ValidateCodeInValueSet(nil, "http://example.org/fhir/ValueSet/connective", "", []CodingToCheck{{System: "http://x/none", Code: "A"}}, "", false)
	if err != nil || v.Result || !v.UnknownSystem {
		t.Errorf("a coding of an unknown system: %+v %v", v, err)
	}
}

func TestVersions(t *testing.T) {
	s := fixtureService(t)
	old := fixture()
	old.Version = "1"
	old.Concept = old.Concept[:3]
	s.AddCodeSystem(old)
	ten := fixture()
	ten.Version = "10"
	s.AddCodeSystem(ten)
	if sys, _ := s.System(fixtureURL, ""); sys.Version != "10" {
		t.Errorf("latest: %s, want 10 (numeric order)", sys.Version)
	}
	vs, err := s.Expand(ExpandRequest{URL: fixtureURL + "|1?fhir_vs"})
	if err != nil || len(vs.Expansion.Contains) != 3 || vs.Expansion.Contains[0].Version != "1" {
		t.Errorf("version 1 kept: %v %v", vs, err)
	}
	vs, err = s.Expand(ExpandRequest{URL: fixtureURL + "?fhir_vs", ForceSystemVersion: map[string]string{fixtureURL: "1"}})
	if err != nil || len(vs.Expansion.Contains) != 3 {
		t.Errorf("force-system-version: %v %v", vs, err)
	}
}

func TestStoredFollowsWrites(t *testing.T) {
	s := New()
	body, _ := json.Marshal(fixture())
	if err := s.Stored("CodeSystem", "cs1", body); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.System(fixtureURL, "2"); !ok {
		t.Fatal("stored CodeSystem not indexed")
	}
	// A new version of the resource with another URL drops the old one.
	cs := fixture()
	cs.URL = "http://example.org/other"
	body, _ = json.Marshal(cs)
	s.Stored("CodeSystem", "cs1", body)
	if _, ok := s.System(fixtureURL, ""); ok {
		t.Error("the old URL is still served after the update")
	}
	s.Deleted("CodeSystem", "cs1")
	if _, ok := s.System("http://example.org/other", ""); ok {
		t.Error("a deleted CodeSystem is still served")
	}
	if err := s.Stored("CodeSystem", "bad", []byte(`{"resourceType":"CodeSystem","concept":7}`)); err == nil {
		t.Error("an unreadable CodeSystem was accepted")
	}
}

func TestTranslate(t *testing.T) {
	s := fixtureService(t)
	s.AddConceptMap(&ConceptMap{ResourceType: "ConceptMap", URL: "http://x/cm", Status: "active", Group: []MapGroup{{
		Source: fixtureURL, Target: "http://hl7.org/fhir/sid/icd-10",
		Element: []MapElement{{Code: "D4", Target: []MapTarget{{Code: "Q87.4", Equivalence: "equivalent"}}},
			{Code: "D5", Target: []MapTarget{{Code: "Q87.4", Equivalence: "wider"}}}}}}})
	m, err := s.Translate(TranslateRequest{System: fixtureURL, Code: "D5"})
	if err != nil || len(m) != 1 || m[0].Concept.Code != "Q87.4" || m[0].Equivalence != "wider" || m[0].Source != "http://x/cm" {
		t.Errorf("translate D5: %+v %v", m, err)
	}
	m, _ = s.Translate(TranslateRequest{System: "http://hl7.org/fhir/sid/icd-10", Code: "Q87.4", Reverse: true})
	if len(m) != 2 || m[1].Equivalence != "narrower" || m[0].Concept.Display != "Marfan syndrome" {
		t.Errorf("reverse: %+v", m)
	}
	if m, _ := s.Translate(TranslateRequest{System: fixtureURL, Code: "D1"}); len(m) != 0 {
		t.Errorf("no mapping: %+v", m)
	}
}

func TestCheckCoding(t *testing.T) {
	s := fixtureService(t)
	vs := "http://example.org/fhir/ValueSet/connective"
	sev := func(issues []fhir.Issue) []string {
		var out []string
		for _, is := range issues {
			out = append(out, string(is.Severity)+" "+is.Expression[0])
		}
		return out
	}
	for _, tc := range []struct {
		c    Coding
		vs   string
		want []string
	}{
		{Coding{System: fixtureURL, Code: "D5"}, vs, nil},
		{Coding{System: fixtureURL, Code: "D5", Display: "Marfan"}, "", []string{"warning Condition.code.coding[0].display"}},
		{Coding{System: fixtureURL, Code: "D6"}, vs, []string{"error Condition.code.coding[0]"}},
		{Coding{System: fixtureURL, Code: "D9"}, vs, []string{"error Condition.code.coding[0].code"}},
		{Coding{System: "http://x/unknown", Code: "A"}, "", []string{"warning Condition.code.coding[0].system"}},
		{Coding{System: fixtureURL, Code: "D5"}, "http://x/no-such-vs", []string{"warning Condition.code.coding[0]"}},
		{Coding{Code: "D4"}, vs, nil}, // a code element: the value set's system
		{Coding{Code: "D6"}, vs, []string{"error Condition.code.coding[0]"}},
	} {
		if got := sev(s.CheckCoding(tc.c, tc.vs, "Condition.code.coding[0]")); !slices.Equal(got, tc.want) {
			t.Errorf("%+v in %q: %v, want %v", tc.c, tc.vs, got, tc.want)
		}
	}
}
