package main

import (
	"bytes"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/profiles"
)

// TestServeProfiles: "cpms serve" lists the CPMS profiles, stores every
// example that claims them (validated against them with the terminology
// service), refuses a resource breaking its profile with the location of
// the problem, validates on demand against a profile, and checks
// consultation forms against their Questionnaire.
func TestServeProfiles(t *testing.T) {
	do, stop := startServe(t)
	defer stop()

	_, cs := do(http.MethodGet, "metadata", "")
	var patientProfiles []any
	for _, r := range cs["rest"].([]any)[0].(map[string]any)["resource"].([]any) {
		if r.(map[string]any)["type"] == "Patient" {
			patientProfiles, _ = r.(map[string]any)["supportedProfile"].([]any)
		}
	}
	if !slices.Contains(patientProfiles, any(profiles.Canonical("cpms-patient"))) {
		t.Errorf("Patient supportedProfile: %v", patientProfiles)
	}

	stored := 0
	err := profiles.Examples(func(rt fhir.ResourceType, id fhir.ID, body []byte) error {
		status, out := do(http.MethodPut, string(rt)+"/"+string(id), string(body))
		if status != http.StatusCreated && status != http.StatusOK {
			t.Errorf("example %s/%s: %d %v", rt, id, status, out)
		}
		stored++
		return nil
	})
	if err != nil || stored < 20 {
		t.Fatalf("%d examples stored: %v", stored, err)
	}

	patient, err := os.ReadFile("profiles/definitions/examples/Patient-example-cpms-patient.json")
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(patient, []byte("ERN-BE10-EuroBloodNet-001"), []byte("BE10/001"), 1)
	bad = bytes.Replace(bad, []byte(`"id": "example-cpms-patient"`), []byte(`"id": "bad-cpms-patient"`), 1)
	status, out := do(http.MethodPut, "Patient/bad-cpms-patient", string(bad))
	if status != http.StatusUnprocessableEntity || !strings.Contains(outcomeText(out), "cpms-pat-1") {
		t.Errorf("a malformed CPMS ID: %d %v", status, out)
	}
	// $validate against a profile the resource does not claim.
	status, out = do(http.MethodPost, "Patient/$validate?profile="+profiles.Canonical("cpms-patient"),
		`{"resourceType":"Patient","name":[{"family":"Peeters"}]}`)
	if status != http.StatusOK || !strings.Contains(outcomeText(out), "error") {
		t.Errorf("$validate?profile=cpms-patient of a plain Patient: %d %v", status, out)
	}

	// The form's own value sets are served from the start.
	if status, out := do(http.MethodGet, "ValueSet/$expand?url=http://cpms-fhir.org/fhir/ValueSet/isced-2011", ""); status != http.StatusOK {
		t.Errorf("$expand ISCED 2011: %d %v", status, out)
	}

	// The consultation form: saved while in progress, refused when
	// completed with required answers missing, and the nickname must not
	// name the patient.
	form, err := os.ReadFile("profiles/questionnaire/testdata/response-in-progress.json")
	if err != nil {
		t.Fatal(err)
	}
	form = bytes.Replace(form, []byte("Patient/p1"), []byte("Patient/example-cpms-patient"), 1)
	if status, out := do(http.MethodPut, "QuestionnaireResponse/qr1", string(form)); status != http.StatusCreated {
		t.Fatalf("an in-progress consultation form: %d %v", status, out)
	}
	completed := bytes.Replace(form, []byte(`"status": "in-progress"`), []byte(`"status": "completed"`), 1)
	if status, out := do(http.MethodPut, "QuestionnaireResponse/qr1", string(completed)); status != http.StatusUnprocessableEntity {
		t.Errorf("a completed form with required answers missing: %d %v", status, out)
	}
	named := bytes.Replace(form, []byte("Blue Heron"), []byte("Peeters case"), 1)
	if status, out := do(http.MethodPut, "QuestionnaireResponse/qr1", string(named)); status != http.StatusUnprocessableEntity ||
		!strings.Contains(outcomeText(out), "nickname") {
		t.Errorf("a nickname naming the patient: %d %v", status, out)
	}
}

// outcomeText joins the diagnostics and expressions of an
// OperationOutcome.
func outcomeText(oo map[string]any) string {
	var b strings.Builder
	issues, _ := oo["issue"].([]any)
	for _, is := range issues {
		m := is.(map[string]any)
		b.WriteString(strings.TrimSpace(strings.Join([]string{stringOf(m["severity"]), stringOf(m["diagnostics"])}, " ")))
		if ex, ok := m["expression"].([]any); ok {
			for _, e := range ex {
				b.WriteString(" @" + stringOf(e))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}
