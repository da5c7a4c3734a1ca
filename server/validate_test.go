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

// TestValidateModes: $validate on an instance and its modes
// (operation-resource-validate): an update must carry the resource's id,
// the URL's on an instance; a delete checks that the resource exists; an
// unknown mode is refused.
func TestValidateModes(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/v1", patientJSON("v1", "V")), http.StatusCreated)
	params := func(mode, resource string) string {
		p := `{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"` + mode + `"}`
		if resource != "" {
			p += `,{"name":"resource","resource":` + resource + `}`
		}
		return p + `]}`
	}
	for _, c := range []struct {
		name, path, body string
		wantError        bool
		expr             string
	}{
		{"create", "/fhir/Patient/$validate?mode=create", patientJSON("", "V"), false, ""},
		{"update without id", "/fhir/Patient/$validate?mode=update", patientJSON("", "V"), true, "Patient.id"},
		{"update with id", "/fhir/Patient/$validate", params("update", patientJSON("v1", "V")), false, ""},
		{"instance, other id", "/fhir/Patient/v1/$validate", patientJSON("v2", "V"), true, "Patient.id"},
		{"instance, same id", "/fhir/Patient/v1/$validate?mode=update", patientJSON("v1", "V"), false, ""},
		{"delete of a resource", "/fhir/Patient/v1/$validate?mode=delete", "", false, ""},
		{"delete in Parameters", "/fhir/Patient/v1/$validate", params("delete", ""), false, ""},
		{"delete of nothing", "/fhir/Patient/nobody/$validate?mode=delete", "", true, ""},
	} {
		var body any
		if c.body != "" {
			body = c.body
		}
		r := ts.do(http.MethodPost, c.path, body)
		wantStatus(t, r, http.StatusOK)
		if hasError(r) != c.wantError {
			t.Errorf("%s: error %v, want %v: %s", c.name, hasError(r), c.wantError, r.Body)
		}
		if c.expr != "" {
			wantExpressions(t, r, []string{c.expr})
		}
	}
	wantStatus(t, ts.do(http.MethodPost, "/fhir/Patient/$validate?mode=bogus", patientJSON("", "V")), http.StatusBadRequest)
	wantStatus(t, ts.do(http.MethodPost, "/fhir/Patient/$validate?mode=delete", nil), http.StatusBadRequest)
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/v1/$validate", nil), http.StatusMethodNotAllowed)
	// mode=delete takes no resource, and so may come as a GET.
	if r := ts.do(http.MethodGet, "/fhir/Patient/v1/$validate?mode=delete", nil); r.Status != http.StatusOK || hasError(r) {
		t.Errorf("GET $validate?mode=delete: %d %s", r.Status, r.Body)
	}
	if n := ts.historyCount("/fhir/_history"); n != 1 {
		t.Errorf("$validate stored %d versions", n-1)
	}
}
