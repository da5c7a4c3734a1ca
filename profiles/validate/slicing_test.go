package validate

import (
	"context"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
)

// inlineProfile returns the JSON of a StructureDefinition constraining
// typ, with the given snapshot elements.
func inlineProfile(url, typ string, elements ...string) []byte {
	return []byte(`{"resourceType": "StructureDefinition", "url": "` + url + `", "name": "T", "kind": "resource",
		"type": "` + typ + `", "derivation": "constraint", "snapshot": {"element": [` + strings.Join(elements, ",") + `]}}`)
}

// TestDiscriminators checks the discriminator types and paths beyond
// those of the Patient and Condition profiles: profile, type on a choice
// sliced without a slicing, exists, a pattern on an extension found by
// extension('url'), reslicing, and the unsupported resolve().
func TestDiscriminators(t *testing.T) {
	v := cpmsValidator(t)
	ctx := context.Background()
	add := func(sd []byte) {
		t.Helper()
		if err := v.Add(sd); err != nil {
			t.Fatal(err)
		}
	}

	const byProfile = "http://example.org/fhir/StructureDefinition/t-profile"
	add(inlineProfile(byProfile, "Patient",
		`{"id": "Patient", "path": "Patient", "min": 0, "max": "*"}`,
		`{"id": "Patient.extension", "path": "Patient.extension", "min": 0, "max": "*", "type": [{"code": "Extension"}],
		  "slicing": {"discriminator": [{"type": "profile", "path": "$this"}], "rules": "closed"}}`,
		`{"id": "Patient.extension:frozen", "path": "Patient.extension", "sliceName": "frozen", "min": 1, "max": "1",
		  "type": [{"code": "Extension", "profile": ["`+frozenExt+`"]}]}`,
		`{"id": "Patient.extension:label", "path": "Patient.extension", "sliceName": "label", "min": 0, "max": "1",
		  "type": [{"code": "Extension", "profile": ["`+recordLabelExt+`"]}]}`))
	patient := func(exts string) []byte {
		return []byte(`{"resourceType": "Patient", "extension": [` + exts + `]}`)
	}
	frozen := `{"url": "` + frozenExt + `", "valueBoolean": true}`
	label := `{"url": "` + recordLabelExt + `", "valueString": "L"}`
	assertIssues(t, v.Check(ctx, "Patient", patient(frozen+","+label), []string{byProfile}), nil)
	assertIssues(t, v.Check(ctx, "Patient", patient(label+`,{"url": "`+frozenExt+`", "valueString": "no"}`), []string{byProfile}), []want{
		// The second extension conforms to neither definition.
		{fhir.SeverityError, fhir.IssueStructure, "Patient.extension[1]", "Patient.extension: the value matches none of the slices, and the slicing is closed"},
		{fhir.SeverityError, fhir.IssueRequired, "Patient.extension", "the slice frozen of Patient.extension: found 0"},
	})

	const byType = "http://example.org/fhir/StructureDefinition/t-type"
	add(inlineProfile(byType, "Observation",
		`{"id": "Observation", "path": "Observation", "min": 0, "max": "*"}`,
		`{"id": "Observation.value[x]", "path": "Observation.value[x]", "min": 0, "max": "1",
		  "type": [{"code": "Quantity"}, {"code": "string"}]}`,
		`{"id": "Observation.value[x]:valueQuantity", "path": "Observation.value[x]", "sliceName": "valueQuantity",
		  "min": 1, "max": "1", "type": [{"code": "Quantity"}]}`,
		`{"id": "Observation.value[x]:valueQuantity.unit", "path": "Observation.value[x].unit", "min": 1, "max": "1",
		  "type": [{"code": "string"}]}`,
		`{"id": "Observation.component", "path": "Observation.component", "min": 0, "max": "*", "type": [{"code": "BackboneElement"}],
		  "slicing": {"discriminator": [{"type": "exists", "path": "value"}], "rules": "open"}}`,
		`{"id": "Observation.component:measured", "path": "Observation.component", "sliceName": "measured", "min": 0, "max": "1",
		  "type": [{"code": "BackboneElement"}]}`,
		`{"id": "Observation.component:measured.value[x]", "path": "Observation.component.value[x]", "min": 1, "max": "1",
		  "type": [{"code": "Quantity"}]}`,
		`{"id": "Observation.hasMember", "path": "Observation.hasMember", "min": 0, "max": "*", "type": [{"code": "Reference"}],
		  "slicing": {"discriminator": [{"type": "value", "path": "resolve().code"}], "rules": "closed"}}`,
		`{"id": "Observation.hasMember:weight", "path": "Observation.hasMember", "sliceName": "weight", "min": 1, "max": "1",
		  "type": [{"code": "Reference"}]}`))
	obs := func(rest string) []byte {
		return []byte(`{"resourceType": "Observation", "status": "final", "code": {"text": "x"}` + rest + `}`)
	}
	const unsupported = "resolve() in a discriminator path needs the referenced resources: the slice weight was not checked"
	assertIssues(t, v.Check(ctx, "Observation", obs(`, "valueQuantity": {"value": 1, "unit": "kg"},
		"component": [{"code": {"text": "a"}, "valueQuantity": {"value": 2}}, {"code": {"text": "b"}}],
		"hasMember": [{"reference": "Observation/1"}]`), []string{byType}), []want{
		// Which slice the member belongs to cannot be told, so the
		// slice's cardinality is not checked.
		{fhir.SeverityWarning, fhir.IssueNotSupported, "Observation.hasMember[0]", unsupported},
	})
	assertIssues(t, v.Check(ctx, "Observation", obs(`, "valueString": "heavy",
		"component": [{"code": {"text": "a"}, "valueString": "x"}, {"code": {"text": "b"}, "valueString": "y"}]`), []string{byType}), []want{
		{fhir.SeverityError, fhir.IssueRequired, "Observation.value", "the slice valueQuantity of Observation.value[x]: found 0, the profile requires min 1"},
		{fhir.SeverityError, fhir.IssueStructure, "Observation.component", "the slice measured of Observation.component: found 2, the profile allows max 1"},
		{fhir.SeverityError, fhir.IssueStructure, "Observation.component[0].value", "Observation.component:measured.value[x]: the type string is not allowed"},
		{fhir.SeverityError, fhir.IssueStructure, "Observation.component[1].value", "Observation.component:measured.value[x]: the type string is not allowed"},
		// Without any member, the slice has none, whatever its discriminator.
		{fhir.SeverityError, fhir.IssueRequired, "Observation.hasMember", "the slice weight of Observation.hasMember: found 0, the profile requires min 1"},
	})
	assertIssues(t, v.Check(ctx, "Observation", obs(`, "valueQuantity": {"value": 1}`), []string{byType}), []want{
		{fhir.SeverityError, fhir.IssueRequired, "Observation.value.unit", "Observation.value[x]:valueQuantity.unit: found 0"},
		{fhir.SeverityError, fhir.IssueRequired, "Observation.hasMember", "the slice weight of Observation.hasMember: found 0"},
	})

	// Extensions found by extension('url'), and a reslice: identifiers
	// sliced by the value of an extension, the slice resliced by system.
	const byExt = "http://example.org/fhir/StructureDefinition/t-ext"
	add(inlineProfile(byExt, "Patient",
		`{"id": "Patient", "path": "Patient", "min": 0, "max": "*"}`,
		`{"id": "Patient.identifier", "path": "Patient.identifier", "min": 0, "max": "*", "type": [{"code": "Identifier"}],
		  "slicing": {"discriminator": [{"type": "value", "path": "extension('http://example.org/kind').value"}], "rules": "open"}}`,
		`{"id": "Patient.identifier:ern", "path": "Patient.identifier", "sliceName": "ern", "min": 1, "max": "*", "type": [{"code": "Identifier"}],
		  "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "closed"}}`,
		`{"id": "Patient.identifier:ern.extension", "path": "Patient.identifier.extension", "min": 1, "max": "*", "type": [{"code": "Extension"}],
		  "slicing": {"discriminator": [{"type": "value", "path": "url"}], "rules": "open"}}`,
		`{"id": "Patient.identifier:ern.extension:kind", "path": "Patient.identifier.extension", "sliceName": "kind", "min": 1, "max": "1",
		  "type": [{"code": "Extension"}]}`,
		`{"id": "Patient.identifier:ern.extension:kind.url", "path": "Patient.identifier.extension.url", "min": 1, "max": "1",
		  "type": [{"code": "uri"}], "fixedUri": "http://example.org/kind"}`,
		`{"id": "Patient.identifier:ern.extension:kind.value[x]", "path": "Patient.identifier.extension.value[x]", "min": 1, "max": "1",
		  "type": [{"code": "code"}], "fixedCode": "ern"}`,
		`{"id": "Patient.identifier:ern/euroblood", "path": "Patient.identifier", "sliceName": "ern/euroblood", "min": 0, "max": "1",
		  "type": [{"code": "Identifier"}]}`,
		`{"id": "Patient.identifier:ern/euroblood.system", "path": "Patient.identifier.system", "min": 1, "max": "1",
		  "type": [{"code": "uri"}], "fixedUri": "http://example.org/eurobloodnet"}`))
	ident := func(system string) string {
		return `{"extension": [{"url": "http://example.org/kind", "valueCode": "ern"}], "system": "` + system + `", "value": "1"}`
	}
	assertIssues(t, v.Check(ctx, "Patient", []byte(`{"resourceType": "Patient", "identifier": [{"system": "urn:x", "value": "1"}, `+
		ident("http://example.org/eurobloodnet")+`]}`), []string{byExt}), nil)
	assertIssues(t, v.Check(ctx, "Patient", []byte(`{"resourceType": "Patient", "identifier": [`+
		ident("http://example.org/eurobloodnet")+`, `+ident("http://example.org/other")+`]}`), []string{byExt}), []want{
		{fhir.SeverityError, fhir.IssueStructure, "Patient.identifier[1]", "Patient.identifier:ern: the value matches none of the slices, and the slicing is closed"},
	})
	assertIssues(t, v.Check(ctx, "Patient", []byte(`{"resourceType": "Patient", "identifier": [{"system": "urn:x", "value": "1"}]}`),
		[]string{byExt}), []want{
		{fhir.SeverityError, fhir.IssueRequired, "Patient.identifier", "the slice ern of Patient.identifier: found 0, the profile requires min 1"},
	})
}
