package base

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/cpms-fhir/cpms/internal/gendata"
	"github.com/cpms-fhir/cpms/internal/testfixture"
	"github.com/cpms-fhir/cpms/profiles/base/internal/gen"
)

// TestGeneratedTableUpToDate checks that the embedded table is the one the
// generator makes from the shared R4 definitions.
func TestGeneratedTableUpToDate(t *testing.T) {
	defs := filepath.Dir(testfixture.SharedData(t, "fhir", "definitions-r4", gen.Files[0]))
	testfixture.CheckGenerated(t, r4Data, func() ([]byte, error) { return gen.Build(defs) }, "r4definitions.json.gz", "go generate ./profiles/base")
	if n := len(r4Data); n > 2<<20 {
		t.Errorf("embedded table is %d bytes, want well under 2 MB", n)
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := gendata.Gunzip(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGet(t *testing.T) {
	tests := []struct {
		url, typ, kind, derivation string
		elements                   int
	}{
		{"http://hl7.org/fhir/StructureDefinition/Patient", "Patient", "resource", "specialization", 45},
		{"http://hl7.org/fhir/StructureDefinition/Patient|4.0.1", "Patient", "resource", "specialization", 45},
		{"http://hl7.org/fhir/StructureDefinition/Identifier", "Identifier", "complex-type", "specialization", 9},
		{"http://hl7.org/fhir/StructureDefinition/string", "string", "primitive-type", "specialization", 4},
		{"http://hl7.org/fhir/StructureDefinition/Extension", "Extension", "complex-type", "specialization", 5},
		{"http://hl7.org/fhir/StructureDefinition/SimpleQuantity", "Quantity", "complex-type", "constraint", 8},
		{"http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "Extension", "complex-type", "constraint", 5},
	}
	for _, tt := range tests {
		sd, ok := Get(tt.url)
		if !ok {
			t.Errorf("Get(%s): not found", tt.url)
			continue
		}
		if sd.Type != tt.typ || sd.Kind != tt.kind || sd.Derivation != tt.derivation {
			t.Errorf("Get(%s) = type %s kind %s derivation %s", tt.url, sd.Type, sd.Kind, sd.Derivation)
		}
		if n := len(sd.Snapshot.Element); n != tt.elements {
			t.Errorf("Get(%s): %d snapshot elements, want %d", tt.url, n, tt.elements)
		}
	}
	for _, url := range []string{"http://hl7.org/fhir/StructureDefinition/vitalsigns", "http://example.org/x", "http://hl7.org/fhir/StructureDefinition/Patient|3.0.2"} {
		if _, ok := Get(url); ok {
			t.Errorf("Get(%s) found", url)
		}
	}
	if n := len(URLs()); n < 600 {
		t.Errorf("URLs: %d definitions", n)
	}
}

func TestByType(t *testing.T) {
	for code, url := range map[string]string{
		"Patient":         "http://hl7.org/fhir/StructureDefinition/Patient",
		"Quantity":        "http://hl7.org/fhir/StructureDefinition/Quantity",
		"Extension":       "http://hl7.org/fhir/StructureDefinition/Extension",
		"Element":         "http://hl7.org/fhir/StructureDefinition/Element",
		"BackboneElement": "http://hl7.org/fhir/StructureDefinition/BackboneElement",
		"Resource":        "http://hl7.org/fhir/StructureDefinition/Resource",
		"dateTime":        "http://hl7.org/fhir/StructureDefinition/dateTime",
	} {
		sd, ok := ByType(code)
		if !ok || sd.URL != url {
			t.Errorf("ByType(%s) = %v, %v; want %s", code, sd, ok, url)
		}
	}
	if _, ok := ByType("http://hl7.org/fhirpath/System.String"); ok {
		t.Error("ByType(System.String) found")
	}
}

// TestElementContents checks the members kept of some elements.
func TestElementContents(t *testing.T) {
	sd, _ := Get("http://hl7.org/fhir/StructureDefinition/Extension")
	url := find(t, sd, "Extension.url")
	if len(url.Type) != 1 || url.Type[0].FHIRType() != "uri" || url.Type[0].Code != "http://hl7.org/fhirpath/System.String" {
		t.Errorf("Extension.url type = %+v", url.Type)
	}
	ext := find(t, sd, "Extension.extension")
	if ext.Slicing == nil || ext.Slicing.Rules != "open" || ext.Slicing.Discriminator[0] != (Discriminator{"value", "url"}) {
		t.Errorf("Extension.extension slicing = %+v", ext.Slicing)
	}
	if ext.Base == nil || ext.Base.Path != "Element.extension" || ext.Base.Max != "*" {
		t.Errorf("Extension.extension base = %+v", ext.Base)
	}

	sd, _ = Get("http://hl7.org/fhir/StructureDefinition/Patient")
	g := find(t, sd, "Patient.gender")
	if g.Binding == nil || g.Binding.Strength != "required" || g.Binding.ValueSet != "http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1" || g.Binding.Description != "" {
		t.Errorf("Patient.gender binding = %+v", g.Binding)
	}
	if g.Short == "" || g.Extra["definition"] != nil || g.Extra["mapping"] != nil {
		t.Errorf("Patient.gender keeps short %q, drops documentation: extra %v", g.Short, g.Extra)
	}
	if len(g.Constraint) != 1 || g.Constraint[0].Key != "ele-1" || g.Constraint[0].Expression == "" || g.Constraint[0].Source != "http://hl7.org/fhir/StructureDefinition/Element" || g.Constraint[0].XPath != "" {
		t.Errorf("Patient.gender constraints = %+v", g.Constraint)
	}
	if g.IsSummary == nil || !*g.IsSummary || g.IsModifier == nil || *g.IsModifier {
		t.Errorf("Patient.gender isSummary/isModifier = %v/%v", g.IsSummary, g.IsModifier)
	}
	if e := find(t, sd, "Patient.deceased[x]"); len(e.Type) != 2 {
		t.Errorf("Patient.deceased[x] types = %+v", e.Type)
	}
	if e := find(t, sd, "Patient.link.other"); len(e.Type) != 1 || len(e.Type[0].TargetProfile) != 2 {
		t.Errorf("Patient.link.other type = %+v", e.Type)
	}

	sd, _ = Get("http://hl7.org/fhir/StructureDefinition/Questionnaire")
	if e := find(t, sd, "Questionnaire.item.item"); e.ContentReference != "#Questionnaire.item" {
		t.Errorf("Questionnaire.item.item contentReference = %q", e.ContentReference)
	}
	sd, _ = Get("http://hl7.org/fhir/StructureDefinition/string")
	if e := find(t, sd, "string.value"); len(e.Type) != 1 || len(e.Type[0].Extension) != 2 || e.MaxLength == nil || *e.MaxLength != 1048576 {
		t.Errorf("string.value = %+v", e)
	}
	sd, _ = Get("http://hl7.org/fhir/StructureDefinition/patient-birthPlace")
	if e := find(t, sd, "Extension.url"); e.Fixed == nil || e.Fixed.Type != "Uri" || string(e.Fixed.JSON) != `"http://hl7.org/fhir/StructureDefinition/patient-birthPlace"` {
		t.Errorf("patient-birthPlace Extension.url fixed = %+v", e.Fixed)
	}
	if len(sd.Context) != 1 || sd.Context[0].Expression != "Patient" {
		t.Errorf("patient-birthPlace context = %+v", sd.Context)
	}
}

func find(t *testing.T, sd *StructureDefinition, id string) *ElementDefinition {
	t.Helper()
	for i := range sd.Snapshot.Element {
		if sd.Snapshot.Element[i].ID == id {
			return &sd.Snapshot.Element[i]
		}
	}
	t.Fatalf("%s: no element %s", sd.URL, id)
	return nil
}

// TestElementRoundTrip decodes and encodes every snapshot element of the
// published R4 profiles (all members, documentation included): the result
// must be the same JSON, members in the order of the specification.
func TestElementRoundTrip(t *testing.T) {
	data, err := os.ReadFile(testfixture.SharedData(t, "fhir", "definitions-r4", "profiles-others.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Entry []struct {
			Resource struct {
				Snapshot struct {
					Element []json.RawMessage `json:"element"`
				} `json:"snapshot"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(gunzip(t, data), &bundle); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range bundle.Entry {
		for _, raw := range e.Resource.Snapshot.Element {
			var el ElementDefinition
			if err := json.Unmarshal(raw, &el); err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(el)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			json.Unmarshal(raw, &want)
			json.Unmarshal(out, &got)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip of %s:\n got %s\nwant %s", el.ID, out, raw)
			}
			// Clone is deep and equal.
			c := el.Clone()
			if !reflect.DeepEqual(*c, el) {
				t.Fatalf("Clone of %s differs", el.ID)
			}
			n++
		}
	}
	var el ElementDefinition
	json.Unmarshal([]byte(`{"path":"X.y","mapping":[],"fixedUri":"u","_fixedUri":{"id":"a"},"short":"s","id":"X.y","minValueInteger":1,"zz":1}`), &el)
	out, _ := json.Marshal(el)
	if want := `{"id":"X.y","path":"X.y","short":"s","fixedUri":"u","_fixedUri":{"id":"a"},"minValueInteger":1,"mapping":[],"zz":1}`; string(out) != want {
		t.Errorf("member order:\n got %s\nwant %s", out, want)
	}
	t.Logf("%d elements round-tripped", n)
}

// TestConcurrentGet reads definitions from several goroutines (run with
// -race).
func TestConcurrentGet(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, code := range []string{"Observation", "Coding", "Condition", "Extension"} {
				if sd, ok := ByType(code); !ok || len(sd.Snapshot.Element) == 0 {
					t.Errorf("ByType(%s) failed", code)
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkGetFirst(b *testing.B) {
	for b.Loop() {
		tb, err := decodeTable(r4Data)
		if err != nil {
			b.Fatal(err)
		}
		tb.byType["Patient"].get()
	}
}
