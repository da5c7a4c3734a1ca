package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/server"
)

// TestInvalidWrites sends bodies that must be refused, by every write
// interaction, and checks the status, that the outcome names every problem
// with a FHIRPath expression, and that nothing was stored.
func TestInvalidWrites(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/x", patientJSON("x", "X")), http.StatusCreated)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Observation/x", `{"resourceType":"Observation","id":"x","status":"final","code":{"text":"c"}}`), http.StatusCreated)

	tests := []struct {
		name   string
		typ    string
		body   string
		status int
		// exprs are expressions that must each be named by an issue.
		exprs []string
	}{
		{"malformed JSON", "Patient", `{"resourceType":"Patient",`, 400, nil},
		{"trailing garbage", "Patient", `{"resourceType":"Patient"} x`, 400, nil},
		{"not an object", "Patient", `[{"resourceType":"Patient"}]`, 400, nil},
		{"a string", "Patient", `"Patient"`, 400, nil},
		{"no resourceType", "Patient", `{"id":"x"}`, 400, []string{"resourceType"}},
		{"resourceType not a string", "Patient", `{"resourceType":1,"id":"x"}`, 400, []string{"resourceType"}},
		{"wrong resourceType for the URL", "Patient", `{"resourceType":"Observation","id":"x","status":"final","code":{"text":"c"}}`, 400, []string{"resourceType"}},
		{"unknown resourceType in the body", "Patient", `{"resourceType":"Nonsense","id":"x"}`, 400, []string{"resourceType"}},
		{"rule violations, all listed", "Observation",
			`{"resourceType":"Observation","id":"x","subject":{"reference":"Medication/m1"}}`, 422,
			[]string{"Observation.status", "Observation.code", "Observation.subject"}},
		{"structural problems, all listed", "Patient",
			`{"resourceType":"Patient","id":"x","foo":1,"birthDate":"1970-13-45","gender":"","active":true,"active":false,"name":null,"telecom":[{"system":"phone","value":"1","bogus":true}]}`,
			400, []string{"Patient.foo", "Patient.birthDate", "Patient.gender", "Patient.active", "Patient.name", "Patient.telecom[0].bogus"}},
		{"code outside its required value set", "Patient", `{"resourceType":"Patient","id":"x","gender":"robot"}`, 400, []string{"Patient.gender"}},
		{"empty object and array", "Patient", `{"resourceType":"Patient","id":"x","name":[{}],"address":[]}`, 400, []string{"Patient.name[0]", "Patient.address"}},
		{"meta not an object", "Patient", `{"resourceType":"Patient","id":"x","meta":"v1"}`, 400, []string{"meta"}},
		{"id not a string", "Patient", `{"resourceType":"Patient","id":7}`, 400, []string{"id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			writes := []struct{ method, path string }{
				{http.MethodPost, "/fhir/" + tc.typ},
				{http.MethodPut, "/fhir/" + tc.typ + "/x"},
				{http.MethodPut, "/fhir/" + tc.typ + "?_id=x"},
			}
			for _, w := range writes {
				r := ts.do(w.method, w.path, tc.body)
				if r.Status != tc.status {
					t.Errorf("%s %s: status %d, want %d: %s", w.method, w.path, r.Status, tc.status, r.Body)
					continue
				}
				wantExpressions(t, r, tc.exprs)
			}
			// $validate reports the same issues without storing.
			r := ts.do(http.MethodPost, "/fhir/"+tc.typ+"/$validate", tc.body)
			if r.Status == http.StatusOK {
				if !hasError(r) {
					t.Errorf("$validate: no error issue: %s", r.Body)
				}
				wantExpressions(t, r, tc.exprs)
			} else if r.Status != tc.status {
				t.Errorf("$validate: status %d", r.Status)
			}
		})
	}
	// An element the JSON rules refuse is reported once, not again by the
	// validator that meets it mangled.
	r := ts.do(http.MethodPost, "/fhir/Patient", `{"resourceType":"Patient","gender":null,"birthDate":""}`)
	wantStatus(t, r, http.StatusBadRequest)
	if exprs := expressions(t, r); len(exprs) != 2 || !slices.Contains(exprs, "Patient.gender") || !slices.Contains(exprs, "Patient.birthDate") {
		t.Errorf("null and empty values: issues at %q, want one each: %s", exprs, r.Body)
	}
	// Nothing was stored by any of the failed writes.
	if n := ts.historyCount("/fhir/_history"); n != 2 {
		t.Errorf("%d versions stored, want the 2 valid ones", n)
	}
	for _, p := range []string{"/fhir/Patient/x", "/fhir/Observation/x"} {
		r := ts.do(http.MethodGet, p, nil)
		wantStatus(t, r, http.StatusOK)
		checkVersion(t, r, strings.Split(p, "/")[2], "x", "1")
	}
}

func wantExpressions(t *testing.T, r *response, want []string) {
	t.Helper()
	if len(want) == 0 {
		return // a syntax error has no FHIRPath location
	}
	exprs := expressions(t, r)
	for _, w := range want {
		if !slices.ContainsFunc(exprs, func(e string) bool { return e == w || strings.HasPrefix(e, w+".") || strings.HasPrefix(e, w+"|") }) {
			t.Errorf("no issue at %s; issues at %q: %s", w, exprs, r.Body)
		}
	}
}

func hasError(r *response) bool {
	for _, is := range issuesOf(r) {
		if is["severity"] == "error" || is["severity"] == "fatal" {
			return true
		}
	}
	return false
}

func TestIDErrors(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	long := strings.Repeat("a", 65)
	tests := []struct {
		method, path, body string
		status             int
	}{
		{http.MethodPut, "/fhir/Patient/p1", patientJSON("p2", "X"), 400},         // URL id != body id
		{http.MethodPut, "/fhir/Patient/p1", patientJSON("", "X"), 400},           // no id in the body
		{http.MethodPut, "/fhir/Patient/bad_id", patientJSON("bad_id", "X"), 400}, // invalid id
		{http.MethodPut, "/fhir/Patient/" + long, patientJSON(long, "X"), 400},    // too long
		{http.MethodPut, "/fhir/Observation/p1", patientJSON("p1", "X"), 400},     // wrong type
		{http.MethodPut, "/fhir/Nonsense/p1", `{"resourceType":"Nonsense","id":"p1"}`, 404},
		{http.MethodPost, "/fhir/Nonsense", `{"resourceType":"Nonsense"}`, 404},
		{http.MethodPost, "/fhir/patient", patientJSON("", "X"), 404}, // types are case-sensitive
		{http.MethodGet, "/fhir/Nonsense/p1", "", 404},
		{http.MethodGet, "/fhir/Nonsense", "", 404},
		{http.MethodOptions, "/fhir/Nonsense", "", 404},
		{http.MethodOptions, "/fhir/Nonsense/p1", "", 404},
		{http.MethodDelete, "/fhir/Nonsense/p1", "", 404},
		{http.MethodGet, "/fhir/Patient/unknown", "", 404},
		{http.MethodGet, "/fhir/Patient/bad_id", "", 404},
		{http.MethodGet, "/fhir/Patient/" + long, "", 404},
		{http.MethodDelete, "/fhir/Patient/bad_id", "", 404},
		{http.MethodPatch, "/fhir/Patient/unknown", `[]`, 404},
		{http.MethodGet, "/fhir/Patient/unknown/_history", "", 404},
		{http.MethodGet, "/nowhere", "", 404},
		{http.MethodGet, "/fhir/Patient/p1/_history/1/extra", "", 404},
		{http.MethodGet, "/fhir/$everything", "", 404},
	}
	for _, tc := range tests {
		var body any
		headers := []string{}
		if tc.body != "" {
			body = tc.body
		}
		if tc.method == http.MethodPatch {
			headers = append(headers, "Content-Type", jsonPatch)
		}
		r := ts.do(tc.method, tc.path, body, headers...)
		if r.Status != tc.status {
			t.Errorf("%s %.60s: status %d, want %d: %s", tc.method, tc.path, r.Status, tc.status, r.Body)
		}
	}
	if n := ts.historyCount("/fhir/_history"); n != 0 {
		t.Errorf("%d versions stored, want none", n)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	tests := []struct {
		method, path string
		allow        []string
	}{
		{http.MethodPost, "/fhir/metadata", []string{"GET"}},
		{http.MethodDelete, "/fhir/_history", []string{"GET"}},
		{http.MethodPost, "/fhir/Patient/_history", []string{"GET"}},
		{http.MethodPut, "/fhir/Patient/p/_history", []string{"GET"}},
		{http.MethodDelete, "/fhir/Patient/p/_history/1", []string{"GET"}},
		{http.MethodGet, "/fhir/Patient/$validate", []string{"POST"}},
		{http.MethodPost, "/fhir/Patient/p", []string{"GET", "PUT", "DELETE", "PATCH"}},
		{http.MethodOptions, "/fhir/Patient/p", []string{"GET", "PUT", "DELETE", "PATCH"}},
		{http.MethodOptions, "/fhir/Patient", []string{"POST", "PUT", "DELETE", "PATCH"}},
		{http.MethodPut, "/fhir/", nil},
		{http.MethodDelete, "/fhir", nil},
	}
	for _, tc := range tests {
		r := ts.do(tc.method, tc.path, nil)
		if r.Status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: status %d, want 405", tc.method, tc.path, r.Status)
			continue
		}
		if _, ok := r.Header["Allow"]; !ok {
			t.Errorf("%s %s: 405 without Allow", tc.method, tc.path)
		}
		allow := r.Header.Get("Allow")
		for _, m := range tc.allow {
			if !strings.Contains(allow, m) {
				t.Errorf("%s %s: Allow %q lacks %s", tc.method, tc.path, allow, m)
			}
		}
	}
}

func TestBodyLimits(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(o *server.Options) { o.MaxBodyBytes = 1024 })
	big := patientJSON("big", strings.Repeat("x", 2000))
	r := ts.do(http.MethodPut, "/fhir/Patient/big", big)
	wantStatus(t, r, http.StatusRequestEntityTooLarge)
	wantStatus(t, ts.do(http.MethodPost, "/fhir/Patient", big), http.StatusRequestEntityTooLarge)
	wantStatus(t, ts.do(http.MethodPost, "/fhir/Patient/$validate", big), http.StatusRequestEntityTooLarge)
	// Without a Content-Length (chunked), the limit holds while reading.
	r = ts.do(http.MethodPost, "/fhir/Patient", chunked(big))
	wantStatus(t, r, http.StatusRequestEntityTooLarge)
	// Under the limit is fine.
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/small", patientJSON("small", "x")), http.StatusCreated)

	// Empty bodies, XML and other media types.
	wantStatus(t, ts.do(http.MethodPost, "/fhir/Patient", ""), http.StatusBadRequest)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/small", nil), http.StatusBadRequest)
	xml := `<Patient xmlns="http://hl7.org/fhir"><id value="small"/></Patient>`
	for _, ct := range []string{"application/fhir+xml", "application/xml", "text/xml", "text/plain", "application/fhir+json; charset=iso-8859-1", "not a/media type;;"} {
		r := ts.do(http.MethodPut, "/fhir/Patient/small", xml, "Content-Type", ct)
		if r.Status != http.StatusUnsupportedMediaType {
			t.Errorf("Content-Type %s: status %d, want 415", ct, r.Status)
		}
	}
	if n := ts.historyCount("/fhir/_history"); n != 1 {
		t.Errorf("%d versions stored, want 1", n)
	}
}

// chunked is a body whose length the client does not know.
type chunkedBody struct{ r *strings.Reader }

func chunked(s string) *chunkedBody { return &chunkedBody{strings.NewReader(s)} }

func (c *chunkedBody) Read(p []byte) (int, error) { return c.r.Read(p) }
