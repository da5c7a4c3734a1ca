package extract

import (
	"testing"

	"github.com/cpms-fhir/cpms/fhir"

	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/internal/testfixture"
)

// syntheaObservation has the shape and size of a Synthea vital-signs
// Observation once stored (references resolved to Type/id).
const syntheaObservation = `{"resourceType":"Observation","id":"21e3ff76-b0bb-43da-94b9-67c5cf35c94f",` +
	`"meta":{"versionId":"1","lastUpdated":"2024-05-01T10:00:00.000Z","tag":[{"system":"https://smarthealthit.org/tags","code":"synthea-5-2019"}]},` +
	`"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"vital-signs"}]}],` +
	`"code":{"coding":[{"system":"http://loinc.org","code":"8302-2","display":"Body Height"}],"text":"Body Height"},` +
	`"subject":{"reference":"Patient/84451841-21bf-4754-9eb5-99d508c4282f"},"encounter":{"reference":"Encounter/279eea8d-2b30-40f3-bd7f-51214de3e06b"},` +
	`"effectiveDateTime":"2011-08-22T10:19:35+00:00","issued":"2011-08-22T10:19:35.870+00:00",` +
	`"valueQuantity":{"value":175.5609952863145,"unit":"cm","system":"http://unitsofmeasure.org","code":"cm"}}`

func benchmarkExtract(b *testing.B, t string, body []byte) {
	x := New(search.NewTable(), Options{Base: "https://cpms.example/fhir"})
	if _, err := x.Extract(fhirType(t), body); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := x.Extract(fhirType(t), body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtractPatient extracts every search parameter of the R4
// example Patient (2.5 KB).
func BenchmarkExtractPatient(b *testing.B) { benchmarkExtract(b, "Patient", testfixture.Patient) }

// BenchmarkExtractObservation extracts every search parameter of a
// Synthea-sized Observation.
func BenchmarkExtractObservation(b *testing.B) {
	benchmarkExtract(b, "Observation", []byte(syntheaObservation))
}

func fhirType(s string) fhir.ResourceType { return fhir.ResourceType(s) }

// BenchmarkExtractCodeSystem extracts every search parameter of a
// CodeSystem of 10,000 concepts, the size of a seeded terminology.
func BenchmarkExtractCodeSystem(b *testing.B) {
	benchmarkExtract(b, "CodeSystem", codeSystem(10000, 1))
}
