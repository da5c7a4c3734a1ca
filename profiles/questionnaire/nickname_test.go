package questionnaire

import (
	"context"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/validate"
)

func TestNameWords(t *testing.T) {
	cases := []struct {
		name string
		want []string
	}{
		{"Dupont", []string{"dupont"}},
		{"Marie-Hélène", []string{"marie", "helene"}},
		{"van der Berg", []string{"berg"}},
		{"O'Brien", []string{"brien"}},
		{"Łukasz", []string{"lukasz"}},
		{"Straße", []string{"strasse"}},
		{"Ștefănescu", []string{"stefanescu"}},
		{"Li", nil},
		{"Παπαδόπουλος", []string{"παπαδοπουλοσ"}}, // final sigma folded
	}
	for _, tc := range cases {
		if got := nameWords(tc.name); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("nameWords(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := lettersOnly("Du-Pont 3 ÉTÉ"); got != "dupontete" {
		t.Errorf("lettersOnly = %q", got)
	}
}

// TestWidgetResponse checks a response to the Consultation Request widget
// alone: the nickname rule and required items apply there too.
func TestWidgetResponse(t *testing.T) {
	c, err := New(Options{Terminology: terms, Patient: patients(t)})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"resourceType":"QuestionnaireResponse",
	  "questionnaire":"http://cpms-fhir.org/fhir/Questionnaire/cpms-consultation-request|1.0.0",
	  "status":"completed","subject":{"reference":"Patient/p1"},
	  "item":[{"linkId":"cr.nickname","answer":[{"valueString":"Dupont junior"}]},
	          {"linkId":"cr.repeat","answer":[{"valueCoding":{"system":"http://terminology.hl7.org/CodeSystem/v2-0136","code":"Y"}}]}]}`)
	expectIssues(t, c.Check(context.Background(), "QuestionnaireResponse", body, nil), []want{
		{fhir.SeverityError, "QuestionnaireResponse.item[0].answer[0].valueString", "last name"},
		{fhir.SeverityError, "QuestionnaireResponse", `"cr.urgency"`},
		{fhir.SeverityError, "QuestionnaireResponse", `"cr.description"`},
	})
}

func TestCheckIgnoresOtherTypes(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if issues := c.Check(context.Background(), "Patient", []byte(`{"resourceType":"Patient"}`), nil); issues != nil {
		t.Errorf("issues on a Patient: %v", issues)
	}
}

func TestQuestionnaireLookupFailure(t *testing.T) {
	c, err := New(Options{Questionnaire: func(ctx context.Context, canonical string) ([]byte, bool, error) {
		return nil, false, errors.New("store unavailable")
	}})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"resourceType":"QuestionnaireResponse","questionnaire":"http://example.org/Questionnaire/q","status":"completed",
	  "item":[{"linkId":"x","answer":[{"valueString":"y"}]}]}`)
	expectIssues(t, c.Check(context.Background(), "QuestionnaireResponse", body, nil), []want{
		{fhir.SeverityWarning, "QuestionnaireResponse.questionnaire", "could not be read"},
	})
}

// TestResponseTestdataValid checks that the test response and patient are
// valid FHIR R4, so that the checks are tested on what the server would
// pass to them.
func TestResponseTestdataValid(t *testing.T) {
	v, err := validate.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"testdata/response-in-progress.json", "testdata/patient-dupont.json"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Validate(b); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	body, err := os.ReadFile("testdata/response-in-progress.json")
	if err != nil {
		b.Fatal(err)
	}
	pt, err := os.ReadFile("testdata/patient-dupont.json")
	if err != nil {
		b.Fatal(err)
	}
	c, err := New(Options{Terminology: terms, Patient: func(ctx context.Context, ref string) ([]byte, bool, error) { return pt, true, nil }})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if issues := c.Check(ctx, "QuestionnaireResponse", body, nil); len(issues) != 0 {
			b.Fatal(issues)
		}
	}
}
