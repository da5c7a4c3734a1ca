package server_test

import (
	"net/http"
	"testing"
)

func TestJSONPatch(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/jp", patientJSON("jp", "Before", "urn:s|1")), http.StatusCreated)
	patch := func(body string, headers ...string) *response {
		t.Helper()
		if len(headers) == 0 || headers[0] != "Content-Type" {
			headers = append([]string{"Content-Type", jsonPatch}, headers...)
		}
		return ts.do(http.MethodPatch, "/fhir/Patient/jp", body, headers...)
	}

	r := patch(`[{"op":"test","path":"/name/0/family","value":"Before"},
		{"op":"replace","path":"/name/0/family","value":"After"},
		{"op":"add","path":"/gender","value":"female"}]`, "If-Match", `W/"1"`)
	wantStatus(t, r, http.StatusOK)
	checkVersion(t, r, "Patient", "jp", "2")
	if str(r.JSON, "name", 0, "family") != "After" || str(r.JSON, "gender") != "female" {
		t.Errorf("patched: %s", r.Body)
	}
	if str(r.JSON, "identifier", 0, "value") != "1" {
		t.Errorf("untouched elements lost: %s", r.Body)
	}
	// A patch of the server's meta changes nothing the server owns.
	r = patch(`[{"op":"replace","path":"/meta/versionId","value":"77"}]`)
	wantStatus(t, r, http.StatusOK)
	checkVersion(t, r, "Patient", "jp", "2")
	// Prefer applies to patches.
	r = patch(`[{"op":"replace","path":"/gender","value":"male"}]`, "Prefer", "return=minimal")
	wantStatus(t, r, http.StatusOK)
	if len(r.Body) != 0 || r.Header.Get("ETag") != `W/"3"` {
		t.Errorf("return=minimal: ETag %q body %s", r.Header.Get("ETag"), r.Body)
	}

	refused := []struct {
		name, body string
		headers    []string
		status     int
	}{
		{"failing test op", `[{"op":"test","path":"/name/0/family","value":"Nope"},{"op":"replace","path":"/gender","value":"other"}]`, nil, 422},
		{"missing path", `[{"op":"replace","path":"/birthDate","value":"2000-01-01"}]`, nil, 422},
		{"changes the id", `[{"op":"replace","path":"/id","value":"other"}]`, nil, 422},
		{"removes the id", `[{"op":"remove","path":"/id"}]`, nil, 422},
		{"result invalid", `[{"op":"replace","path":"/gender","value":"robot"}]`, nil, 422},
		{"result breaks a rule", `[{"op":"add","path":"/link","value":[{"type":"seealso"}]}]`, nil, 422},
		{"changes the type", `[{"op":"replace","path":"/resourceType","value":"Group"}]`, nil, 422},
		{"stale If-Match", `[{"op":"replace","path":"/gender","value":"other"}]`, []string{"If-Match", `W/"1"`}, 412},
		{"not a patch document", `{"op":"replace"}`, nil, 400},
		{"not an array of objects", `[1]`, nil, 400},
		{"operation without a value", `[{"op":"replace","path":"/gender"}]`, nil, 400},
		{"unknown op", `[{"op":"frobnicate","path":"/gender"}]`, nil, 400},
		{"malformed JSON", `[{"op":`, nil, 400},
		{"FHIRPath Patch", `{"resourceType":"Parameters","parameter":[]}`, []string{"Content-Type", "application/fhir+json"}, 415},
		{"XML Patch", `<diff/>`, []string{"Content-Type", "application/xml-patch+xml"}, 415},
	}
	for _, tc := range refused {
		r := patch(tc.body, tc.headers...)
		if r.Status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, r.Status, tc.status, r.Body)
		}
	}
	if n := ts.historyCount("/fhir/Patient/jp/_history"); n != 3 {
		t.Errorf("%d versions, want 3: a refused patch stored something", n)
	}
	r = ts.do(http.MethodGet, "/fhir/Patient/jp", nil)
	if str(r.JSON, "gender") != "male" || str(r.JSON, "id") != "jp" {
		t.Errorf("after refused patches: %s", r.Body)
	}

	wantStatus(t, ts.do(http.MethodDelete, "/fhir/Patient/jp", nil), http.StatusNoContent)
	wantStatus(t, patch(`[{"op":"replace","path":"/gender","value":"other"}]`), http.StatusGone)
}
