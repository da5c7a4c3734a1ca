package model

import (
	"testing"

	"github.com/cpms-fhir/cpms/fhir/model/internal/gen"
	"github.com/cpms-fhir/cpms/internal/testfixture"
)

func TestGeneratedTableUpToDate(t *testing.T) {
	defs := testfixture.SharedData(t, "fhir", "definitions-r4")
	testfixture.CheckGenerated(t, r4Data, func() ([]byte, error) { return gen.Build(defs) }, "r4.json.gz", "go generate ./fhir/model")
}

func TestTypes(t *testing.T) {
	if v := FHIRVersion(); v != "4.0.1" {
		t.Errorf("FHIRVersion = %q", v)
	}
	rts := ResourceTypes()
	if len(rts) != 146 {
		t.Errorf("%d resource types, want 146", len(rts))
	}
	for _, tc := range []struct {
		name      string
		resource  bool
		primitive bool
		base      string
	}{
		{"Patient", true, false, "DomainResource"},
		{"Bundle", true, false, "Resource"},
		{"Resource", false, false, ""},
		{"DomainResource", false, false, "Resource"},
		{"Age", false, false, "Quantity"},
		{"code", false, true, "string"},
		{"positiveInt", false, true, "integer"},
		{"HumanName", false, false, "Element"},
		{"Dosage", false, false, "BackboneElement"},
		{"Patient.contact", false, false, "BackboneElement"},
		{"Timing.repeat", false, false, "Element"},
	} {
		if got := IsResourceType(tc.name); got != tc.resource {
			t.Errorf("IsResourceType(%s) = %v", tc.name, got)
		}
		if got := IsPrimitive(tc.name); got != tc.primitive {
			t.Errorf("IsPrimitive(%s) = %v", tc.name, got)
		}
		if got := BaseType(tc.name); got != tc.base {
			t.Errorf("BaseType(%s) = %q, want %q", tc.name, got, tc.base)
		}
	}
	if p := PrimitiveTypes(); len(p) != 20 || p[0] != "base64Binary" {
		t.Errorf("PrimitiveTypes() = %v", p)
	}
	if IsResourceType("SimpleQuantity") || Lookup("SimpleQuantity") != nil || Lookup("MetadataResource") != nil {
		t.Error("constraint profiles and logical models must not be types")
	}
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"Patient", "Resource", true},
		{"Patient", "DomainResource", true},
		{"Bundle", "DomainResource", false},
		{"Age", "Quantity", true},
		{"Quantity", "Age", false},
		{"code", "string", true},
		{"id", "code", false},
		{"Patient.contact", "BackboneElement", true},
		{"Patient", "Nope", false},
	} {
		if got := IsSubtypeOf(tc.a, tc.b); got != tc.want {
			t.Errorf("IsSubtypeOf(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
	sys := map[string]SystemType{"boolean": SystemBoolean, "code": SystemString, "unsignedInt": SystemInteger,
		"decimal": SystemDecimal, "date": SystemDate, "instant": SystemDateTime, "time": SystemTime,
		"Quantity": SystemQuantity, "Age": SystemQuantity, "HumanName": NoSystemType}
	for n, want := range sys {
		if got := Lookup(n).System; got != want {
			t.Errorf("%s.System = %v, want %v", n, got, want)
		}
	}
}

func TestElements(t *testing.T) {
	for _, tc := range []struct {
		typ, path string
		types     []string
		max       int
		choice    bool
	}{
		{"Patient", "name", []string{"HumanName"}, -1, false},
		{"Patient", "Patient.birthDate", []string{"date"}, 1, false},
		{"Patient", "id", []string{"id"}, 1, false},
		{"Patient", "contact.name", []string{"HumanName"}, 1, false},
		{"Patient", "deceased", []string{"boolean", "dateTime"}, 1, true},
		{"Patient", "contact", []string{"Patient.contact"}, -1, false},
		{"Questionnaire", "item.item", []string{"Questionnaire.item"}, -1, false},
		{"Questionnaire", "item.item.item.linkId", []string{"string"}, 1, false},
		{"Observation", "valueQuantity.unit", []string{"string"}, 1, false},
		{"Extension", "url", []string{"uri"}, 1, false},
		{"HumanName", "id", []string{"string"}, 1, false},
		{"Bundle", "entry.resource", []string{"Resource"}, 1, false},
	} {
		el, ok := LookupElement(tc.typ, tc.path)
		if !ok {
			t.Errorf("LookupElement(%s, %s) not found", tc.typ, tc.path)
			continue
		}
		var names []string
		for _, et := range el.Types {
			names = append(names, et.Type.Name)
		}
		if len(names) != len(tc.types) {
			t.Errorf("LookupElement(%s, %s) types %v, want %v", tc.typ, tc.path, names, tc.types)
		} else {
			for i := range names {
				if names[i] != tc.types[i] {
					t.Errorf("LookupElement(%s, %s) types %v, want %v", tc.typ, tc.path, names, tc.types)
				}
			}
		}
		if el.Max != tc.max || el.Choice != tc.choice {
			t.Errorf("LookupElement(%s, %s) max %d choice %v", tc.typ, tc.path, el.Max, el.Choice)
		}
	}
	for _, p := range []string{"name.given1", "value", "deceased.x", ""} {
		if _, ok := LookupElement("Patient", p); ok {
			t.Errorf("Element(Patient, %q) found", p)
		}
	}
	if el, _ := LookupElement("Questionnaire", "item.item"); el.ContentReference != "#Questionnaire.item" {
		t.Errorf("contentReference = %q", el.ContentReference)
	}
	if el, _ := LookupElement("Observation", "subject"); len(el.Targets) != 4 || el.Targets[0] != "Patient" {
		t.Errorf("Observation.subject targets = %v", el.Targets)
	}
	obs := Lookup("Observation")
	if el := obs.ElementByJSONName("_valueString"); el == nil || el.Name != "value" {
		t.Errorf("ElementByJSONName(_valueString) = %v", el)
	}
	if et, ok := obs.Element("value").ChoiceType("Quantity"); !ok || et.JSONName != "valueQuantity" || et.ExtName != "" {
		t.Errorf("ChoiceType(Quantity) = %+v", et)
	}
	if et, _ := obs.Element("value").ChoiceType("dateTime"); et.ExtName != "_valueDateTime" {
		t.Errorf("ChoiceType(dateTime) = %+v", et)
	}
	for _, tc := range [][3]string{{"Patient", "name", "HumanName"}, {"Patient", "contact", "Patient.contact"},
		{"Observation", "valueQuantity", "Quantity"}, {"Patient.contact", "name", "HumanName"}} {
		if got, ok := ChildType(tc[0], tc[1]); !ok || got != tc[2] {
			t.Errorf("ChildType(%s, %s) = %q, %v", tc[0], tc[1], got, ok)
		}
	}
	if _, ok := ChildType("Observation", "value"); ok {
		t.Error("ChildType(Observation, value) must need a type suffix")
	}
	if got := Lookup("Patient.contact").TypeName(); got != "BackboneElement" {
		t.Errorf("TypeName = %q", got)
	}
}

func TestCodeSystems(t *testing.T) {
	for _, tc := range [][3]string{
		{"Patient", "gender", "http://hl7.org/fhir/administrative-gender"},
		{"Patient", "address.use", "http://hl7.org/fhir/address-use"},
		{"Observation", "status", "http://hl7.org/fhir/observation-status"},
		{"Task", "intent", ""},                 // two code systems
		{"Patient", "language", ""},            // preferred binding
		{"Observation", "code", ""},            // not a code element
		{"Composition", "confidentiality", ""}, // value set not in the definitions
	} {
		el, ok := LookupElement(tc[0], tc[1])
		if !ok {
			t.Errorf("LookupElement(%s, %s) not found", tc[0], tc[1])
			continue
		}
		if el.CodeSystem != tc[2] {
			t.Errorf("%s.%s CodeSystem = %q, want %q", tc[0], tc[1], el.CodeSystem, tc[2])
		}
	}
}

func BenchmarkLookupElement(b *testing.B) {
	p := Lookup("Patient")
	b.ReportAllocs()
	for b.Loop() {
		if p.Element("birthDate") == nil {
			b.Fatal("missing")
		}
	}
}

// BenchmarkDecode measures the one-time decoding of the embedded table.
func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(r4Data); err != nil {
			b.Fatal(err)
		}
	}
}
