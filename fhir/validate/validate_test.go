package validate

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/internal/testfixture"
)

// TestIssues checks the issues read out of the google/fhir/go parser and
// validator: their kind, location and code. It also guards the reflection
// in parseIssues against a change of the library's error shape.
func TestIssues(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		kind fhir.Kind
		want []fhir.Issue // severity, code and expression; diagnostics not compared
	}{
		{"valid", `{"resourceType":"Patient","id":"a","name":[{"family":"Chalmers"}],"birthDate":"1974-12"}`, 0, nil},
		{"unknown element, bad date, bad code", `{"resourceType":"Patient","id":"a","foo":1,"birthDate":"1974-13-25","gender":"mal"}`, fhir.KindInvalid, []fhir.Issue{
			{Code: fhir.IssueValue, Expression: []string{"Patient.birthDate"}},
			{Code: fhir.IssueStructure, Expression: []string{"Patient.foo"}},
			{Code: fhir.IssueCodeInvalid, Expression: []string{"Patient.gender"}},
		}},
		{"wrong JSON type", `{"resourceType":"Patient","id":"a","active":"true"}`, fhir.KindInvalid, []fhir.Issue{
			{Code: fhir.IssueValue, Expression: []string{"Patient.active"}},
		}},
		{"array expected", `{"resourceType":"Patient","id":"a","name":{"family":"x"}}`, fhir.KindInvalid, []fhir.Issue{
			{Code: fhir.IssueValue, Expression: []string{"Patient.name"}},
		}},
		{"two choice values", `{"resourceType":"Patient","id":"a","deceasedBoolean":true,"deceasedDateTime":"2020"}`, fhir.KindInvalid, []fhir.Issue{
			{Code: fhir.IssueStructure, Expression: []string{"Patient.deceased"}},
		}},
		{"unknown type", `{"resourceType":"Foo","id":"a"}`, fhir.KindInvalid, []fhir.Issue{
			{Code: fhir.IssueNotSupported, Expression: []string{"resourceType"}},
		}},
		{"missing required elements, wrong reference", `{"resourceType":"Observation","id":"a","subject":{"reference":"Organization/1"}}`, fhir.KindUnprocessable, []fhir.Issue{
			{Code: fhir.IssueRequired, Expression: []string{"Observation.code"}},
			{Code: fhir.IssueRequired, Expression: []string{"Observation.status"}},
			{Code: fhir.IssueInvalid, Expression: []string{"Observation.subject"}},
		}},
		{"bad id", `{"resourceType":"Patient","id":"a_b"}`, fhir.KindUnprocessable, []fhir.Issue{
			{Code: fhir.IssueValue, Expression: []string{"Patient.id"}},
		}},
		{"nested required", `{"resourceType":"Patient","id":"a","extension":[{"valueString":"x"}]}`, fhir.KindUnprocessable, []fhir.Issue{
			{Code: fhir.IssueRequired, Expression: []string{"Patient.extension[0].url"}},
		}},
		// A parse issue does not hide the rules' issues: all are listed.
		{"parse and rule issues together", `{"resourceType":"Observation","id":"a","subject":{"reference":"Organization/1"},
			"valueQuantity":{"value":1.5},"valueString":"x"}`, fhir.KindInvalid, []fhir.Issue{
			{Code: fhir.IssueRequired, Expression: []string{"Observation.code"}},
			{Code: fhir.IssueRequired, Expression: []string{"Observation.status"}},
			{Code: fhir.IssueInvalid, Expression: []string{"Observation.subject"}},
			{Code: fhir.IssueStructure, Expression: []string{"Observation.value"}},
		}},
		{"nested parse and rule issues", `{"resourceType":"Observation","id":"a","status":"final","code":{"text":"x"},
			"component":[{"valueQuantity":{"value":1,"comparator":"~"}}]}`, fhir.KindInvalid, []fhir.Issue{
			{Code: fhir.IssueRequired, Expression: []string{"Observation.component[0].code"}},
			{Code: fhir.IssueCodeInvalid, Expression: []string{"Observation.component[0].valueQuantity.comparator"}},
		}},
		// An element refused is not also reported missing.
		{"required element refused", `{"resourceType":"Observation","id":"a","status":"bogus","code":{"text":"x"}}`, fhir.KindInvalid, []fhir.Issue{
			{Code: fhir.IssueCodeInvalid, Expression: []string{"Observation.status"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Validate([]byte(tt.in))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("valid resource: %v", err)
				}
				return
			}
			fe, ok := err.(*fhir.Error)
			if !ok {
				t.Fatalf("error %v (%T) is not a *fhir.Error", err, err)
			}
			if fe.Kind != tt.kind {
				t.Errorf("kind %v, want %v", fe.Kind, tt.kind)
			}
			var got []fhir.Issue
			for _, is := range fe.Issues {
				if is.Severity != fhir.SeverityError || is.Diagnostics == "" {
					t.Errorf("issue %+v: want an error with diagnostics", is)
				}
				got = append(got, fhir.Issue{Code: is.Code, Expression: is.Expression})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("issues\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestResourceTypes(t *testing.T) {
	types := ResourceTypes()
	if len(types) != 146 {
		t.Errorf("%d resource types, want the 146 of FHIR R4", len(types))
	}
	for _, rt := range []fhir.ResourceType{"Patient", "Questionnaire", "Bundle", "Parameters", "Binary"} {
		if !IsResourceType(rt) {
			t.Errorf("%s is not a resource type", rt)
		}
	}
	for _, rt := range []fhir.ResourceType{"", "patient", "Resource", "DomainResource", "HumanName"} {
		if IsResourceType(rt) {
			t.Errorf("%q is a resource type", rt)
		}
	}
}

func BenchmarkValidatePatient(b *testing.B) {
	v, err := New()
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"resourceType":"Patient","id":"example","meta":{"versionId":"1","lastUpdated":"2024-01-01T00:00:00.000Z"},"identifier":[{"use":"usual","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"urn:oid:1.2.36.146.595.217.0.1","value":"12345","period":{"start":"2001-05-06"},"assigner":{"display":"Acme Healthcare"}}],"active":true,"name":[{"use":"official","family":"Chalmers","given":["Peter","James"]},{"use":"usual","given":["Jim"]}],"telecom":[{"system":"phone","value":"(03) 5555 6473","use":"work","rank":1}],"gender":"male","birthDate":"1974-12-25","address":[{"use":"home","type":"both","text":"534 Erewhon St PeasantVille, Rainbow, Vic  3999","line":["534 Erewhon St"],"city":"PleasantVille","district":"Rainbow","state":"Vic","postalCode":"3999","period":{"start":"1974-12-25"}}],"contact":[{"relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0131","code":"N"}]}],"name":{"family":"du Marché","given":["Bénédicte"]},"telecom":[{"system":"phone","value":"+33 (237) 998327"}],"gender":"female"}],"managingOrganization":{"reference":"Organization/1"}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Validate(body); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNullAlignedPrimitives checks the FHIR JSON form that pads a primitive
// array and its extension array with null (R4 json.html#primitive).
func TestNullAlignedPrimitives(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ext := `{"extension":[{"url":"http://example.org/x","valueString":"y"}]}`
	for _, in := range []string{
		`{"resourceType":"Patient","id":"a","name":[{"given":["a","b"],"_given":[null,` + ext + `]}]}`,
		`{"resourceType":"Patient","id":"a","name":[{"given":[null,"b"],"_given":[` + ext + `,null]}]}`,
		"{\"resourceType\":\"Patient\",\"id\":\"a\",\"name\":[{\"given\":[ null , \"n,[null]\"],\"_given\":[\n" + ext + ",\tnull]}]}",
	} {
		if err := v.Validate([]byte(in)); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
	// The extensions of the aligned items are still validated.
	bad := `{"resourceType":"Patient","id":"a","name":[{"given":[null,"b"],"_given":[{"extension":[{"valueString":"y"}]},null]}]}`
	err = v.Validate([]byte(bad))
	fe, ok := err.(*fhir.Error)
	if !ok || len(fe.Issues) != 1 || fe.Issues[0].Expression[0] != "Patient.name[0].given[0].extension[0].url" {
		t.Errorf("extension without url: %v", err)
	}
}

func TestAlignNulls(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":[null,1],"b":"null","c":[ null ]}`: `{"a":[{},1],"b":"null","c":[ {} ]}`,
		`{"s":"\"[null","d":[1,null],"e":"x\\"}`: `{"s":"\"[null","d":[1,{}],"e":"x\\"}`,
	} {
		if got := string(alignNulls([]byte(in))); got != want {
			t.Errorf("alignNulls(%s) = %s, want %s", in, got, want)
		}
	}
}

// BenchmarkValidateExample validates the 2.5 KB R4 example Patient of the
// server's create benchmarks: proven, and by google/fhir/go's unmarshaller
// alone.
func BenchmarkValidateExample(b *testing.B) {
	v, err := New()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		fn   func([]byte) error
	}{{"proof", v.Validate}, {"unmarshaller", v.unmarshal}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(testfixture.Patient)))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.fn(testfixture.Patient); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestContainedRules checks that a contained resource is held to the rules
// of the validation phase, which google/fhir/go applies to the container
// only, and that its issues are located in the container.
func TestContainedRules(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]string{
		`{"resourceType":"Patient","contained":[{"resourceType":"Organization","name":"a"},{"resourceType":"Observation","code":{"text":"a"}}]}`:                                                        "Patient.contained[1].status",
		`{"resourceType":"Patient","contained":[{"resourceType":"Observation","status":"final","code":{"text":"a"},"subject":{"reference":"Medication/1"}}],"managingOrganization":{"reference":"#x"}}`: "Patient.contained[0].subject",
	} {
		for name, fn := range map[string]func([]byte) error{"Validate": v.Validate, "unmarshal": v.unmarshal} {
			err := fn([]byte(body))
			fe, ok := err.(*fhir.Error)
			if !ok || fe.Kind != fhir.KindUnprocessable || len(fe.Issues) != 1 || !strings.HasPrefix(fe.Issues[0].Expression[0], want) {
				t.Errorf("%s(%s) = %v, want one issue at %s", name, body, err, want)
			}
		}
	}
	// With a parse issue in the container, both are reported.
	err = v.Validate([]byte(`{"resourceType":"Patient","contained":[{"resourceType":"Observation","code":{"text":"a"}}],"gender":"bad"}`))
	if fe, ok := err.(*fhir.Error); !ok || fe.Kind != fhir.KindInvalid || len(fe.Issues) != 2 ||
		fe.Issues[0].Expression[0] != "Patient.contained[0].status" || fe.Issues[1].Expression[0] != "Patient.gender" {
		t.Errorf("a parse issue and a contained rule issue: %v", err)
	}
	valid := `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","name":"a"}],"managingOrganization":{"reference":"#o"}}`
	if err := v.unmarshal([]byte(valid)); err != nil {
		t.Errorf("%s: %v", valid, err)
	}
}
