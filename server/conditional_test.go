package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const jsonPatch = "application/json-patch+json"

func TestConditionalCreate(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	// No match: created.
	r := ts.do(http.MethodPost, "/fhir/Patient", patientJSON("", "One", "urn:s|1"), "If-None-Exist", "identifier=urn:s|1")
	wantStatus(t, r, http.StatusCreated)
	id := str(r.JSON, "id")

	// One match: the existing resource, 200, nothing stored.
	for _, crit := range []string{"identifier=urn:s|1", "Patient?identifier=urn:s|1", "identifier=1", "_id=" + id, "identifier=urn:s|"} {
		r = ts.do(http.MethodPost, "/fhir/Patient", patientJSON("", "Other", "urn:s|1"), "If-None-Exist", crit)
		wantStatus(t, r, http.StatusOK)
		checkVersion(t, r, "Patient", id, "1")
		if got := str(r.JSON, "name", 0, "family"); got != "One" {
			t.Errorf("If-None-Exist %s: answered family %q, want the existing One", crit, got)
		}
		if loc := r.Header.Get("Content-Location"); !strings.HasSuffix(loc, "/fhir/Patient/"+id+"/_history/1") {
			t.Errorf("If-None-Exist %s: Content-Location %q, want the existing Patient's", crit, loc)
		}
	}
	// With return=minimal too, the answer says which resource it found.
	r = ts.do(http.MethodPost, "/fhir/Patient", patientJSON("", "Other", "urn:s|1"), "If-None-Exist", "identifier=urn:s|1", "Prefer", "return=minimal")
	wantStatus(t, r, http.StatusOK)
	if loc := r.Header.Get("Content-Location"); !strings.HasSuffix(loc, "/fhir/Patient/"+id+"/_history/1") {
		t.Errorf("return=minimal: Content-Location %q", loc)
	}
	if n := ts.historyCount("/fhir/_history"); n != 1 {
		t.Errorf("%d versions stored, want 1", n)
	}

	// Two matches: 412, nothing stored.
	ts.createPatient("Two", "urn:s|1")
	r = ts.do(http.MethodPost, "/fhir/Patient", patientJSON("", "Three"), "If-None-Exist", "identifier=urn:s|1")
	wantStatus(t, r, http.StatusPreconditionFailed)

	// Criteria the server cannot evaluate are refused, never ignored.
	for _, crit := range []string{"nonsense=One", "identifier=urn:s|1&_text=x", "_id=bad id", "%zz", "identifier=", "birthdate=2000-13"} {
		r = ts.do(http.MethodPost, "/fhir/Patient", patientJSON("", "Four"), "If-None-Exist", crit)
		if r.Status != http.StatusBadRequest {
			t.Errorf("If-None-Exist %q: status %d, want 400", crit, r.Status)
		}
	}
	if n := ts.historyCount("/fhir/_history"); n != 2 {
		t.Errorf("%d versions stored, want 2", n)
	}
}

func TestConditionalUpdate(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	path := "/fhir/Patient?identifier=" + url.QueryEscape("urn:s|u1")

	// No match, no id: created with a server id.
	r := ts.do(http.MethodPut, path, patientJSON("", "V1", "urn:s|u1"))
	wantStatus(t, r, http.StatusCreated)
	id := str(r.JSON, "id")
	checkVersion(t, r, "Patient", id, "1")
	if r.Header.Get("Location") == "" {
		t.Error("conditional update as create: no Location")
	}

	// One match: updated, with or without the id in the body.
	r = ts.do(http.MethodPut, path, patientJSON("", "V2", "urn:s|u1"))
	wantStatus(t, r, http.StatusOK)
	checkVersion(t, r, "Patient", id, "2")
	r = ts.do(http.MethodPut, path, patientJSON(id, "V3", "urn:s|u1"), "If-Match", `W/"2"`)
	wantStatus(t, r, http.StatusOK)
	checkVersion(t, r, "Patient", id, "3")

	// A body id other than the match's: 400.
	r = ts.do(http.MethodPut, path, patientJSON("someone-else", "V4", "urn:s|u1"))
	wantStatus(t, r, http.StatusBadRequest)
	// If-Match applies to the match.
	wantStatus(t, ts.do(http.MethodPut, path, patientJSON("", "V4", "urn:s|u1"), "If-Match", `W/"1"`), http.StatusPreconditionFailed)

	// No match, with an id: created under the client's id.
	r = ts.do(http.MethodPut, "/fhir/Patient?identifier=urn:s|u2", patientJSON("client-chosen", "W", "urn:s|u2"))
	wantStatus(t, r, http.StatusCreated)
	checkVersion(t, r, "Patient", "client-chosen", "1")
	// No match, with the id of an existing resource the criteria do not
	// select: 409, and that resource is left alone.
	r = ts.do(http.MethodPut, "/fhir/Patient?identifier=urn:s|u3", patientJSON("client-chosen", "Intruder", "urn:s|u3"))
	wantStatus(t, r, http.StatusConflict)
	checkVersion(t, ts.do(http.MethodGet, "/fhir/Patient/client-chosen", nil), "Patient", "client-chosen", "1")

	// Two matches: 412.
	ts.createPatient("Dup", "urn:s|u1")
	wantStatus(t, ts.do(http.MethodPut, path, patientJSON("", "V5", "urn:s|u1")), http.StatusPreconditionFailed)

	before := ts.historyCount("/fhir/_history")
	for _, q := range []string{"", "?nonsense=V3", "?identifier=urn:s|u1&_content=x", "?_format=json", "?_id=" + url.QueryEscape("a b")} {
		r := ts.do(http.MethodPut, "/fhir/Patient"+q, patientJSON("", "X", "urn:s|u9"))
		if r.Status != http.StatusBadRequest {
			t.Errorf("PUT /fhir/Patient%s: status %d, want 400", q, r.Status)
		}
	}
	if n := ts.historyCount("/fhir/_history"); n != before {
		t.Errorf("refused conditional updates stored %d versions", n-before)
	}
}

func TestConditionalDelete(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	id := ts.createPatient("Del", "urn:s|d1")
	ts.createPatient("Keep", "urn:s|keep")

	// No match: nothing deleted.
	r := ts.do(http.MethodDelete, "/fhir/Patient?identifier=urn:s|none", nil)
	if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
		t.Errorf("conditional delete without match: status %d", r.Status)
	}
	if n := ts.historyCount("/fhir/_history"); n != 2 {
		t.Errorf("%d versions, want 2", n)
	}

	// Refused criteria delete nothing, least of all everything.
	for _, q := range []string{"", "?", "?nonsense=Del", "?_count=10", "?identifier=urn:s|d1&_list=x"} {
		r := ts.do(http.MethodDelete, "/fhir/Patient"+q, nil)
		if r.Status != http.StatusBadRequest {
			t.Errorf("DELETE /fhir/Patient%s: status %d, want 400", q, r.Status)
		}
	}
	if n := ts.historyCount("/fhir/_history"); n != 2 {
		t.Errorf("%d versions, want 2", n)
	}

	// If-Match must name the match's version: a stale one, or one
	// without a match, deletes nothing.
	wantStatus(t, ts.do(http.MethodDelete, "/fhir/Patient?identifier=urn:s|d1", nil, "If-Match", `W/"9"`), http.StatusPreconditionFailed)
	wantStatus(t, ts.do(http.MethodDelete, "/fhir/Patient?identifier=urn:s|none", nil, "If-Match", `W/"1"`), http.StatusPreconditionFailed)
	wantStatus(t, ts.do(http.MethodDelete, "/fhir/Patient?identifier=urn:s|none", nil, "If-Match", "*"), http.StatusPreconditionFailed)
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/"+id, nil), http.StatusOK)

	// One match: deleted (with If-Match naming its version).
	r = ts.do(http.MethodDelete, "/fhir/Patient?identifier=urn:s|d1", nil, "If-Match", `W/"1"`)
	if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
		t.Fatalf("conditional delete: status %d", r.Status)
	}
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/"+id, nil), http.StatusGone)

	// Two matches: 412, nothing deleted.
	ts.createPatient("A", "urn:s|two")
	ts.createPatient("B", "urn:s|two")
	wantStatus(t, ts.do(http.MethodDelete, "/fhir/Patient?identifier=urn:s|two", nil), http.StatusPreconditionFailed)
	if n := ts.historyCount("/fhir/_history"); n != 5 {
		t.Errorf("%d versions, want 5", n)
	}
}

func TestConditionalPatch(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	id := ts.createPatient("P", "urn:s|p1")
	patch := `[{"op":"replace","path":"/name/0/family","value":"Patched"}]`

	r := ts.do(http.MethodPatch, "/fhir/Patient?identifier=urn:s|p1", patch, "Content-Type", jsonPatch)
	wantStatus(t, r, http.StatusOK)
	checkVersion(t, r, "Patient", id, "2")
	if got := str(r.JSON, "name", 0, "family"); got != "Patched" {
		t.Errorf("family %q", got)
	}
	wantStatus(t, ts.do(http.MethodPatch, "/fhir/Patient?identifier=urn:s|none", patch, "Content-Type", jsonPatch), http.StatusNotFound)
	wantStatus(t, ts.do(http.MethodPatch, "/fhir/Patient", patch, "Content-Type", jsonPatch), http.StatusBadRequest)
	wantStatus(t, ts.do(http.MethodPatch, "/fhir/Patient?nonsense=P", patch, "Content-Type", jsonPatch), http.StatusBadRequest)
	ts.createPatient("Q", "urn:s|p1")
	wantStatus(t, ts.do(http.MethodPatch, "/fhir/Patient?identifier=urn:s|p1", patch, "Content-Type", jsonPatch), http.StatusPreconditionFailed)
}

func TestIfMatch(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/m", patientJSON("m", "V1")), http.StatusCreated)
	for _, tc := range []struct {
		ifMatch string
		want    int
	}{
		{`W/"1"`, http.StatusOK},
		{`W/"1"`, http.StatusPreconditionFailed}, // now at 2
		{`"2"`, http.StatusOK},
		{`3`, http.StatusOK},
		{`W/"9"`, http.StatusPreconditionFailed},
		{`W/"x"`, http.StatusBadRequest},
		{`W/"0"`, http.StatusBadRequest},
		{`*x`, http.StatusBadRequest},
		{`*`, http.StatusOK}, // any version of an existing resource
	} {
		r := ts.do(http.MethodPut, "/fhir/Patient/m", patientJSON("m", "after "+tc.ifMatch), "If-Match", tc.ifMatch)
		if r.Status != tc.want {
			t.Errorf("If-Match %s: status %d, want %d: %s", tc.ifMatch, r.Status, tc.want, r.Body)
		}
	}
	// If-Match on a resource that does not exist fails rather than creates.
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/new", patientJSON("new", "N"), "If-Match", `W/"1"`), http.StatusPreconditionFailed)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/new", patientJSON("new", "N"), "If-Match", `*`), http.StatusPreconditionFailed)
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/new", nil), http.StatusNotFound)

	// Patch and delete honour it too.
	patch := `[{"op":"replace","path":"/name/0/family","value":"P"}]`
	wantStatus(t, ts.do(http.MethodPatch, "/fhir/Patient/m", patch, "Content-Type", jsonPatch, "If-Match", `W/"1"`), http.StatusPreconditionFailed)
	wantStatus(t, ts.do(http.MethodPatch, "/fhir/Patient/m", patch, "Content-Type", jsonPatch, "If-Match", `W/"5"`), http.StatusOK)
	wantStatus(t, ts.do(http.MethodDelete, "/fhir/Patient/m", nil, "If-Match", `W/"5"`), http.StatusPreconditionFailed)
	wantStatus(t, ts.do(http.MethodDelete, "/fhir/Patient/m", nil, "If-Match", `bad`), http.StatusBadRequest)
	wantStatus(t, ts.do(http.MethodDelete, "/fhir/Patient/m", nil, "If-Match", `W/"6"`), http.StatusNoContent)
	if n := ts.historyCount("/fhir/Patient/m/_history"); n != 7 {
		t.Errorf("%d versions, want 7", n)
	}
}

// TestIfNoneMatchPut: If-None-Match: * makes an update a create that
// never overwrites (RFC 9110 13.1.2), over HTTP and in a transaction.
func TestIfNoneMatchPut(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/n", patientJSON("n", "First"), "If-None-Match", "*"), http.StatusCreated)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/n", patientJSON("n", "Second"), "If-None-Match", "*"), http.StatusPreconditionFailed)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/n", patientJSON("n", "Second"), "If-None-Match", "*", "If-Match", `W/"1"`), http.StatusBadRequest)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/n", patientJSON("n", "Second"), "If-None-Match", `W/"1"`), http.StatusBadRequest)
	r := ts.do(http.MethodPost, "/fhir", txBundle("transaction",
		entry("POST", "Patient", patientJSON("", "Other"), ""),
		entry("PUT", "Patient/n", patientJSON("n", "Second"), "", "ifNoneMatch", "*")))
	wantStatus(t, r, http.StatusPreconditionFailed)
	if got := str(ts.do(http.MethodGet, "/fhir/Patient/n", nil).JSON, "name", 0, "family"); got != "First" {
		t.Errorf("Patient/n was overwritten: family %q", got)
	}
	if n := ts.historyCount("/fhir/_history"); n != 1 {
		t.Errorf("%d versions, want 1", n)
	}
	// Once deleted, it may be created again.
	wantStatus(t, ts.do(http.MethodDelete, "/fhir/Patient/n", nil), http.StatusNoContent)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/n", patientJSON("n", "Third"), "If-None-Match", "*"), http.StatusCreated)
}

func TestConditionalRead(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	r := ts.do(http.MethodPut, "/fhir/Patient/c", patientJSON("c", "C"))
	wantStatus(t, r, http.StatusCreated)
	lastMod, err := http.ParseTime(r.Header.Get("Last-Modified"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, value string
		want        int
	}{
		{"If-None-Match", `W/"1"`, http.StatusNotModified},
		{"If-None-Match", `"1"`, http.StatusNotModified},
		{"If-None-Match", `W/"2"`, http.StatusOK},
		{"If-None-Match", `W/"3", W/"1"`, http.StatusNotModified},
		{"If-None-Match", `*`, http.StatusNotModified},
		{"If-None-Match", `W/"2", W/"3"`, http.StatusOK},
		{"If-Modified-Since", lastMod.Format(http.TimeFormat), http.StatusNotModified},
		{"If-Modified-Since", lastMod.Add(time.Hour).Format(http.TimeFormat), http.StatusNotModified},
		{"If-Modified-Since", lastMod.Add(-time.Second).Format(http.TimeFormat), http.StatusOK},
		{"If-Modified-Since", "not a date", http.StatusOK},
	}
	for _, tc := range tests {
		r := ts.do(http.MethodGet, "/fhir/Patient/c", nil, tc.name, tc.value)
		if r.Status != tc.want {
			t.Errorf("%s: %s: status %d, want %d", tc.name, tc.value, r.Status, tc.want)
			continue
		}
		if r.Header.Get("ETag") != `W/"1"` {
			t.Errorf("%s: %s: ETag %q", tc.name, tc.value, r.Header.Get("ETag"))
		}
		if tc.want == http.StatusOK && str(r.JSON, "id") != "c" {
			t.Errorf("%s: %s: body %s", tc.name, tc.value, r.Body)
		}
	}
	// After an update the old ETag no longer matches.
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/c", patientJSON("c", "C2")), http.StatusOK)
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/c", nil, "If-None-Match", `W/"1"`), http.StatusOK)
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/c", nil, "If-None-Match", `W/"2"`), http.StatusNotModified)
}
