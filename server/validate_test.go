package server_test

import (
	"net/http"
	"testing"
)

func TestValidateOperation(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	valid := []struct{ typ, body string }{
		{"Patient", patientJSON("", "Valid", "urn:s|1")},
		{"Patient", patientJSON("with-id", "Valid")},
		{"Observation", observationJSON},
	}
	for _, tc := range valid {
		r := ts.do(http.MethodPost, "/fhir/"+tc.typ+"/$validate", tc.body)
		wantStatus(t, r, http.StatusOK)
		if str(r.JSON, "resourceType") != "OperationOutcome" || len(issuesOf(r)) == 0 || hasError(r) {
			t.Errorf("$validate of a valid %s: %s", tc.typ, r.Body)
		}
	}

	invalid := []struct {
		name, typ, body string
		exprs           []string
	}{
		{"rules", "Observation", `{"resourceType":"Observation","subject":{"reference":"Medication/m"}}`,
			[]string{"Observation.status", "Observation.code", "Observation.subject"}},
		{"structure", "Patient", `{"resourceType":"Patient","birthDate":"yesterday","nickname":"x"}`,
			[]string{"Patient.birthDate", "Patient.nickname"}},
		{"bad id", "Patient", `{"resourceType":"Patient","id":"no spaces allowed"}`, []string{"Patient.id"}},
		{"wrong type", "Patient", observationJSON, []string{"resourceType"}},
	}
	for _, tc := range invalid {
		r := ts.do(http.MethodPost, "/fhir/"+tc.typ+"/$validate", tc.body)
		wantStatus(t, r, http.StatusOK)
		if !hasError(r) {
			t.Errorf("%s: no error issue: %s", tc.name, r.Body)
		}
		wantExpressions(t, r, tc.exprs)
	}

	wantStatus(t, ts.do(http.MethodPost, "/fhir/Nonsense/$validate", `{"resourceType":"Nonsense"}`), http.StatusNotFound)
	// Malformed JSON is a finding like any other: 200 whether or not the
	// resource is valid (4xx means the validation could not be done).
	r := ts.do(http.MethodPost, "/fhir/Patient/$validate", `{"resourceType":`)
	if r.Status != http.StatusOK && r.Status != http.StatusBadRequest || !hasError(r) {
		t.Errorf("$validate of malformed JSON: %d %s", r.Status, r.Body)
	}
	wantStatus(t, ts.do(http.MethodPost, "/fhir/Patient/$validate", patientJSON("", "X"), "Content-Type", "application/fhir+xml"), http.StatusUnsupportedMediaType)

	// Nothing was stored.
	if n := ts.historyCount("/fhir/_history"); n != 0 {
		t.Errorf("$validate stored %d versions", n)
	}
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/with-id", nil), http.StatusNotFound)
}
