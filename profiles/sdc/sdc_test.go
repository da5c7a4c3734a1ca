package sdc

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/profiles/questionnaire"
)

// fakeSource answers searches from resources by type.
type fakeSource map[fhir.ResourceType][]string

func (f fakeSource) Search(_ context.Context, t fhir.ResourceType, p url.Values) ([][]byte, error) {
	var out [][]byte
	for _, b := range f[t] {
		if id := p.Get("_id"); id != "" && !strings.Contains(b, `"id":"`+id+`"`) {
			continue
		}
		out = append(out, []byte(b))
	}
	return out, nil
}

func TestPopulateAgeAndOptions(t *testing.T) {
	src := fakeSource{
		"Patient": {`{"resourceType":"Patient","id":"p","gender":"male","birthDate":"2000-06"}`},
		"FamilyMemberHistory": {`{"resourceType":"FamilyMemberHistory","status":"completed","patient":{"reference":"Patient/p"},
		  "relationship":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-RoleCode","code":"MTH"}]},
		  "condition":[{"code":{"coding":[{"system":"https://www.orpha.net","code":"ORPHA:558"}]}}]}`},
	}
	for _, c := range []struct {
		form, want string
	}{
		{"http://cpms-fhir.org/fhir/Questionnaire/cpms-patient-information", `"linkId":"pi.age","text":"Age at the time of the request (years)","answer":[{"valueInteger":25}]`},
		{"http://cpms-fhir.org/fhir/Questionnaire/cpms-family-history", `"linkId":"fh.affected","text":"Are other family members affected by the same or a related condition?","answer":[{"valueCoding":{"system":"http://terminology.hl7.org/CodeSystem/v2-0136","code":"Y","display":"Yes"}}]}`},
		{"http://cpms-fhir.org/fhir/Questionnaire/cpms-family-history", `"linkId":"fh.condition","text":"Condition (ORPHAcode or free text)","answer":[{"valueCoding":{"system":"https://www.orpha.net","code":"ORPHA:558"}}]`},
	} {
		out, err := Populate(context.Background(), src, PopulateRequest{Questionnaire: questionnaire.Questionnaires()[c.form],
			Subject: "Patient/p", Now: time.Date(2026, 6, 29, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("%s: %s\nwant %s", c.form, out, c.want)
		}
	}
}

func TestExtractHashKeyWithoutID(t *testing.T) {
	form := questionnaire.Questionnaires()["http://cpms-fhir.org/fhir/Questionnaire/cpms-comorbidities"]
	qr := `{"resourceType":"QuestionnaireResponse","status":"in-progress","subject":{"reference":"Patient/p"},"item":[
	  {"linkId":"cm.condition","item":[{"linkId":"cm.icd10","answer":[{"valueCoding":{"system":"http://hl7.org/fhir/sid/icd-10","code":"I10"}}]}]}]}`
	a, err := Extract(form, []byte(qr))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Extract(form, []byte(qr))
	if string(a) != string(b) || !strings.Contains(string(a), `"value":"sha256-`) || !strings.Contains(string(a), ProfileComorbidity) {
		t.Errorf("extract without id: %s", a)
	}
}
