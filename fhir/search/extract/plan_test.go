package extract

import (
	"slices"
	"testing"

	"github.com/cpms-fhir/cpms/fhir/model"
)

func TestSplitUnion(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{"Patient.name", []string{"Patient.name"}},
		{"Patient.name | Practitioner.name", []string{"Patient.name", "Practitioner.name"}},
		{"(A.value as Quantity) | (A.value as Range)", []string{"(A.value as Quantity)", "(A.value as Range)"}},
		{"A.x.where(y = 'a|b') | B.x", []string{"A.x.where(y = 'a|b')", "B.x"}},
		{"A.x | B.x = 'a'", []string{"A.x | B.x = 'a'"}},
		{"A.deceased.exists() and A.deceased != false", []string{"A.deceased.exists() and A.deceased != false"}},
		{"A.x | B.y contains 'z'", []string{"A.x | B.y contains 'z'"}},
		{"ValueSet.expansion.contains.code | A.b", []string{"ValueSet.expansion.contains.code", "A.b"}},
		{"A.x | B.`in`", []string{"A.x", "B.`in`"}},
	} {
		if got := splitUnion(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("splitUnion(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

func TestAnalyse(t *testing.T) {
	for _, tc := range []struct {
		start, expr string
		typ         string // "" when unknown
		system      string
	}{
		{"Patient", "Patient.gender", "code", "http://hl7.org/fhir/administrative-gender"},
		{"Patient", "Patient.address.use", "code", "http://hl7.org/fhir/address-use"},
		{"Patient", "Patient.name", "HumanName", ""},
		{"Patient", "Patient.telecom.where(system='phone')", "ContactPoint", ""},
		{"Patient", "Patient.link[0].type", "code", "http://hl7.org/fhir/link-type"},
		{"Patient", "Patient.name.first().family", "string", ""},
		{"Observation", "(Observation.value as Quantity)", "Quantity", ""},
		{"Observation", "Observation.value.as(CodeableConcept)", "CodeableConcept", ""},
		{"Observation", "Observation.value.ofType(string)", "string", ""},
		{"Observation", "Observation.component", "Observation.component", ""},
		{"Observation.component", "value.as(Quantity)", "Quantity", ""},
		{"Observation", "Observation.subject.where(resolve() is Patient)", "Reference", ""},
		{"Patient", "Patient.deceased.exists()", "", ""},
		{"Patient", "Patient.nope", "", ""},
		{"Patient", "Resource.meta.tag", "Coding", ""},
		{"Observation", "Observation.value", "", ""}, // a choice: the type is not known
	} {
		el, typ := analyse(model.Lookup(tc.start), tc.expr)
		got := ""
		if typ != nil {
			got = typ.Name
		}
		system := ""
		if el != nil && typ != nil && typ.Name == "code" {
			system = el.CodeSystem
		}
		if got != tc.typ || system != tc.system {
			t.Errorf("analyse(%s, %q) = %q %q, want %q %q", tc.start, tc.expr, got, system, tc.typ, tc.system)
		}
	}
}
