package extract

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/internal/testfixture"
)

// example is one resource of the R4 examples: a file of the archive, or a
// resource inside a Bundle of one.
type example struct {
	name string
	typ  fhir.ResourceType
	body []byte
}

// loadExamples reads every resource of the R4 examples, the resources of
// Bundle entries included.
func loadExamples(t testing.TB) []example {
	t.Helper()
	var out []example
	var add func(name string, body []byte)
	add = func(name string, body []byte) {
		var head struct {
			ResourceType fhir.ResourceType `json:"resourceType"`
			Entry        []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(body, &head); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, example{name: name, typ: head.ResourceType, body: body})
		if head.ResourceType == "Bundle" {
			for _, e := range head.Entry {
				if len(e.Resource) > 0 {
					add(name+"#entry", e.Resource)
				}
			}
		}
	}
	testfixture.Examples(t, add)
	return out
}

// TestExamples extracts every parameter of every R4 example and reports
// how many values of each kind they give.
func TestExamples(t *testing.T) {
	examples := loadExamples(t)
	x := New(search.NewTable(), Options{Base: "http://hl7.org/fhir"})
	var total search.Index
	var n, entries, ofType, ident int
	for _, ex := range examples {
		if strings.HasSuffix(ex.name, "#entry") {
			entries++
		}
		idx, err := x.Extract(ex.typ, ex.body)
		if err != nil {
			t.Errorf("%s: %v", ex.name, err)
			continue
		}
		n++
		for _, tok := range idx.Tokens {
			switch {
			case strings.HasSuffix(tok.Param, search.SuffixOfType):
				ofType++
			case strings.HasSuffix(tok.Param, search.SuffixIdentifier):
				ident++
			}
		}
		total.Tokens = append(total.Tokens, idx.Tokens...)
		total.Strings = append(total.Strings, idx.Strings...)
		total.Dates = append(total.Dates, idx.Dates...)
		total.Numbers = append(total.Numbers, idx.Numbers...)
		total.Quantities = append(total.Quantities, idx.Quantities...)
		total.References = append(total.References, idx.References...)
		total.URIs = append(total.URIs, idx.URIs...)
		total.Composites = append(total.Composites, idx.Composites...)
	}
	t.Logf("%d of %d resources indexed without error (%d files, %d Bundle entries): %d tokens (%d :of-type, %d :identifier), %d strings, %d dates, %d numbers, %d quantities (%d with a canonical unit), %d references, %d uris, %d composites",
		n, len(examples), len(examples)-entries, entries, len(total.Tokens), ofType, ident, len(total.Strings), len(total.Dates), len(total.Numbers),
		len(total.Quantities), canonical(total.Quantities), len(total.References), len(total.URIs), len(total.Composites))
	if len(total.Composites) == 0 || len(total.Quantities) == 0 || ofType == 0 || ident == 0 {
		t.Error("some value kind was never extracted")
	}
}

func canonical(qs []search.Quantity) int {
	n := 0
	for _, q := range qs {
		if q.CanonicalCode != "" {
			n++
		}
	}
	return n
}

// TestSpotChecks checks values of the R4 example Patient and Observation.
func TestSpotChecks(t *testing.T) {
	x := New(search.NewTable(), Options{Base: "http://hl7.org/fhir"})
	idx, err := x.Extract("Patient", testfixture.Patient)
	if err != nil {
		t.Fatal(err)
	}
	has := func(what string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("missing %s", what)
		}
	}
	has("family chalmers", slices.Contains(idx.Strings, search.String{Param: "family", Value: "chalmers", Exact: "Chalmers"}))
	day := ms("1974-12-25T00:00:00Z")
	has("birthdate 1974-12-25", slices.Contains(idx.Dates, search.Date{Param: "birthdate", Lo: day, Hi: day + 24*3600*1000}))
	has("gender male", slices.Contains(idx.Tokens, search.Token{Param: "gender", System: "http://hl7.org/fhir/administrative-gender", Code: "male"}))
	has("identifier 12345", slices.Contains(idx.Tokens, search.Token{Param: "identifier", System: "urn:oid:1.2.36.146.595.217.0.1", Code: "12345"}))
	has("identifier of-type MR", slices.Contains(idx.Tokens, search.Token{Param: "identifier:of-type",
		Code: "http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345"}))
	has("organization", slices.Contains(idx.References, search.Reference{Param: "organization", Type: "Organization", ID: "1"}))

	var obs []byte
	for _, ex := range loadExamples(t) {
		if ex.name == "Observation-example.json" {
			obs = ex.body
		}
	}
	if obs == nil {
		t.Fatal("Observation-example.json not found")
	}
	idx, err = x.Extract("Observation", obs)
	if err != nil {
		t.Fatal(err)
	}
	has("code 29463-7", slices.Contains(idx.Tokens, search.Token{Param: "code", System: "http://loinc.org", Code: "29463-7", Text: "body weight"}))
	has("code 3141-9", slices.Contains(idx.Tokens, search.Token{Param: "code", System: "http://loinc.org", Code: "3141-9", Text: "body weight measured"}))
	has("subject Patient/example", slices.Contains(idx.References, search.Reference{Param: "subject", Type: "Patient", ID: "example"}))
	q := only(idx, "value-quantity").Quantities
	lb, _, _ := fhirpath.UCUMCanonical(185, "[lb_av]")
	if len(q) != 1 || q[0].Lo != 185 || q[0].Code != "[lb_av]" || q[0].CanonicalCode != "g" || q[0].CanonicalLo != lb || math.Abs(lb-83914.59) > 0.01 {
		t.Errorf("value-quantity = %+v", q)
	}
	cvq := only(idx, "code-value-quantity").Composites
	if len(cvq) != 4 || cvq[0].Parts[0].Token.Code != "29463-7" || cvq[0].Parts[1].Quantity.CanonicalLo != lb {
		t.Errorf("code-value-quantity = %+v", cvq)
	}
}
