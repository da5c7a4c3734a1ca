package fhirpath

import (
	"path/filepath"
	"testing"
)

// FuzzEvaluate checks that arbitrary expressions never panic, neither when
// compiled nor when evaluated on a Patient. Run it with
//
//	go test ./fhir/fhirpath -run XXX -fuzz FuzzEvaluate -fuzztime 60s
func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{
		"name.given", "Patient.name.where(use = 'official').family | name.given",
		"birthDate + 1 year > @2000-01-01T10:00", "1.5 'mg' * 2 'kg' / 3", "telecom[1].value.substring(1, 3)",
		"descendants().ofType(string).select($this.length()).aggregate($total + $this, 0)",
		"iif(deceased.exists(), 'x', {}).toQuantity()", "'a\\u0041'.matches('[A-Z]+') and %resource.id.exists()",
		"extension.value.ofType(Quantity).lowBoundary(3)", "contact.repeat(children()).count()",
		"(1|2|3).sort(-$this).take(2) ~ (3|2)", "@T10:30:00.5.highBoundary()", "-(1).abs().power(0.5)",
		"name.given.split('e').join('|').encode('base64').decode('base64')",
	} {
		f.Add(s)
	}
	patient := readJSONFile(f, filepath.Join("testdata", "patient-contained.json"))
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Compile(s)
		if err != nil {
			return
		}
		_, _ = e.Evaluate(patient)
		_, _ = e.Evaluate(nil, WithStrict())
	})
}
