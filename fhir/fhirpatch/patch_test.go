package fhirpatch_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/fhirpatch"
)

// op writes one operation of a document; parts are the parts after type
// and path, as JSON.
func op(typ, path string, parts ...string) string {
	all := append([]string{`{"name":"type","valueCode":"` + typ + `"}`, `{"name":"path","valueString":"` + path + `"}`}, parts...)
	return `{"name":"operation","part":[` + strings.Join(all, ",") + `]}`
}

func doc(ops ...string) string {
	return `{"resourceType":"Parameters","parameter":[` + strings.Join(ops, ",") + `]}`
}

func valuePart(x string) string { return `{"name":"value",` + x + `}` }
func name(n string) string      { return `{"name":"name","valueString":"` + n + `"}` }
func index(part string, i int) string {
	return fmt.Sprintf(`{"name":%q,"valueInteger":%d}`, part, i)
}

// apply parses and applies a document, failing the test on an error.
func apply(t *testing.T, resource, patch string) string {
	t.Helper()
	p, err := fhirpatch.Parse([]byte(patch))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	out, err := p.Apply([]byte(resource))
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return string(out)
}

// The given names carry extensions in the parallel list _given: every
// list operation keeps the two lists aligned.
const named = `{"resourceType":"Patient","name":[{"family":"Doe","given":["Ann","Bea","Cy"],` +
	`"_given":[null,{"extension":[{"url":"http://example.org/x","valueString":"b"}]},null]}]}`

func TestPrimitiveListsStayAligned(t *testing.T) {
	for _, tc := range []struct{ name, patch, want string }{
		{"delete before the extension", doc(op("delete", "Patient.name.given[0]")),
			`{"resourceType":"Patient","name":[{"family":"Doe","given":["Bea","Cy"],"_given":[{"extension":[{"url":"http://example.org/x","valueString":"b"}]},null]}]}`},
		{"delete the one with the extension", doc(op("delete", "Patient.name.given[1]")),
			`{"resourceType":"Patient","name":[{"family":"Doe","given":["Ann","Cy"]}]}`},
		{"insert first", doc(op("insert", "Patient.name.given", valuePart(`"valueString":"Zoe"`), index("index", 0))),
			`{"resourceType":"Patient","name":[{"family":"Doe","given":["Zoe","Ann","Bea","Cy"],"_given":[null,null,{"extension":[{"url":"http://example.org/x","valueString":"b"}]},null]}]}`},
		{"add at the end", doc(op("add", "Patient.name[0]", name("given"), valuePart(`"valueString":"Dee"`))),
			`{"resourceType":"Patient","name":[{"family":"Doe","given":["Ann","Bea","Cy","Dee"],"_given":[null,{"extension":[{"url":"http://example.org/x","valueString":"b"}]},null,null]}]}`},
		{"move the one with the extension", doc(op("move", "Patient.name.given", index("source", 1), index("destination", 2))),
			`{"resourceType":"Patient","name":[{"family":"Doe","given":["Ann","Cy","Bea"],"_given":[null,null,{"extension":[{"url":"http://example.org/x","valueString":"b"}]}]}]}`},
		{"replace drops the old extension", doc(op("replace", "Patient.name.given[1]", valuePart(`"valueString":"Bo"`))),
			`{"resourceType":"Patient","name":[{"family":"Doe","given":["Ann","Bo","Cy"]}]}`},
		{"delete the last extension only", doc(op("delete", "Patient.name.given[1].extension")),
			`{"resourceType":"Patient","name":[{"family":"Doe","given":["Ann","Bea","Cy"]}]}`},
		{"add an extension to a primitive", doc(op("add", "Patient.name.given[0]", name("extension"), valuePart(`"valueExtension":{"url":"http://example.org/y","valueCode":"a"}`))),
			`{"resourceType":"Patient","name":[{"family":"Doe","given":["Ann","Bea","Cy"],"_given":[{"extension":[{"url":"http://example.org/y","valueCode":"a"}]},{"extension":[{"url":"http://example.org/x","valueString":"b"}]},null]}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := apply(t, named, tc.patch); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestChoiceAndOrder(t *testing.T) {
	obs := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueString":"high","_valueString":{"id":"v"}}`
	// Replacing a choice element with another type changes its property.
	got := apply(t, obs, doc(op("replace", "Observation.value", valuePart(`"valueQuantity":{"value":1.50,"unit":"mmol/L"}`))))
	if want := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.50,"unit":"mmol/L"}}`; got != want {
		t.Errorf("choice replaced:\ngot  %s\nwant %s", got, want)
	}
	// Properties come in FHIR's order, the narrative's markup unescaped.
	p := `{"gender":"female","text":{"div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">a &amp; b</div>","status":"generated"},"resourceType":"Patient","id":"x"}`
	got = apply(t, p, doc(op("add", "Patient", name("active"), valuePart(`"valueBoolean":true`))))
	if want := `{"resourceType":"Patient","id":"x","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">a &amp; b</div>"},"active":true,"gender":"female"}`; got != want {
		t.Errorf("order:\ngot  %s\nwant %s", got, want)
	}
}

func TestInsertIntoAnAbsentList(t *testing.T) {
	got := apply(t, `{"resourceType":"Patient"}`, doc(op("insert", "Patient.identifier", valuePart(`"valueIdentifier":{"value":"1"}`), index("index", 0))))
	if want := `{"resourceType":"Patient","identifier":[{"value":"1"}]}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestRefused checks that documents that are not FHIRPath Patches are
// KindInvalid and patches that cannot apply KindUnprocessable, each issue
// at the faulty part.
func TestRefused(t *testing.T) {
	const patient = `{"resourceType":"Patient","active":true,"name":[{"family":"A"},{"family":"B"}]}`
	for _, tc := range []struct {
		name, patch string
		kind        fhir.Kind
		at          string
	}{
		{"not JSON", `{`, fhir.KindInvalid, ""},
		{"not Parameters", `{"resourceType":"Patient"}`, fhir.KindInvalid, ""},
		{"parameter not named operation", `{"resourceType":"Parameters","parameter":[{"name":"op"}]}`, fhir.KindInvalid, "Parameters.parameter[0].name"},
		{"unknown part", doc(op("delete", "Patient.active", `{"name":"colour","valueString":"red"}`)), fhir.KindInvalid, "Parameters.parameter[0].part[2].name"},
		{"part twice", doc(op("delete", "Patient.active", `{"name":"path","valueString":"Patient.id"}`)), fhir.KindInvalid, "Parameters.parameter[0].part[2].name"},
		{"insert without an index", doc(op("insert", "Patient.name", valuePart(`"valueHumanName":{}`))), fhir.KindInvalid, "Parameters.parameter[0]"},
		{"negative index", doc(op("insert", "Patient.name", valuePart(`"valueHumanName":{}`), `{"name":"index","valueInteger":-1}`)), fhir.KindInvalid, "Parameters.parameter[0].part[3].valueInteger"},
		{"two values", doc(op("replace", "Patient.active", `{"name":"value","valueBoolean":true,"valueString":"x"}`)), fhir.KindInvalid, "Parameters.parameter[0].part[2]"},
		{"value of no type", doc(op("replace", "Patient.active", valuePart(`"valueWidget":1`))), fhir.KindInvalid, "Parameters.parameter[0].part[2].valueWidget"},
		{"path does not compile", doc(op("delete", "Patient.name[")), fhir.KindInvalid, "Parameters.parameter[0].part[1].valueString"},

		{"unknown element in the path", doc(op("delete", "Patient.colour")), fhir.KindUnprocessable, "Parameters.parameter[0].part[1]"},
		{"delete of several", doc(op("delete", "Patient.name")), fhir.KindUnprocessable, "Parameters.parameter[0].part[1]"},
		{"delete of the resource", doc(op("delete", "Patient")), fhir.KindUnprocessable, "Parameters.parameter[0].part[1]"},
		{"computed value", doc(op("replace", "Patient.name.family.first().upper()", valuePart(`"valueString":"X"`))), fhir.KindUnprocessable, "Parameters.parameter[0].part[1]"},
		{"add to what is there", doc(op("add", "Patient", name("active"), valuePart(`"valueBoolean":false`))), fhir.KindUnprocessable, "Parameters.parameter[0].part[2]"},
		{"add of an unknown element", doc(op("add", "Patient", name("colour"), valuePart(`"valueString":"red"`))), fhir.KindUnprocessable, "Parameters.parameter[0].part[2]"},
		{"wrong type", doc(op("replace", "Patient.active", valuePart(`"valueHumanName":{"family":"x"}`))), fhir.KindUnprocessable, "Parameters.parameter[0].part[2]"},
		{"parts for a primitive", doc(op("replace", "Patient.active", `{"name":"value","part":[{"name":"x","valueString":"y"}]}`)), fhir.KindUnprocessable, "Parameters.parameter[0].part[2]"},
		{"unknown child in parts", doc(op("add", "Patient", name("contact"), `{"name":"value","part":[{"name":"colour","valueString":"y"}]}`)), fhir.KindUnprocessable, "Parameters.parameter[0].part[3].part[0].name"},
		{"index past the end", doc(op("insert", "Patient.name", valuePart(`"valueHumanName":{"family":"C"}`), index("index", 3))), fhir.KindUnprocessable, "Parameters.parameter[0].part[3]"},
		{"move past the end", doc(op("move", "Patient.name", index("source", 0), index("destination", 2))), fhir.KindUnprocessable, "Parameters.parameter[0].part[3]"},
		{"insert below a computed value", doc(op("insert", "Patient.name.family.first().upper().extension", valuePart(`"valueExtension":{"url":"http://example.org/x","valueCode":"y"}`), index("index", 0))), fhir.KindUnprocessable, "Parameters.parameter[0].part[1]"},
		{"insert into what is not a list", doc(op("insert", "Patient.active", valuePart(`"valueBoolean":true`), index("index", 0))), fhir.KindUnprocessable, "Parameters.parameter[0].part[1]"},
		{"extensions of a complex type", doc(op("replace", "Patient.name[0]", valuePart(`"_valueHumanName":{"id":"x"}`))), fhir.KindInvalid, "Parameters.parameter[0].part[2]._valueHumanName"},
		{"extensions not an object", doc(op("replace", "Patient.active", valuePart(`"_valueBoolean":[{"id":"x"}]`))), fhir.KindInvalid, "Parameters.parameter[0].part[2]._valueBoolean"},
		{"extensions of another type", doc(op("replace", "Patient.active", valuePart(`"_valueDate":{"id":"x"}`))), fhir.KindUnprocessable, "Parameters.parameter[0].part[2]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := fhirpatch.Parse([]byte(tc.patch))
			if err == nil {
				_, err = p.Apply([]byte(patient))
			}
			fe, ok := err.(*fhir.Error)
			if !ok || fe.Kind != tc.kind {
				t.Fatalf("got %v, want a %v *fhir.Error", err, tc.kind)
			}
			var at []string
			for _, is := range fe.Issues {
				at = append(at, is.Expression...)
			}
			if tc.at != "" && !slices.Contains(at, tc.at) {
				t.Errorf("issues at %q, want %s: %v", at, tc.at, err)
			}
		})
	}
}

// TestUnchanged: a patch that changes nothing (a delete whose path
// selects nothing, a value replaced by itself) gives the resource as it
// was, its properties in their order.
func TestUnchanged(t *testing.T) {
	const p = `{"resourceType":"Patient","active":true,"id":"x"}`
	if got := apply(t, p, doc(op("delete", "Patient.birthDate"), op("delete", "Patient.name.where(use = 'old')"),
		op("replace", "Patient.active", valuePart(`"valueBoolean":true`)))); got != p {
		t.Errorf("got %s", got)
	}
}

// TestUnevenLists: a list of primitives given only by their extensions
// (no list of values, which valid FHIR JSON has as nulls) is read as
// nulls.
func TestUnevenLists(t *testing.T) {
	const p = `{"resourceType":"Patient","name":[{"_given":[{"id":"a"},{"id":"b"}]}]}`
	got := apply(t, p, doc(op("delete", "Patient.name.given[0]"), op("replace", "Patient.name.given[0]", valuePart(`"valueString":"Bea"`))))
	if want := `{"resourceType":"Patient","name":[{"given":["Bea"]}]}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestValueOfExtensionsOnly: a value given by its id and extensions alone
// (_valueDate without valueDate), as FHIR JSON allows for any primitive,
// puts the extensions in place of a value: alone on an element that does
// not repeat, as a null with its extensions in a list.
func TestValueOfExtensionsOnly(t *testing.T) {
	absent := `{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}`
	for _, tc := range []struct{ name, resource, patch, want string }{
		{"replace a date", `{"resourceType":"Patient","birthDate":"1970"}`,
			doc(op("replace", "Patient.birthDate", valuePart(`"_valueDate":`+absent))),
			`{"resourceType":"Patient","_birthDate":` + absent + `}`},
		{"add a date", `{"resourceType":"Patient"}`,
			doc(op("add", "Patient", name("birthDate"), valuePart(`"_valueDate":`+absent))),
			`{"resourceType":"Patient","_birthDate":` + absent + `}`},
		{"insert into a list", `{"resourceType":"Patient","name":[{"given":["Ann","Cy"]}]}`,
			doc(op("insert", "Patient.name[0].given", valuePart(`"_valueString":`+absent), index("index", 1))),
			`{"resourceType":"Patient","name":[{"given":["Ann",null,"Cy"],"_given":[null,` + absent + `,null]}]}`},
		{"value and extensions", `{"resourceType":"Patient"}`,
			doc(op("add", "Patient", name("gender"), valuePart(`"valueCode":"other","_valueCode":{"id":"g"}`))),
			`{"resourceType":"Patient","gender":"other","_gender":{"id":"g"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := apply(t, tc.resource, tc.patch); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
