package server_test

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/internal/testfixture"
)

var instantPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)

// checkVersion checks the headers and meta of an answer carrying version
// v of Type/id.
func checkVersion(t *testing.T, r *response, typ, id, v string) {
	t.Helper()
	if got := r.Header.Get("ETag"); got != `W/"`+v+`"` {
		t.Errorf("ETag %q, want W/%q", got, v)
	}
	if _, err := http.ParseTime(r.Header.Get("Last-Modified")); err != nil {
		t.Errorf("Last-Modified %q: %v", r.Header.Get("Last-Modified"), err)
	}
	if r.JSON == nil {
		return
	}
	if got := str(r.JSON, "resourceType"); got != typ {
		t.Errorf("resourceType %q, want %q", got, typ)
	}
	if got := str(r.JSON, "id"); got != id {
		t.Errorf("id %q, want %q", got, id)
	}
	if got := str(r.JSON, "meta", "versionId"); got != v {
		t.Errorf("meta.versionId %q, want %q", got, v)
	}
	lu := str(r.JSON, "meta", "lastUpdated")
	if !instantPattern.MatchString(lu) {
		t.Errorf("meta.lastUpdated %q is not an instant", lu)
	}
	if lm, err := http.ParseTime(r.Header.Get("Last-Modified")); err == nil {
		if want, err := time.Parse(time.RFC3339Nano, lu); err == nil && !lm.Equal(want.Truncate(time.Second)) {
			t.Errorf("Last-Modified %v does not match meta.lastUpdated %s", lm, lu)
		}
	}
}

func TestCreateReadVRead(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	r := ts.do(http.MethodPost, "/fhir/Patient", patientJSON("client-id", "Chalmers", "urn:sys|1"))
	wantStatus(t, r, http.StatusCreated)
	id := str(r.JSON, "id")
	if id == "" || id == "client-id" {
		t.Fatalf("create: id %q; want a server-assigned id (the body's id is ignored)", id)
	}
	checkVersion(t, r, "Patient", id, "1")
	loc := r.Header.Get("Location")
	if want := ts.URL + "/fhir/Patient/" + id + "/_history/1"; loc != want {
		t.Errorf("Location %q, want %q", loc, want)
	}
	if ts.do(http.MethodGet, "/fhir/Patient/client-id", nil).Status != http.StatusNotFound {
		t.Errorf("the body's id was used")
	}
	// Even an id that is not a valid id is ignored, and so are the
	// server's meta elements.
	r2 := ts.do(http.MethodPost, "/fhir/Patient", `{"resourceType":"Patient","id":"not valid!","meta":{"versionId":"9"}}`)
	wantStatus(t, r2, http.StatusCreated)
	checkVersion(t, r2, "Patient", str(r2.JSON, "id"), "1")

	r = ts.do(http.MethodGet, "/fhir/Patient/"+id, nil)
	wantStatus(t, r, http.StatusOK)
	checkVersion(t, r, "Patient", id, "1")
	if got := str(r.JSON, "name", 0, "family"); got != "Chalmers" {
		t.Errorf("read: family %q", got)
	}
	// The Location answers a vread.
	r = ts.do(http.MethodGet, loc, nil)
	wantStatus(t, r, http.StatusOK)
	checkVersion(t, r, "Patient", id, "1")

	r = ts.do(http.MethodHead, "/fhir/Patient/"+id, nil)
	wantStatus(t, r, http.StatusOK)
	if r.Header.Get("ETag") != `W/"1"` {
		t.Errorf("HEAD: ETag %q", r.Header.Get("ETag"))
	}
}

func TestUpdateAndVReadOlderVersions(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	// Update as create, with the client's id.
	r := ts.do(http.MethodPut, "/fhir/Patient/p1", patientJSON("p1", "One"))
	wantStatus(t, r, http.StatusCreated)
	checkVersion(t, r, "Patient", "p1", "1")
	if loc := r.Header.Get("Location"); !strings.HasSuffix(loc, "/fhir/Patient/p1/_history/1") {
		t.Errorf("update as create: Location %q", loc)
	}
	for v, family := range []string{"Two", "Three"} {
		r = ts.do(http.MethodPut, "/fhir/Patient/p1", patientJSON("p1", family))
		wantStatus(t, r, http.StatusOK)
		checkVersion(t, r, "Patient", "p1", string(rune('2'+v)))
		if loc := r.Header.Get("Location"); loc != "" {
			t.Errorf("update: unexpected Location %q", loc)
		}
	}
	// The same content again writes no version.
	r = ts.do(http.MethodPut, "/fhir/Patient/p1", patientJSON("p1", "Three"))
	wantStatus(t, r, http.StatusOK)
	checkVersion(t, r, "Patient", "p1", "3")

	for v, family := range map[string]string{"1": "One", "2": "Two", "3": "Three"} {
		r = ts.do(http.MethodGet, "/fhir/Patient/p1/_history/"+v, nil)
		wantStatus(t, r, http.StatusOK)
		checkVersion(t, r, "Patient", "p1", v)
		if got := str(r.JSON, "name", 0, "family"); got != family {
			t.Errorf("vread %s: family %q, want %q", v, got, family)
		}
	}
	for _, v := range []string{"4", "0", "-1", "x", "99999999999999999999"} {
		if r := ts.do(http.MethodGet, "/fhir/Patient/p1/_history/"+v, nil); r.Status != http.StatusNotFound {
			t.Errorf("vread of version %q: status %d, want 404", v, r.Status)
		}
	}
	if r := ts.do(http.MethodGet, "/fhir/Patient/nobody/_history/1", nil); r.Status != http.StatusNotFound {
		t.Errorf("vread of an unknown resource: status %d, want 404", r.Status)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/d1", patientJSON("d1", "Gone")), http.StatusCreated)

	r := ts.do(http.MethodDelete, "/fhir/Patient/d1", nil)
	wantStatus(t, r, http.StatusNoContent)
	if len(r.Body) != 0 {
		t.Errorf("204 with a body: %s", r.Body)
	}
	if r.Header.Get("ETag") != `W/"2"` {
		t.Errorf("delete: ETag %q, want the tombstone's W/\"2\"", r.Header.Get("ETag"))
	}
	r = ts.do(http.MethodGet, "/fhir/Patient/d1", nil)
	wantStatus(t, r, http.StatusGone)
	if is := issuesOf(r); len(is) == 0 || is[0]["code"] != "deleted" {
		t.Errorf("read of a deleted resource: issues %v", is)
	}
	// The tombstone is a version of its own; the earlier one stays readable.
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/d1/_history/2", nil), http.StatusGone)
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/d1/_history/1", nil), http.StatusOK)

	// Deleting again is idempotent and writes nothing.
	wantStatus(t, ts.do(http.MethodDelete, "/fhir/Patient/d1", nil), http.StatusNoContent)
	if n := ts.historyCount("/fhir/Patient/d1/_history"); n != 2 {
		t.Errorf("history after two deletes: %d versions, want 2", n)
	}
	wantStatus(t, ts.do(http.MethodDelete, "/fhir/Patient/nobody", nil), http.StatusNotFound)

	// An update brings the resource back as a new version.
	r = ts.do(http.MethodPut, "/fhir/Patient/d1", patientJSON("d1", "Back"))
	wantStatus(t, r, http.StatusCreated)
	checkVersion(t, r, "Patient", "d1", "3")
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/d1", nil), http.StatusOK)

	// Prefer: return=OperationOutcome turns the empty answer into an outcome.
	r = ts.do(http.MethodDelete, "/fhir/Patient/d1", nil, "Prefer", "return=OperationOutcome")
	wantStatus(t, r, http.StatusOK)
	if str(r.JSON, "resourceType") != "OperationOutcome" {
		t.Errorf("delete with return=OperationOutcome: %s", r.Body)
	}
}

// TestClientJSONPreserved checks that the stored JSON is the client's:
// every element other than id and meta keeps its bytes and order
// (whitespace aside), including number literals and string escapes, and
// the client's meta elements survive beside the server's.
// TestReadShaped: _summary and _elements shape a read, a vread and a
// history as they shape a search's matches (search.html#summary).
func TestReadShaped(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/example", testfixture.Patient), http.StatusCreated)
	check := func(what string, res map[string]any, keep, drop string) {
		t.Helper()
		if res[keep] == nil || res[drop] != nil || str(res, "meta", "tag", 0, "code") != "SUBSETTED" {
			t.Errorf("%s: %s kept %v, %s dropped %v, tag %q", what, keep, res[keep] != nil, drop, res[drop] == nil,
				str(res, "meta", "tag", 0, "code"))
		}
	}
	r := ts.do(http.MethodGet, "/fhir/Patient/example?_elements=gender", nil)
	wantStatus(t, r, http.StatusOK)
	check("read _elements=gender", r.JSON, "gender", "name")
	r = ts.do(http.MethodGet, "/fhir/Patient/example?_summary=true", nil)
	check("read _summary=true", r.JSON, "name", "text")
	r = ts.do(http.MethodGet, "/fhir/Patient/example?_summary=text", nil)
	check("read _summary=text", r.JSON, "text", "name")
	r = ts.do(http.MethodGet, "/fhir/Patient/example/_history/1?_elements=birthDate", nil)
	check("vread _elements=birthDate", r.JSON, "birthDate", "name")
	for _, path := range []string{"/fhir/Patient/example/_history", "/fhir/Patient/_history", "/fhir/_history"} {
		r = ts.do(http.MethodGet, path+"?_elements=gender", nil)
		check(path+" _elements=gender", get(r.JSON, "entry", 0, "resource").(map[string]any), "gender", "name")
	}
	// Without them, the resource whole; with a wrong value, 400.
	r = ts.do(http.MethodGet, "/fhir/Patient/example?_summary=false", nil)
	if r.JSON["name"] == nil || r.JSON["text"] == nil || str(r.JSON, "meta", "tag", 0, "code") != "" {
		t.Errorf("_summary=false: %.200s", r.Body)
	}
	for _, q := range []string{"_summary=count", "_summary=bogus", "_elements=9x"} {
		wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/example?"+q, nil), http.StatusBadRequest)
	}
}

func TestClientJSONPreserved(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	body := `{
	  "resourceType": "Observation",
	  "status": "final",
	  "id": "obs1",
	  "code": {"text": "b\u00e9ta \"x\""},
	  "meta": {"versionId": "77", "lastUpdated": "2001-01-01T00:00:00Z", "tag": [{"code": "t1"}]},
	  "valueQuantity": {"value": 1.50, "unit": "mg"},
	  "note": [{"text": "\u2603 snow"}]
	}`
	r := ts.do(http.MethodPut, "/fhir/Observation/obs1", body)
	wantStatus(t, r, http.StatusCreated)
	checkVersion(t, r, "Observation", "obs1", "1")
	if lu := str(r.JSON, "meta", "lastUpdated"); strings.HasPrefix(lu, "2001") {
		t.Errorf("the client's meta.lastUpdated was kept: %s", lu)
	}
	read := ts.do(http.MethodGet, "/fhir/Observation/obs1", nil)
	wantStatus(t, read, http.StatusOK)
	if !bytes.Equal(read.Body, r.Body) {
		t.Errorf("read differs from the update's answer:\n%s\n%s", read.Body, r.Body)
	}
	lu := str(read.JSON, "meta", "lastUpdated")
	want := `{"resourceType":"Observation","id":"obs1","meta":{"versionId":"1","lastUpdated":"` + lu + `","tag":[{"code":"t1"}]},` +
		`"status":"final","code":{"text":"b\u00e9ta \"x\""},"valueQuantity":{"value":1.50,"unit":"mg"},"note":[{"text":"\u2603 snow"}]}`
	if string(read.Body) != want {
		t.Errorf("stored JSON:\n got %s\nwant %s", read.Body, want)
	}

	// _pretty indents the same JSON without reordering it.
	pretty := ts.do(http.MethodGet, "/fhir/Observation/obs1?_pretty=true", nil)
	wantStatus(t, pretty, http.StatusOK)
	if !bytes.Contains(pretty.Body, []byte("\n  \"id\": \"obs1\"")) {
		t.Errorf("_pretty=true: not indented: %s", pretty.Body)
	}
	var compact bytes.Buffer
	if err := compactJSON(&compact, pretty.Body); err != nil || compact.String() != want {
		t.Errorf("_pretty=true changed the content: %s", pretty.Body)
	}
}

func TestPrefer(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	tests := []struct {
		prefer   string
		wantBody string // resourceType of the body, "" for none
	}{
		{"", "Patient"},
		{"return=representation", "Patient"},
		{"return=minimal", ""},
		{"return=OperationOutcome", "OperationOutcome"},
		{"handling=strict, return=minimal", ""},
	}
	for _, tc := range tests {
		t.Run("create/"+tc.prefer, func(t *testing.T) {
			r := ts.do(http.MethodPost, "/fhir/Patient", patientJSON("", "Prefer"), "Prefer", tc.prefer)
			wantStatus(t, r, http.StatusCreated)
			checkPreferBody(t, r, tc.wantBody)
			if r.Header.Get("Location") == "" || r.Header.Get("ETag") != `W/"1"` || r.Header.Get("Last-Modified") == "" {
				t.Errorf("headers missing: %v", r.Header)
			}
		})
		t.Run("update/"+tc.prefer, func(t *testing.T) {
			wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/pref", patientJSON("pref", "A")), http.StatusCreated)
			r := ts.do(http.MethodPut, "/fhir/Patient/pref", patientJSON("pref", "B"), "Prefer", tc.prefer)
			wantStatus(t, r, http.StatusOK)
			checkPreferBody(t, r, tc.wantBody)
			if r.Header.Get("ETag") == "" || r.Header.Get("Last-Modified") == "" {
				t.Errorf("headers missing: %v", r.Header)
			}
			wantStatus(t, ts.do(http.MethodDelete, "/fhir/Patient/pref", nil), http.StatusNoContent)
		})
	}
}

func checkPreferBody(t *testing.T, r *response, want string) {
	t.Helper()
	switch {
	case want == "" && len(r.Body) != 0:
		t.Errorf("return=minimal: body %s", r.Body)
	case want != "" && str(r.JSON, "resourceType") != want:
		t.Errorf("body %.200s, want a %s", r.Body, want)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	r := ts.do(http.MethodGet, "/fhir/metadata", nil, "X-Request-Id", "client-req.42")
	if got := r.Header.Get("X-Request-Id"); got != "client-req.42" {
		t.Errorf("a sane client id is not echoed: %q", got)
	}
	for _, bad := range []string{"has space", strings.Repeat("a", 65), "semi;colon", "<script>"} {
		r := ts.do(http.MethodGet, "/fhir/metadata", nil, "X-Request-Id", bad)
		if got := r.Header.Get("X-Request-Id"); got == bad || got == "" {
			t.Errorf("client id %q: answered %q, want a fresh id", bad, got)
		}
	}
	a := ts.do(http.MethodGet, "/fhir/Patient/unknown", nil).Header.Get("X-Request-Id")
	b := ts.do(http.MethodGet, "/fhir/Patient/unknown", nil).Header.Get("X-Request-Id")
	if a == b {
		t.Errorf("two requests share the id %q", a)
	}
	// The id is in the structured log line of the request.
	if logs := ts.logs.String(); !strings.Contains(logs, `"request_id":"`+a+`"`) {
		t.Errorf("request id %s not in the log:\n%s", a, logs)
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	r := ts.do(http.MethodGet, "/healthz", nil)
	if r.Status != http.StatusOK {
		t.Errorf("healthz: %d", r.Status)
	}
}
