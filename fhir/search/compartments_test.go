package search

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search/internal/gen"
	"github.com/cpms-fhir/cpms/internal/testfixture"
)

// TestGeneratedCompartmentsUpToDate checks the embedded compartment table
// against a fresh generation from the R4 definitions.
func TestGeneratedCompartmentsUpToDate(t *testing.T) {
	defs := filepath.Dir(testfixture.SharedData(t, "fhir", "definitions-r4", gen.CompartmentFile))
	testfixture.CheckGenerated(t, compartmentData, func() ([]byte, error) { return gen.BuildCompartments(defs) },
		"compartments.json.gz", "go generate ./fhir/search")
}

// Every parameter that puts a resource in a compartment is one of its R4
// reference parameters, which the extractor indexes.
func TestCompartmentParamsAreReferences(t *testing.T) {
	tb := NewTable()
	if len(Compartments()) != 5 {
		t.Fatalf("%d compartments, want the 5 of R4", len(Compartments()))
	}
	for _, c := range Compartments() {
		if !c.Has(c.Code) || !slices.Contains(c.Types(), c.Code) {
			t.Errorf("%s is not in its own compartment", c.Code)
		}
		if CompartmentOf(c.Code) != c {
			t.Errorf("CompartmentOf(%s) is not its compartment", c.Code)
		}
		for _, typ := range c.Types() {
			for _, code := range c.Params(typ) {
				p, ok := tb.Lookup(typ, code)
				if !ok || p.Type != TypeReference {
					t.Errorf("compartment %s: %s.%s is not a reference parameter", c.Code, typ, code)
				}
			}
		}
	}
	if codePattern.MatchString(CompartmentParam) {
		t.Errorf("%s could be a search parameter's code", CompartmentParam)
	}
	if CompartmentOf("Observation") != nil {
		t.Error("Observation owns no compartment")
	}
}

func TestCompartmentParts(t *testing.T) {
	owner := func(typ fhir.ResourceType, id fhir.ID) *Clause {
		return &Clause{Param: CompartmentParam, Type: TypeReference, Values: []Value{{Type: typ, ID: id}}}
	}
	ref := func(param string) Clause {
		return Clause{Param: param, Type: TypeReference, Values: []Value{{Type: "Patient", ID: "p1"}}}
	}
	for _, tc := range []struct {
		typ  fhir.ResourceType
		cl   *Clause
		want []Clause
	}{
		{"Observation", owner("Patient", "p1"), []Clause{ref("subject"), ref("performer")}},
		{"Patient", owner("Patient", "p1"), []Clause{ref("link"), {Param: "_id", Type: TypeToken, Values: []Value{{Code: "p1"}}}}},
		{"Organization", owner("Patient", "p1"), nil},
		{"Patient", &Clause{Param: CompartmentParam, Type: TypeReference, Values: []Value{{Type: "Patient", ID: "p1"}, {Type: "Patient", ID: "p2"}}},
			[]Clause{{Param: "link", Type: TypeReference, Values: []Value{{Type: "Patient", ID: "p1"}, {Type: "Patient", ID: "p2"}}},
				{Param: "_id", Type: TypeToken, Values: []Value{{Code: "p1"}, {Code: "p2"}}}}},
	} {
		got, err := CompartmentParts(tc.typ, tc.cl)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s in %v: %v, want %v", tc.typ, tc.cl.Values, got, tc.want)
		}
	}
	for _, bad := range []*Clause{owner("Organization", "o"), owner("Patient", ""),
		{Param: CompartmentParam, Type: TypeReference},
		{Param: CompartmentParam, Type: TypeReference, Values: []Value{{Type: "Patient", ID: "a"}, {Type: "Practitioner", ID: "b"}}},
		{Param: CompartmentParam, Type: TypeReference, Values: []Value{{Type: "Patient", ID: "a"}, {Type: "Patient", ID: ""}}}} {
		if _, err := CompartmentParts("Observation", bad); err == nil {
			t.Errorf("%v: no error", bad.Values)
		}
	}
	if got := CompartmentParams("Encounter"); !slices.Contains(got, "encounter") || !slices.Contains(got, "context") || slices.Contains(got, "subject") {
		t.Errorf("CompartmentParams(Encounter): %v", got)
	}
}
