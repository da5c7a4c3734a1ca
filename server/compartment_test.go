package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// compartmentFixture stores two patients, a practitioner, an organization
// and what refers to them:
//
//	o1: subject p1, performer dr, encounter e1, code X
//	o2: subject p2, performer p1 (in p1's compartment as its performer)
//	o3: subject p2
//	e1: subject p1, participant dr
//	c1: subject p1, asserter dr
//	p1: managingOrganization org, generalPractitioner dr
func compartmentFixture(t *testing.T, ts *testServer) {
	t.Helper()
	for _, r := range []struct{ path, body string }{
		{"/fhir/Organization/org", `{"resourceType":"Organization","id":"org","name":"Centre"}`},
		{"/fhir/Practitioner/dr", `{"resourceType":"Practitioner","id":"dr","name":[{"family":"Expert"}]}`},
		{"/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1","managingOrganization":{"reference":"Organization/org"},"generalPractitioner":[{"reference":"Practitioner/dr"}]}`},
		{"/fhir/Patient/p2", `{"resourceType":"Patient","id":"p2"}`},
		{"/fhir/Encounter/e1", `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},` +
			`"subject":{"reference":"Patient/p1"},"participant":[{"individual":{"reference":"Practitioner/dr"}}]}`},
		{"/fhir/Observation/o1", `{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"urn:t","code":"X"}]},` +
			`"subject":{"reference":"Patient/p1"},"performer":[{"reference":"Practitioner/dr"}],"encounter":{"reference":"Encounter/e1"}}`},
		{"/fhir/Observation/o2", `{"resourceType":"Observation","id":"o2","status":"final","code":{"coding":[{"system":"urn:t","code":"Y"}]},` +
			`"subject":{"reference":"Patient/p2"},"performer":[{"reference":"Patient/p1"}]}`},
		{"/fhir/Observation/o3", `{"resourceType":"Observation","id":"o3","status":"final","code":{"coding":[{"system":"urn:t","code":"X"}]},"subject":{"reference":"Patient/p2"}}`},
		{"/fhir/Condition/c1", `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"asserter":{"reference":"Practitioner/dr"},` +
			`"code":{"coding":[{"system":"https://www.orpha.net","code":"ORPHA:558"}]}}`},
	} {
		wantStatus(t, ts.do(http.MethodPut, r.path, r.body), http.StatusCreated)
	}
}

// searchAll follows a searchset's next links from path and returns the
// matches of every page, sorted, and the links it followed.
func searchAll(t *testing.T, ts *testServer, path string) (matches []string, links []string) {
	t.Helper()
	for path != "" {
		r := ts.do(http.MethodGet, path, nil)
		wantStatus(t, r, http.StatusOK)
		matches = append(matches, entryRefs(r, "match")...)
		path = ""
		if next := linkOf(r, "next"); next != "" {
			u, err := url.Parse(next)
			if err != nil {
				t.Fatal(err)
			}
			path = u.RequestURI()
			links = append(links, path)
		}
	}
	slices.Sort(matches)
	return matches, links
}

func TestCompartmentSearch(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	compartmentFixture(t, ts)
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/fhir/Patient/p1/Observation", []string{"Observation/o1", "Observation/o2"}},
		{"/fhir/Patient/p1/Observation?code=urn:t|X", []string{"Observation/o1"}},
		{"/fhir/Patient/p2/Observation", []string{"Observation/o2", "Observation/o3"}},
		{"/fhir/Patient/p1/*", []string{"Condition/c1", "Encounter/e1", "Observation/o1", "Observation/o2", "Patient/p1"}},
		{"/fhir/Patient/p1/*?_type=Observation,Condition", []string{"Condition/c1", "Observation/o1", "Observation/o2"}},
		{"/fhir/Patient/p1/Patient", []string{"Patient/p1"}},
		{"/fhir/Practitioner/dr/*", []string{"Condition/c1", "Encounter/e1", "Observation/o1", "Patient/p1", "Practitioner/dr"}},
		{"/fhir/Encounter/e1/Observation", []string{"Observation/o1"}},
		{"/fhir/Patient/nobody/Observation", nil},
	} {
		r := ts.do(http.MethodGet, tc.path, nil)
		wantStatus(t, r, http.StatusOK)
		if got := entryRefs(r, "match"); !slices.Equal(got, tc.want) {
			t.Errorf("GET %s: %v, want %v", tc.path, got, tc.want)
		}
	}

	// Paging: the links stay in the compartment.
	got, links := searchAll(t, ts, "/fhir/Patient/p1/*?_count=2")
	if want := []string{"Condition/c1", "Encounter/e1", "Observation/o1", "Observation/o2", "Patient/p1"}; !slices.Equal(got, want) {
		t.Errorf("Patient/p1/* by pages of 2: %v, want %v", got, want)
	}
	if len(links) != 2 || !strings.HasPrefix(links[0], "/fhir/Patient/p1/*?") || !strings.Contains(links[0], "_count=2") {
		t.Errorf("next links %v", links)
	}

	// POST to _search in a compartment.
	r := ts.do(http.MethodPost, "/fhir/Patient/p1/Observation/_search", "code=urn:t|X", "Content-Type", "application/x-www-form-urlencoded")
	wantStatus(t, r, http.StatusOK)
	if got := entryRefs(r, "match"); !slices.Equal(got, []string{"Observation/o1"}) {
		t.Errorf("POST _search in Patient/p1: %v", got)
	}

	// A batch's search entry in a compartment.
	r = ts.do(http.MethodPost, "/fhir", txBundle("batch", entry("GET", "Patient/p1/Observation?code=urn:t|X", nil, "")))
	wantStatus(t, r, http.StatusOK)
	found, _ := get(r.JSON, "entry", 0, "resource", "entry").([]any)
	if !strings.HasPrefix(str(r.JSON, "entry", 0, "response", "status"), "200") || len(found) != 1 ||
		str(found[0], "resource", "id") != "o1" {
		t.Errorf("batch GET Patient/p1/Observation: %.400s", r.Body)
	}

	// An update that takes a resource out of the compartment, and a
	// deletion.
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Observation/o2", `{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"Y"},"subject":{"reference":"Patient/p2"}}`), http.StatusOK)
	wantStatus(t, ts.do(http.MethodDelete, "/fhir/Condition/c1", nil), http.StatusNoContent)
	r = ts.do(http.MethodGet, "/fhir/Patient/p1/*", nil)
	if got, want := entryRefs(r, "match"), []string{"Encounter/e1", "Observation/o1", "Patient/p1"}; !slices.Equal(got, want) {
		t.Errorf("after the update and the deletion: %v, want %v", got, want)
	}

	// Errors: each an OperationOutcome.
	for _, tc := range []struct {
		method, path string
		status       int
		says         string
	}{
		{http.MethodGet, "/fhir/Patient/p1/Organization", http.StatusBadRequest, "not in the Patient compartment"},
		{http.MethodGet, "/fhir/Patient/p1/*?_type=Organization", http.StatusBadRequest, "Organization"},
		{http.MethodGet, "/fhir/Organization/org/Patient", http.StatusNotFound, "has no compartment"},
		{http.MethodGet, "/fhir/Patient/p1/Nonsense", http.StatusNotFound, ""},
		{http.MethodGet, "/fhir/Patient/p1/Observation?nonsense:exact=1", http.StatusOK, ""},
		{http.MethodDelete, "/fhir/Patient/p1/Observation", http.StatusMethodNotAllowed, ""},
	} {
		r := ts.do(tc.method, tc.path, nil)
		if r.Status != tc.status || !strings.Contains(string(r.Body), tc.says) {
			t.Errorf("%s %s: %d %.300s, want %d saying %q", tc.method, tc.path, r.Status, r.Body, tc.status, tc.says)
		}
		if r.Status >= 400 && str(r.JSON, "resourceType") != "OperationOutcome" {
			t.Errorf("%s %s: %d without an OperationOutcome", tc.method, tc.path, r.Status)
		}
	}
}

func TestEverything(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	compartmentFixture(t, ts)
	all := []string{"Condition/c1", "Encounter/e1", "Observation/o1", "Observation/o2", "Patient/p1"}

	r := ts.do(http.MethodGet, "/fhir/Patient/p1/$everything", nil)
	wantStatus(t, r, http.StatusOK)
	if str(r.JSON, "type") != "searchset" {
		t.Errorf("type %q", str(r.JSON, "type"))
	}
	if got := entryRefs(r, "match"); !slices.Equal(got, all) {
		t.Errorf("matches %v, want %v", got, all)
	}
	// What the records refer to comes along; another patient (o2's
	// subject) does not.
	if got, want := entryRefs(r, "include"), []string{"Organization/org", "Practitioner/dr"}; !slices.Equal(got, want) {
		t.Errorf("included %v, want %v", got, want)
	}

	r = ts.do(http.MethodGet, "/fhir/Patient/p1/$everything?_type=Observation", nil)
	if got, want := entryRefs(r, "match"), []string{"Observation/o1", "Observation/o2"}; !slices.Equal(got, want) {
		t.Errorf("_type=Observation: %v, want %v", got, want)
	}
	if got, want := entryRefs(r, "include"), []string{"Practitioner/dr"}; !slices.Equal(got, want) {
		t.Errorf("_type=Observation included %v, want %v", got, want)
	}

	// Pages, whose links repeat the operation's parameters.
	got, links := searchAll(t, ts, "/fhir/Patient/p1/$everything?_count=2")
	if !slices.Equal(got, all) {
		t.Errorf("by pages of 2: %v, want %v", got, all)
	}
	if len(links) != 2 || !strings.HasPrefix(links[0], "/fhir/Patient/p1/$everything?") {
		t.Errorf("next links %v", links)
	}

	// _since: only what was updated at or after it.
	time.Sleep(5 * time.Millisecond)
	since := time.Now().UTC()
	time.Sleep(5 * time.Millisecond)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Observation/o1", `{"resourceType":"Observation","id":"o1","status":"amended","code":{"text":"X"},"subject":{"reference":"Patient/p1"}}`), http.StatusOK)
	r = ts.do(http.MethodGet, "/fhir/Patient/p1/$everything?_since="+since.Format(time.RFC3339Nano), nil)
	wantStatus(t, r, http.StatusOK)
	if got := entryRefs(r, "match"); !slices.Equal(got, []string{"Observation/o1"}) {
		t.Errorf("_since: %v, want [Observation/o1]", got)
	}

	// POST, with a Parameters body.
	r = ts.do(http.MethodPost, "/fhir/Patient/p1/$everything", `{"resourceType":"Parameters","parameter":[{"name":"_type","valueCode":"Condition"}]}`)
	wantStatus(t, r, http.StatusOK)
	if got := entryRefs(r, "match"); !slices.Equal(got, []string{"Condition/c1"}) {
		t.Errorf("POST _type=Condition: %v", got)
	}

	// An Encounter's $everything holds what refers to it, and includes its
	// patient.
	r = ts.do(http.MethodGet, "/fhir/Encounter/e1/$everything", nil)
	wantStatus(t, r, http.StatusOK)
	if got := entryRefs(r, "match"); !slices.Equal(got, []string{"Encounter/e1"}) {
		t.Errorf("Encounter/e1/$everything: %v", got)
	}
	if got, want := entryRefs(r, "include"), []string{"Patient/p1", "Practitioner/dr"}; !slices.Equal(got, want) {
		t.Errorf("Encounter/e1/$everything included %v, want %v", got, want)
	}

	wantStatus(t, ts.do(http.MethodDelete, "/fhir/Patient/p2", nil), http.StatusNoContent)
	for _, tc := range []struct {
		method, path, body string
		status             int
		says               string
	}{
		{http.MethodGet, "/fhir/Patient/nobody/$everything", "", http.StatusNotFound, "nobody"},
		{http.MethodGet, "/fhir/Patient/p2/$everything", "", http.StatusGone, "deleted"},
		{http.MethodGet, "/fhir/Patient/p1/$everything?start=2020-01-01", "", http.StatusNotImplemented, "start"},
		{http.MethodGet, "/fhir/Patient/p1/$everything?code=X", "", http.StatusBadRequest, "code"},
		{http.MethodGet, "/fhir/Patient/p1/$everything?_since=yesterday", "", http.StatusBadRequest, "_since"},
		{http.MethodGet, "/fhir/Patient/p1/$everything?_type=Organization", "", http.StatusBadRequest, "Organization"},
		{http.MethodGet, "/fhir/Organization/org/$everything", "", http.StatusNotFound, "Patient and Encounter"},
		{http.MethodPost, "/fhir/Patient/p1/$everything", `{"resourceType":"Patient"}`, http.StatusBadRequest, "Parameters"},
		{http.MethodDelete, "/fhir/Patient/p1/$everything", "", http.StatusMethodNotAllowed, ""},
	} {
		var body any
		if tc.body != "" {
			body = tc.body
		}
		r := ts.do(tc.method, tc.path, body)
		if r.Status != tc.status || !strings.Contains(string(r.Body), tc.says) || str(r.JSON, "resourceType") != "OperationOutcome" {
			t.Errorf("%s %s: %d %.300s, want %d saying %q", tc.method, tc.path, r.Status, r.Body, tc.status, tc.says)
		}
	}
}
