package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
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
	// Without a Content-Type, or as plain JSON, a JSON array is a JSON
	// Patch.
	for _, ct := range []string{"", "application/json"} {
		r = patch(`[{"op":"test","path":"/gender","value":"female"}]`, "Content-Type", ct)
		wantStatus(t, r, http.StatusOK)
		checkVersion(t, r, "Patient", "jp", "2")
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

// fhirPathOp is one operation of a FHIRPath Patch document; parts are
// further parts (value[x] parts, as JSON).
func fhirPathOp(typ, path string, parts ...string) string {
	all := append([]string{`{"name":"type","valueCode":"` + typ + `"}`, `{"name":"path","valueString":"` + path + `"}`}, parts...)
	return `{"name":"operation","part":[` + strings.Join(all, ",") + `]}`
}

func fhirPathPatch(ops ...string) string {
	return `{"resourceType":"Parameters","parameter":[` + strings.Join(ops, ",") + `]}`
}

// TestFHIRPathPatch patches through HTTP with FHIRPath Patch documents
// (application/fhir+json): the result is validated and versioned as any
// update, and a document that is malformed or cannot apply is refused
// with the location of its faulty part, storing nothing.
func TestFHIRPathPatch(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/fp", patientJSON("fp", "Before", "urn:s|1", "urn:s|2")), http.StatusCreated)
	patch := func(body string, headers ...string) *response {
		t.Helper()
		return ts.do(http.MethodPatch, "/fhir/Patient/fp", body, append([]string{"Content-Type", "application/fhir+json"}, headers...)...)
	}
	r := patch(fhirPathPatch(
		fhirPathOp("replace", "Patient.name[0].family", `{"name":"value","valueString":"After"}`),
		fhirPathOp("add", "Patient", `{"name":"name","valueString":"birthDate"}`, `{"name":"value","valueDate":"1930-01-01"}`),
		fhirPathOp("delete", "Patient.identifier.where(value = '1')"),
		fhirPathOp("add", "Patient", `{"name":"name","valueString":"contact"}`,
			`{"name":"value","part":[{"name":"gender","valueCode":"female"},{"name":"name","valueHumanName":{"family":"Contact"}}]}`),
	), "If-Match", `W/"1"`)
	wantStatus(t, r, http.StatusOK)
	checkVersion(t, r, "Patient", "fp", "2")
	if str(r.JSON, "name", 0, "family") != "After" || str(r.JSON, "birthDate") != "1930-01-01" ||
		str(r.JSON, "contact", 0, "name", "family") != "Contact" || str(r.JSON, "contact", 0, "gender") != "female" {
		t.Errorf("patched: %s", r.Body)
	}
	if ids := get(r.JSON, "identifier").([]any); len(ids) != 1 || str(ids[0], "value") != "2" {
		t.Errorf("identifiers after deleting the first: %v", ids)
	}
	// The stored JSON keeps FHIR's order of elements.
	if !bytes.HasPrefix(r.Body, []byte(`{"resourceType":"Patient","id":"fp","meta":`)) {
		t.Errorf("patched resource does not start with resourceType, id, meta: %.80s", r.Body)
	}
	// A patch that changes nothing stores nothing.
	r = patch(fhirPathPatch(fhirPathOp("replace", "Patient.birthDate", `{"name":"value","valueDate":"1930-01-01"}`)))
	wantStatus(t, r, http.StatusOK)
	checkVersion(t, r, "Patient", "fp", "2")
	// A date no one knows: its data-absent-reason in place of the value,
	// which the validator takes and a read gives back.
	r = patch(fhirPathPatch(fhirPathOp("replace", "Patient.birthDate",
		`{"name":"value","_valueDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}}`)))
	wantStatus(t, r, http.StatusOK)
	checkVersion(t, r, "Patient", "fp", "3")
	if get(r.JSON, "birthDate") != nil || str(r.JSON, "_birthDate", "extension", 0, "valueCode") != "unknown" {
		t.Errorf("birth date replaced by its absent reason: %s", r.Body)
	}
	r = patch(fhirPathPatch(fhirPathOp("replace", "Patient.birthDate", `{"name":"value","valueDate":"1930-01-01"}`)))
	wantStatus(t, r, http.StatusOK)
	checkVersion(t, r, "Patient", "fp", "4")
	if str(r.JSON, "birthDate") != "1930-01-01" || get(r.JSON, "_birthDate") != nil {
		t.Errorf("birth date given again: %s", r.Body)
	}

	refused := []struct {
		name, body string
		status     int
		at         string
	}{
		{"not a Parameters", `{"resourceType":"Patient"}`, 400, ""},
		{"unknown operation", fhirPathPatch(fhirPathOp("frobnicate", "Patient")), 400, "Parameters.parameter[0].part[0].valueCode"},
		{"path not FHIRPath", fhirPathPatch(fhirPathOp("delete", "Patient.name.where(")), 400, "Parameters.parameter[0].part[1].valueString"},
		{"replace without a value", fhirPathPatch(fhirPathOp("replace", "Patient.birthDate")), 400, "Parameters.parameter[0]"},
		{"nothing to replace", fhirPathPatch(fhirPathOp("replace", "Patient.deceased", `{"name":"value","valueBoolean":true}`)), 422, "Parameters.parameter[0].part[1]"},
		{"unknown element", fhirPathPatch(fhirPathOp("add", "Patient", `{"name":"name","valueString":"colour"}`, `{"name":"value","valueString":"red"}`)), 422, "Parameters.parameter[0].part[2]"},
		{"wrong type", fhirPathPatch(fhirPathOp("replace", "Patient.birthDate", `{"name":"value","valueCodeableConcept":{"text":"x"}}`)), 422, "Parameters.parameter[0].part[2]"},
		{"result invalid", fhirPathPatch(fhirPathOp("replace", "Patient.birthDate", `{"name":"value","valueDate":"1930-02-30"}`)), 422, "Patient.birthDate"},
		{"changes the id", fhirPathPatch(fhirPathOp("replace", "Patient.id", `{"name":"value","valueId":"other"}`)), 422, "Patient.id"},
		{"second operation fails", fhirPathPatch(fhirPathOp("delete", "Patient.birthDate"), fhirPathOp("replace", "Patient.active", `{"name":"value","valueBoolean":true}`)), 422, "Parameters.parameter[1].part[1]"},
	}
	for _, tc := range refused {
		r := patch(tc.body)
		if r.Status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, r.Status, tc.status, r.Body)
			continue
		}
		if tc.at != "" && !slices.Contains(expressions(t, r), tc.at) {
			t.Errorf("%s: issues at %q, want %s: %s", tc.name, expressions(t, r), tc.at, r.Body)
		}
	}
	if n := ts.historyCount("/fhir/Patient/fp/_history"); n != 4 {
		t.Errorf("%d versions, want 4: a refused patch stored something", n)
	}

	// In a transaction, a PATCH entry carries its Parameters as the
	// entry's resource.
	r = ts.do(http.MethodPost, "/fhir", txBundle("transaction",
		entry("PATCH", "Patient/fp", jsonOf(t, fhirPathPatch(fhirPathOp("add", "Patient", `{"name":"name","valueString":"gender"}`, `{"name":"value","valueCode":"other"}`))), ""),
	))
	wantStatus(t, r, http.StatusOK)
	if list := responses(t, r, "transaction-response", 1); str(list[0], "resource", "gender") != "other" {
		t.Errorf("transaction patch: %v", list[0])
	}
	// Its faults are located in the Bundle.
	r = ts.do(http.MethodPost, "/fhir", txBundle("transaction",
		entry("PATCH", "Patient/fp", jsonOf(t, fhirPathPatch(fhirPathOp("frobnicate", "Patient"))), ""),
	))
	wantStatus(t, r, http.StatusBadRequest)
	if at := "Bundle.entry[0].resource.parameter[0].part[0].valueCode"; !slices.Contains(expressions(t, r), at) {
		t.Errorf("a bad patch in a transaction: issues at %q, want %s: %s", expressions(t, r), at, r.Body)
	}
}

// jsonOf decodes a JSON document for a Bundle entry.
func jsonOf(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}
