package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/server"
)

func TestResponseFormat(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/f", patientJSON("f", "F")), http.StatusCreated)
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
	tests := []struct {
		format, accept string
		want           int
	}{
		{"", "", 200},
		{"json", "", 200},
		{"application/fhir+json", "", 200},
		{"application/json", "", 200},
		{"application/fhir+json;fhirVersion=4.0", "", 200},
		{"xml", "", 415},
		{"application/fhir+xml", "", 415},
		{"text/xml", "", 415},
		{"turtle", "", 415},
		{"json", "application/fhir+xml", 200}, // _format wins
		{"xml", "application/fhir+json", 415},
		{"", "application/fhir+json", 200},
		{"", "application/json", 200},
		{"", "application/fhir+json; fhirVersion=4.0", 200},
		{"", "application/json+fhir", 200},
		{"", "*/*", 200},
		{"", "application/*", 200},
		{"", browser, 200},
		{"", "application/fhir+xml", 415},
		{"", "application/xml, text/xml", 415},
		{"", "application/fhir+xml, application/fhir+json;q=0.1", 200},
		{"", "text/plain", 406},
		{"application/fhir+json;fhirVersion=4.0.1", "", 200},
		{"application/fhir+json;fhirVersion=3.0", "", 406},
		{"", "application/fhir+json; fhirVersion=3.0", 406},
		{"", "application/fhir+json; fhirVersion=3.0, application/fhir+json; fhirVersion=4.0", 200},
	}
	for _, tc := range tests {
		path := "/fhir/Patient/f"
		if tc.format != "" {
			path += "?_format=" + url.QueryEscape(tc.format)
		}
		var headers []string
		if tc.accept != "" {
			headers = []string{"Accept", tc.accept}
		}
		r := ts.do(http.MethodGet, path, nil, headers...)
		if r.Status != tc.want {
			t.Errorf("_format=%q Accept=%q: status %d, want %d", tc.format, tc.accept, r.Status, tc.want)
			continue
		}
		if tc.want == 200 && str(r.JSON, "id") != "f" {
			t.Errorf("_format=%q Accept=%q: body %.100s", tc.format, tc.accept, r.Body)
		}
	}
	// An unescaped "+" in the query is a space once decoded.
	for _, raw := range []string{"application/fhir+json", "application/json+fhir", "application/fhir+json;fhirVersion=4.0"} {
		wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/f?_format="+raw, nil), http.StatusOK)
	}
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/f?_format=application/fhir+xml", nil), http.StatusUnsupportedMediaType)

	// Writes negotiate too, and refuse before storing anything.
	r := ts.do(http.MethodPost, "/fhir/Patient?_format=xml", patientJSON("", "X"))
	wantStatus(t, r, http.StatusUnsupportedMediaType)
	r = ts.do(http.MethodPut, "/fhir/Patient/f", patientJSON("f", "X"), "Accept", "application/fhir+xml")
	wantStatus(t, r, http.StatusUnsupportedMediaType)
	if n := ts.historyCount("/fhir/_history"); n != 1 {
		t.Errorf("%d versions, want 1", n)
	}
}

func TestRequestContentType(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for _, ct := range []string{"application/fhir+json", "application/json", "application/fhir+json; charset=utf-8",
		"application/json;charset=UTF-8", "application/fhir+json; fhirVersion=4.0", "application/json+fhir", ""} {
		r := ts.do(http.MethodPost, "/fhir/Patient", patientJSON("", "CT"), "Content-Type", ct)
		if r.Status != http.StatusCreated {
			t.Errorf("Content-Type %q: status %d, want 201: %s", ct, r.Status, r.Body)
		}
	}
	// A UTF-8 byte order mark before the JSON is ignored.
	wantStatus(t, ts.do(http.MethodPost, "/fhir/Patient", "\xef\xbb\xbf"+patientJSON("", "BOM")), http.StatusCreated)
	// Another FHIR version: 415, nothing stored.
	before := ts.historyCount("/fhir/_history")
	r := ts.do(http.MethodPost, "/fhir/Patient", patientJSON("", "CT"), "Content-Type", "application/fhir+json; fhirVersion=3.0")
	wantStatus(t, r, http.StatusUnsupportedMediaType)
	if n := ts.historyCount("/fhir/_history"); n != before {
		t.Errorf("a body of another FHIR version stored %d versions", n-before)
	}
	// A PATCH is told which patch format to send.
	r = ts.do(http.MethodPatch, "/fhir/Patient/x", `{"active":true}`, "Content-Type", "application/merge-patch+json")
	wantStatus(t, r, http.StatusUnsupportedMediaType)
	if !strings.Contains(string(r.Body), "application/json-patch+json") {
		t.Errorf("merge patch: %s", r.Body)
	}
	// Clients send a Content-Type on GETs too; it does not matter there.
	id := ts.createPatient("G")
	r = ts.do(http.MethodGet, "/fhir/Patient/"+id, nil, "Content-Type", "application/fhir+xml")
	wantStatus(t, r, http.StatusOK)
}

// TestBaseURLForms checks the base with and without a trailing slash, and
// trailing slashes after the interaction paths clients build.
func TestBaseURLForms(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for _, p := range []string{"/fhir/metadata", "/fhir/metadata/", "/fhir/metadata?_format=json", "/fhir/metadata?_pretty=true"} {
		r := ts.do(http.MethodGet, p, nil)
		wantStatus(t, r, http.StatusOK)
		if str(r.JSON, "resourceType") != "CapabilityStatement" {
			t.Errorf("%s: %.100s", p, r.Body)
		}
	}
	r := ts.do(http.MethodPost, "/fhir/Patient/", patientJSON("", "Slash"))
	wantStatus(t, r, http.StatusCreated)
	id := str(r.JSON, "id")
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/"+id+"/", nil), http.StatusOK)
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/"+id+"/_history/", nil), http.StatusOK)
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/"+id+"/_history/1/", nil), http.StatusOK)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/"+id+"/", patientJSON(id, "Slash2")), http.StatusOK)
	wantStatus(t, ts.do(http.MethodGet, "/fhir/_history/", nil), http.StatusOK)
	wantStatus(t, ts.do(http.MethodHead, "/fhir/metadata", nil), http.StatusOK)
}

// TestBaseURLOption checks that a configured public base is used in
// Location and links instead of the request's Host.
func TestBaseURLOption(t *testing.T) {
	t.Parallel()
	const base = "https://cpms.example.org/fhir"
	ts := newTestServer(t, func(o *server.Options) { o.BaseURL = base + "/" })
	r := ts.do(http.MethodPost, "/fhir/Patient", patientJSON("", "B"))
	wantStatus(t, r, http.StatusCreated)
	if want := base + "/Patient/" + str(r.JSON, "id") + "/_history/1"; r.Header.Get("Location") != want {
		t.Errorf("Location %q, want %q", r.Header.Get("Location"), want)
	}
	r = ts.do(http.MethodGet, "/fhir/_history", nil)
	wantStatus(t, r, http.StatusOK)
	if got := str(r.JSON, "entry", 0, "fullUrl"); got != base+"/Patient/"+str(r.JSON, "entry", 0, "resource", "id") {
		t.Errorf("fullUrl %q", got)
	}
	r = ts.do(http.MethodGet, "/fhir/metadata", nil)
	if got := str(r.JSON, "implementation", "url"); got != base {
		t.Errorf("implementation.url %q, want %q", got, base)
	}
}

// TestCORS checks that a browser application on another origin may call
// the API: a preflight is answered, answers allow the origin and expose
// the headers FHIR clients read.
func TestCORS(t *testing.T) {
	ts := newTestServer(t)
	r := ts.do(http.MethodOptions, "/fhir/Patient", nil, "Origin", "http://app.example.org",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type, if-none-exist")
	if r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "http://app.example.org" ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "If-None-Exist") {
		t.Errorf("preflight: %d %v", r.Status, r.Header)
	}
	// Headers of a client library's own are allowed too (Medplum's).
	r = ts.do(http.MethodOptions, "/fhir/Patient", nil, "Origin", "http://app.example.org",
		"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "x-medplum, cache-control")
	if allow := r.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(allow, "x-medplum") || !strings.Contains(allow, "cache-control") {
		t.Errorf("preflight of a library's headers: %q", allow)
	}
	r = ts.do(http.MethodPost, "/fhir/Patient", `{"resourceType":"Patient"}`, "Origin", "http://app.example.org")
	if r.Status != http.StatusCreated || r.Header.Get("Access-Control-Allow-Origin") != "http://app.example.org" ||
		!strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "Location") {
		t.Errorf("create from another origin: %d %v", r.Status, r.Header)
	}
	if r := ts.do(http.MethodGet, "/fhir/metadata", nil); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS headers without an Origin")
	}
}
