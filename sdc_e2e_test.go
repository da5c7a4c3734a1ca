package main

import (
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
)

// TestSDCPopulateExtractServe runs $populate and $extract with apply on
// the fully wired server: what they produce is checked against the CPMS
// profiles and the form when written.
func TestSDCPopulateExtractServe(t *testing.T) {
	do, stop := startServe(t)
	defer stop()
	put := func(path, body string) {
		t.Helper()
		if st, out := do("PUT", path, body); st != 200 && st != 201 {
			t.Fatalf("PUT %s: %d %v", path, st, out)
		}
	}
	put("Patient/p1", `{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1990-05-14","name":[{"family":"Peeters"}]}`)
	put("Condition/rd1", `{"resourceType":"Condition","id":"rd1","meta":{"profile":["http://cpms-fhir.org/fhir/StructureDefinition/cpms-condition-rare-disease"]},
	  "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
	  "verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},
	  "category":[{"coding":[{"system":"http://cpms-fhir.org/fhir/CodeSystem/cpms-condition-category","code":"rare-disease"}]}],
	  "code":{"coding":[{"system":"https://www.orpha.net","code":"ORPHA:558","display":"Marfan syndrome"}]},
	  "subject":{"reference":"Patient/p1"},"onsetDateTime":"1998"}`)

	form := url.QueryEscape("http://cpms-fhir.org/fhir/Questionnaire/cpms-consultation-form|1.0.0")
	st, qr := do("GET", "Questionnaire/$populate?questionnaire="+form+"&subject=Patient/p1", "")
	if st != 200 || qr["resourceType"] != "QuestionnaireResponse" {
		t.Fatalf("$populate: %d %v", st, qr)
	}
	if !strings.Contains(mustMarshal(t, qr), `"code":"ORPHA:558"`) {
		t.Errorf("$populate did not pre-fill the diagnosis: %v", qr)
	}
	if st, out := do("POST", "QuestionnaireResponse", mustMarshal(t, qr)); st != 201 {
		t.Fatalf("saving the populated response: %d %v", st, out)
	}

	resp, err := os.ReadFile("profiles/questionnaire/testdata/response-in-progress.json")
	if err != nil {
		t.Fatal(err)
	}
	put("QuestionnaireResponse/qr1", string(resp))
	for round, want := range []string{"201", "200"} {
		st, out := do("POST", "QuestionnaireResponse/qr1/$extract?apply=true", `{"resourceType":"Parameters","parameter":[]}`)
		if st != 200 || out["type"] != "transaction-response" {
			t.Fatalf("apply %d: %d %v", round, st, out)
		}
		entries, _ := out["entry"].([]any)
		if len(entries) != 8 {
			t.Errorf("apply %d: %d entries, want 8", round, len(entries))
		}
		for i, e := range entries {
			if s, _ := e.(map[string]any)["response"].(map[string]any)["status"].(string); !strings.HasPrefix(s, want) {
				t.Errorf("apply %d, entry %d: %s, want %s", round, i, s, want)
			}
		}
	}
	st, out := do("GET", "Condition?subject=Patient/p1&code="+url.QueryEscape("http://human-phenotype-ontology.org|HP:0002616"), "")
	if entries, _ := out["entry"].([]any); st != 200 || len(entries) != 1 {
		t.Errorf("the extracted phenotype: %d %v", st, out)
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
