package fhirpath_test

import (
	"testing"

	"github.com/cpms-fhir/cpms/fhir/fhirpath"
)

// TestLocations checks where WithLocations says each item was read: in an
// array or not, a choice element's property, a primitive's extensions,
// and items kept by functions; computed items have no location.
func TestLocations(t *testing.T) {
	const obs = `{"resourceType":"Observation","status":"final","code":{"coding":[{"code":"a"},{"code":"b"}]},` +
		`"valueString":"x","_valueString":{"extension":[{"url":"http://example.org/e","valueCode":"y"}]}}`
	for _, tc := range []struct {
		expr, key, ext, element string
		index                   int
	}{
		{"Observation.status", "status", "_status", "status", -1},
		{"Observation.code.coding[1]", "coding", "", "coding", 1},
		{"Observation.code.coding.where(code = 'b').code", "code", "_code", "code", -1},
		{"Observation.value", "valueString", "_valueString", "value", -1},
		{"Observation.value.extension.first()", "extension", "", "extension", 0},
	} {
		e, err := fhirpath.Compile(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		items, err := e.Evaluate([]byte(obs), fhirpath.WithLocations())
		if err != nil || len(items) != 1 {
			t.Fatalf("%s: %v, %v", tc.expr, items, err)
		}
		loc := items[0].Location()
		if loc == nil || loc.Key != tc.key || loc.ExtKey != tc.ext || loc.Element.Name != tc.element || loc.Index != tc.index {
			t.Errorf("%s: location %+v, want key %s, ext %q, element %s, index %d", tc.expr, loc, tc.key, tc.ext, tc.element, tc.index)
		}
	}
	e, _ := fhirpath.Compile("Observation.status.upper()")
	if items, _ := e.Evaluate([]byte(obs), fhirpath.WithLocations()); len(items) != 1 || items[0].Location() != nil {
		t.Errorf("a computed item has a location: %v", items)
	}
	e, _ = fhirpath.Compile("Observation.status")
	if items, _ := e.Evaluate([]byte(obs)); len(items) != 1 || items[0].Location() != nil {
		t.Errorf("a location recorded without WithLocations: %v", items)
	}
}
