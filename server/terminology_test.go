package server_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/server"
	"github.com/cpms-fhir/cpms/terminology"
)

// newTermServer is a server with a terminology service that holds the
// embedded seed and follows the stored CodeSystems, ValueSets and
// ConceptMaps, as `cpms serve` wires it.
func newTermServer(t *testing.T) *testServer {
	t.Helper()
	svc := terminology.New()
	if err := terminology.LoadSeed(svc); err != nil {
		t.Fatal(err)
	}
	observe := func(_ context.Context, r *fhir.Resource) {
		if r.Deleted {
			svc.Deleted(r.Type, r.ID)
		} else if err := svc.Stored(r.Type, r.ID, r.Body); err != nil {
			t.Errorf("stored %s: %v", r.Ref(), err)
		}
	}
	return newTestServerWith(t, func(o *engine.Options) { o.Observe, o.ObserveTypes = observe, terminology.ResourceTypes },
		func(o *server.Options) { o.Terminology = svc })
}

// rareCS is a small CodeSystem in the shape of the CPMS seeds: flat
// concepts with parent properties, synonyms, a French designation.
const rareCS = `{"resourceType":"CodeSystem","id":"rare","url":"http://example.org/rare","version":"1","name":"Rare","status":"active",
 "content":"complete","hierarchyMeaning":"is-a","property":[{"code":"parent","type":"code"}],
 "concept":[
  {"code":"R1","display":"Rare disease"},
  {"code":"R2","display":"Marfan syndrome","designation":[{"language":"fr","value":"Syndrome de Marfan"},
    {"language":"en","use":{"system":"http://snomed.info/sct","code":"900000000000013009"},"value":"MFS"}],
   "property":[{"code":"parent","valueCode":"R1"}]},
  {"code":"R3","display":"Neonatal Marfan syndrome","property":[{"code":"parent","valueCode":"R2"}]}]}`

func paramValue(params any, name string) any {
	list, _ := get(params, "parameter").([]any)
	for _, p := range list {
		if get(p, "name") == name {
			for k, v := range p.(map[string]any) {
				if k != "name" {
					return v
				}
			}
		}
	}
	return nil
}

func expansionCodes(r *response) []string {
	var out []string
	list, _ := get(r.JSON, "expansion", "contains").([]any)
	for _, c := range list {
		out = append(out, str(c, "code"))
	}
	return out
}

func TestTerminologyOperationsHTTP(t *testing.T) {
	ts := newTermServer(t)
	wantStatus(t, ts.do("PUT", "/fhir/CodeSystem/rare", rareCS), http.StatusCreated)

	// $expand by GET, type-ahead over a stored CodeSystem.
	r := ts.do("GET", "/fhir/ValueSet/$expand?url="+url.QueryEscape("http://example.org/rare?fhir_vs")+"&filter=marf&count=5", nil)
	wantStatus(t, r, http.StatusOK)
	if got := expansionCodes(r); !slices.Equal(got, []string{"R2", "R3"}) {
		t.Errorf("expand filter=marf: %v", got)
	}
	if str(r.JSON, "resourceType") != "ValueSet" || get(r.JSON, "expansion", "total") == nil {
		t.Errorf("expansion without total: %s", r.Body)
	}
	// $expand by POST with a value set given whole, in French.
	r = ts.do("POST", "/fhir/ValueSet/$expand", `{"resourceType":"Parameters","parameter":[
		{"name":"valueSet","resource":{"resourceType":"ValueSet","status":"active","compose":{"include":[
			{"system":"http://example.org/rare","filter":[{"property":"concept","op":"descendent-of","value":"R1"}]}]}}},
		{"name":"displayLanguage","valueCode":"fr"}]}`)
	wantStatus(t, r, http.StatusOK)
	if got := expansionCodes(r); !slices.Equal(got, []string{"R2", "R3"}) || str(r.JSON, "expansion", "contains", 0, "display") != "Syndrome de Marfan" {
		t.Errorf("expand descendent-of in French: %s", r.Body)
	}
	// $lookup at type and instance level.
	for _, path := range []string{"/fhir/CodeSystem/$lookup?system=http://example.org/rare&code=R2", "/fhir/CodeSystem/rare/$lookup?code=R2"} {
		r = ts.do("GET", path, nil)
		wantStatus(t, r, http.StatusOK)
		if paramValue(r.JSON, "display") != "Marfan syndrome" || paramValue(r.JSON, "name") != "Rare" {
			t.Errorf("%s: %s", path, r.Body)
		}
	}
	// $validate-code on the system and on a value set.
	r = ts.do("GET", "/fhir/CodeSystem/$validate-code?url=http://example.org/rare&code=R3", nil)
	if paramValue(r.JSON, "result") != true {
		t.Errorf("validate R3: %s", r.Body)
	}
	r = ts.do("GET", "/fhir/ValueSet/$validate-code?url="+url.QueryEscape("http://example.org/rare?fhir_vs=isa/R2")+"&system=http://example.org/rare&code=R1", nil)
	if paramValue(r.JSON, "result") != false || paramValue(r.JSON, "message") == nil {
		t.Errorf("R1 is not below R2: %s", r.Body)
	}
	// $subsumes.
	r = ts.do("GET", "/fhir/CodeSystem/$subsumes?system=http://example.org/rare&codeA=R1&codeB=R3", nil)
	if paramValue(r.JSON, "outcome") != "subsumes" {
		t.Errorf("subsumes: %s", r.Body)
	}
	// The FHIR R4 value sets are there on a fresh server.
	r = ts.do("GET", "/fhir/ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/administrative-gender", nil)
	if got := expansionCodes(r); !slices.Equal(got, []string{"male", "female", "other", "unknown"}) {
		t.Errorf("administrative-gender: %v", got)
	}
	// A stored ValueSet is used by $expand once written, and forgotten
	// once deleted.
	wantStatus(t, ts.do("PUT", "/fhir/ValueSet/marfan", `{"resourceType":"ValueSet","id":"marfan","url":"http://example.org/vs/marfan","status":"active",
		"compose":{"include":[{"system":"http://example.org/rare","filter":[{"property":"concept","op":"is-a","value":"R2"}]}]}}`), http.StatusCreated)
	r = ts.do("GET", "/fhir/ValueSet/marfan/$expand", nil)
	if got := expansionCodes(r); !slices.Equal(got, []string{"R2", "R3"}) {
		t.Errorf("instance expand: %v", got)
	}
	wantStatus(t, ts.do("DELETE", "/fhir/ValueSet/marfan", nil), http.StatusNoContent)
	wantStatus(t, ts.do("GET", "/fhir/ValueSet/$expand?url=http://example.org/vs/marfan", nil), http.StatusNotFound)
}

func TestTerminologyErrorsHTTP(t *testing.T) {
	ts := newTermServer(t)
	wantStatus(t, ts.do("PUT", "/fhir/CodeSystem/rare", rareCS), http.StatusCreated)
	for _, tc := range []struct {
		method, path, body string
		status             int
		expr               string
	}{
		{"GET", "/fhir/CodeSystem/$lookup?system=http://example.org/none&code=X", "", http.StatusNotFound, "system"},
		{"GET", "/fhir/CodeSystem/$lookup?system=http://example.org/rare&code=ZZ", "", http.StatusNotFound, "code"},
		{"GET", "/fhir/CodeSystem/$lookup?system=http://example.org/rare", "", http.StatusBadRequest, "code"},
		{"GET", "/fhir/ValueSet/$expand", "", http.StatusBadRequest, "url"},
		{"GET", "/fhir/ValueSet/$expand?url=" + url.QueryEscape("http://example.org/rare?fhir_vs=isa/ZZ"), "", http.StatusBadRequest,
			"ValueSet.compose.include[0].filter[0].value"},
		{"GET", "/fhir/ValueSet/$expand?url=" + url.QueryEscape("http://example.org/rare?fhir_vs") + "&count=x", "", http.StatusBadRequest, "count"},
		{"POST", "/fhir/ValueSet/$expand", `{"resourceType":"Patient"}`, http.StatusBadRequest, "resourceType"},
		{"GET", "/fhir/ValueSet/$expand?url=" + url.QueryEscape("http://example.org/unknown?fhir_vs"), "", http.StatusNotFound, ""},
		{"DELETE", "/fhir/ValueSet/$expand", "", http.StatusMethodNotAllowed, ""},
		{"GET", "/fhir/CodeSystem/nope/$lookup?code=R1", "", http.StatusNotFound, ""},
		{"GET", "/fhir/CodeSystem/$lookup?system=http://example.org/rare&code=R2&displayLanguage=-", "", http.StatusBadRequest, "displayLanguage"},
	} {
		r := ts.do(tc.method, tc.path, tc.body)
		wantStatus(t, r, tc.status)
		if tc.expr != "" && !slices.Contains(expressions(t, r), tc.expr) {
			t.Errorf("%s %s: expressions %v, want %q", tc.method, tc.path, expressions(t, r), tc.expr)
		}
	}
}

// TestTerminologyCapabilities calls every terminology operation the
// CapabilityStatement declares, on a server wired as `cpms serve` is.
func TestTerminologyCapabilities(t *testing.T) {
	ts := newTermServer(t)
	wantStatus(t, ts.do("PUT", "/fhir/CodeSystem/rare", rareCS), http.StatusCreated)
	wantStatus(t, ts.do("PUT", "/fhir/ConceptMap/rare-icd", `{"resourceType":"ConceptMap","id":"rare-icd","url":"http://example.org/cm","status":"active",
		"group":[{"source":"http://example.org/rare","target":"http://hl7.org/fhir/sid/icd-10","element":[{"code":"R2","target":[{"code":"Q87.4","equivalence":"equivalent"}]}]}]}`),
		http.StatusCreated)
	cs := ts.do(http.MethodGet, "/fhir/metadata", nil).JSON
	resources, _ := get(cs, "rest", 0, "resource").([]any)
	calls := map[string]string{
		"CodeSystem/lookup":        "/fhir/CodeSystem/$lookup?system=http://example.org/rare&code=R2",
		"CodeSystem/validate-code": "/fhir/CodeSystem/$validate-code?url=http://example.org/rare&code=R2",
		"CodeSystem/subsumes":      "/fhir/CodeSystem/$subsumes?system=http://example.org/rare&codeA=R1&codeB=R2",
		"ValueSet/expand":          "/fhir/ValueSet/$expand?url=" + url.QueryEscape("http://example.org/rare?fhir_vs"),
		"ValueSet/validate-code":   "/fhir/ValueSet/$validate-code?url=" + url.QueryEscape("http://example.org/rare?fhir_vs") + "&system=http://example.org/rare&code=R2",
		"ConceptMap/translate":     "/fhir/ConceptMap/$translate?system=http://example.org/rare&code=R2",
	}
	want := map[string]string{"CodeSystem/lookup": "display", "CodeSystem/validate-code": "result", "CodeSystem/subsumes": "outcome",
		"ValueSet/validate-code": "result", "ConceptMap/translate": "result"}
	seen := 0
	for _, res := range resources {
		typ := str(res, "type")
		for _, op := range codes(get(res, "operation")) {
			if op == "validate" || op == "everything" {
				continue // exercised by TestCapabilitiesWork
			}
			key := typ + "/" + op
			path, ok := calls[key]
			if !ok {
				t.Errorf("operation $%s is declared for %s but this test cannot exercise it", op, typ)
				continue
			}
			seen++
			r := ts.do(http.MethodGet, path, nil)
			wantStatus(t, r, http.StatusOK)
			switch name := want[key]; {
			case name == "":
				if len(expansionCodes(r)) != 3 {
					t.Errorf("%s: %s", key, r.Body)
				}
			case paramValue(r.JSON, name) == nil || paramValue(r.JSON, name) == false:
				t.Errorf("%s: no %s: %s", key, name, r.Body)
			}
		}
	}
	if seen != len(calls) {
		t.Errorf("%d terminology operations declared, want %d", seen, len(calls))
	}
}
