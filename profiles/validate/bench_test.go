package validate

import (
	"context"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
)

// BenchmarkBodyWeight validates the R4 body weight example
// (Observation-example.json) against the bodyweight profile, the base
// definitions known, bindings checked by a terminology that accepts
// everything.
func BenchmarkBodyWeight(b *testing.B) {
	v := r4Validator(b, &acceptAll{})
	body := example(b, "Observation-example.json")
	profiles := []string{coreBase + "bodyweight"}
	ctx := context.Background()
	if issues := v.Check(ctx, "Observation", body, profiles); fhir.HasErrors(issues) {
		b.Fatal(issues)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		v.Check(ctx, "Observation", body, profiles)
	}
}

// BenchmarkCPMSPatient validates a Patient against the CPMS Patient test
// profile (slices, extension definitions, bindings, invariants).
func BenchmarkCPMSPatient(b *testing.B) {
	v := cpmsValidator(b)
	body := []byte(validPatient)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		v.Check(ctx, "Patient", body, nil)
	}
}

// BenchmarkDecode decodes the R4 body weight example: the part of
// BenchmarkBodyWeight spent reading the JSON.
func BenchmarkDecode(b *testing.B) {
	body := example(b, "Observation-example.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := fhir.DecodeJSON(body); err != nil {
			b.Fatal(err)
		}
	}
}
