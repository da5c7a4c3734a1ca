package fhirpatch_test

import (
	"testing"

	"github.com/cpms-fhir/cpms/fhir/fhirpatch"
)

// FuzzApply checks that no document, however malformed, makes Parse or
// Apply panic, and that Apply fails only with an error or returns JSON.
func FuzzApply(f *testing.F) {
	for _, seed := range []string{
		doc(op("delete", "Patient.name.given[1]")),
		doc(op("insert", "Patient.name.given", valuePart(`"valueString":"Zoe"`), index("index", 0))),
		doc(op("move", "Patient.name.given", index("source", 1), index("destination", 2))),
		doc(op("add", "Patient.name.given[0]", name("extension"), valuePart(`"valueExtension":{"url":"http://example.org/y","valueCode":"a"}`))),
		doc(op("add", "Patient", name("contact"), `{"name":"value","part":[{"name":"gender","valueCode":"female"}]}`)),
		doc(op("replace", "Patient.name[0]", valuePart(`"valueHumanName":{"family":"X"}`))),
		doc(op("insert", "Patient.identifier", valuePart(`"valueIdentifier":{"value":"1"}`), index("index", 0))),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, patch string) {
		p, err := fhirpatch.Parse([]byte(patch))
		if err != nil {
			return
		}
		out, err := p.Apply([]byte(named))
		if err == nil && len(out) == 0 {
			t.Fatal("no error and no resource")
		}
	})
}
