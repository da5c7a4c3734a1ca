package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
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
	wantRefused(t, ts, []refusal{
		{http.MethodGet, "/fhir/Patient/nobody/$everything", "", http.StatusNotFound, "nobody"},
		{http.MethodGet, "/fhir/Patient/p2/$everything", "", http.StatusGone, "deleted"},
		{http.MethodGet, "/fhir/Patient/p1/$everything?start=2020-13-01", "", http.StatusBadRequest, "start"},
		{http.MethodGet, "/fhir/Patient/p1/$everything?end=last-year", "", http.StatusBadRequest, "end"},
		{http.MethodGet, "/fhir/Patient/p1/$everything?start=2020&start=2021", "", http.StatusBadRequest, "once"},
		{http.MethodGet, "/fhir/Patient/p1/$everything?start=2021-01-01&end=2020-12-31", "", http.StatusBadRequest, "before start"},
		{http.MethodGet, "/fhir/Patient/p1/$everything?code=X", "", http.StatusBadRequest, "code"},
		{http.MethodGet, "/fhir/Patient/p1/$everything?_since=yesterday", "", http.StatusBadRequest, "_since"},
		{http.MethodGet, "/fhir/Patient/p1/$everything?_type=Organization", "", http.StatusBadRequest, "Organization"},
		{http.MethodGet, "/fhir/Organization/org/$everything", "", http.StatusNotFound, "Patient and Encounter"},
		{http.MethodPost, "/fhir/Patient/p1/$everything", `{"resourceType":"Patient"}`, http.StatusBadRequest, "Parameters"},
		{http.MethodDelete, "/fhir/Patient/p1/$everything", "", http.StatusMethodNotAllowed, ""},
	})
}

// refusal is a request the server must refuse with status, in an
// OperationOutcome that says says.
type refusal struct {
	method, path, body string
	status             int
	says               string
}

// wantRefused sends each request and checks its refusal.
func wantRefused(t *testing.T, ts *testServer, cases []refusal) {
	t.Helper()
	for _, tc := range cases {
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

// TestEverythingCareDates: start and end keep the records of care in the
// window, by each type's care date (an Observation's effective time, an
// Encounter's period, a MedicationRequest's authoring), with those that
// have none (a Condition, an undated Observation, the patient), in every
// page, by GET and by POST.
func TestEverythingCareDates(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	obs := func(id, effective string) string {
		return `{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"text":"weight"},"subject":{"reference":"Patient/p1"}` + effective + `}`
	}
	med := func(id, authored string) string {
		return `{"resourceType":"MedicationRequest","id":"` + id + `","status":"active","intent":"order","medicationCodeableConcept":{"text":"miglustat"},` +
			`"subject":{"reference":"Patient/p1"},"authoredOn":"` + authored + `"}`
	}
	for _, r := range []struct{ path, body string }{
		{"/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`},
		{"/fhir/Observation/o2019", obs("o2019", `,"effectiveDateTime":"2019-06-01"`)},
		{"/fhir/Observation/o2020", obs("o2020", `,"effectiveDateTime":"2020-06-01T10:30:00+02:00"`)},
		{"/fhir/Observation/o2021", obs("o2021", `,"effectivePeriod":{"start":"2021-02-01","end":"2021-03-01"}`)},
		{"/fhir/Observation/undated", obs("undated", ``)},
		{"/fhir/Encounter/across", `{"resourceType":"Encounter","id":"across","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},` +
			`"subject":{"reference":"Patient/p1"},"period":{"start":"2019-12-20","end":"2020-01-05"}}`},
		{"/fhir/Condition/c1", `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"onsetDateTime":"2005-01-01",` +
			`"code":{"coding":[{"system":"https://www.orpha.net","code":"ORPHA:558"}]}}`},
		{"/fhir/MedicationRequest/m2018", med("m2018", "2018-03-03")},
		{"/fhir/MedicationRequest/m2020", med("m2020", "2020-12-31T23:00:00Z")},
	} {
		wantStatus(t, ts.do(http.MethodPut, r.path, r.body), http.StatusCreated)
	}
	always := []string{"Condition/c1", "Observation/undated", "Patient/p1"}
	with := func(refs ...string) []string {
		out := append(slices.Clone(always), refs...)
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"start=2020-01-01&end=2020-12-31", with("Encounter/across", "MedicationRequest/m2020", "Observation/o2020")},
		{"start=2020", with("Encounter/across", "MedicationRequest/m2020", "Observation/o2020", "Observation/o2021")},
		{"end=2019-12", with("Encounter/across", "MedicationRequest/m2018", "Observation/o2019")},
		{"start=2021-02-15&end=2021-02-15", with("Observation/o2021")},
		{"end=2017", with()},
		{"start=2020-01-01&end=2020-12-31&_type=Observation,MedicationRequest", []string{"MedicationRequest/m2020", "Observation/o2020", "Observation/undated"}},
	} {
		got, _ := searchAll(t, ts, "/fhir/Patient/p1/$everything?"+tc.query)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
		// In pages of two, each next link keeps the window.
		got, links := searchAll(t, ts, "/fhir/Patient/p1/$everything?_count=2&"+tc.query)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s, by pages of 2: %v, want %v", tc.query, got, tc.want)
		}
		for _, l := range links {
			q, _ := url.ParseQuery(l[strings.IndexByte(l, '?')+1:])
			for _, name := range []string{"start", "end"} {
				if want, _ := url.ParseQuery(tc.query); q.Get(name) != want.Get(name) {
					t.Errorf("%s: next link %s has %s=%q", tc.query, l, name, q.Get(name))
				}
			}
		}
	}
	r := ts.do(http.MethodPost, "/fhir/Patient/p1/$everything", `{"resourceType":"Parameters","parameter":[`+
		`{"name":"start","valueDate":"2020-01-01"},{"name":"end","valueDate":"2020-12-31"}]}`)
	wantStatus(t, r, http.StatusOK)
	if got, want := entryRefs(r, "match"), with("Encounter/across", "MedicationRequest/m2020", "Observation/o2020"); !slices.Equal(got, want) {
		t.Errorf("POST with Parameters: %v, want %v", got, want)
	}
	// An Encounter's $everything takes the window too.
	r = ts.do(http.MethodGet, "/fhir/Encounter/across/$everything?start=2021", nil)
	wantStatus(t, r, http.StatusOK)
	if got := entryRefs(r, "match"); len(got) != 0 {
		t.Errorf("Encounter/across/$everything?start=2021: %v, want nothing", got)
	}
	r = ts.do(http.MethodGet, "/fhir/Encounter/across/$everything?start=2020", nil)
	if got := entryRefs(r, "match"); !slices.Equal(got, []string{"Encounter/across"}) {
		t.Errorf("Encounter/across/$everything?start=2020: %v", got)
	}
}

// TestEverythingOfPatients: Patient/$everything, at type level, answers
// for the patients that _id names, by GET and POST, in pages; without
// them it is refused, as R4 asks when no patient context names one.
func TestEverythingOfPatients(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	compartmentFixture(t, ts)
	both := []string{"Condition/c1", "Encounter/e1", "Observation/o1", "Observation/o2", "Observation/o3", "Patient/p1", "Patient/p2"}

	r := ts.do(http.MethodGet, "/fhir/Patient/$everything?_id=p1,p2", nil)
	wantStatus(t, r, http.StatusOK)
	if got := entryRefs(r, "match"); !slices.Equal(got, both) {
		t.Errorf("matches %v, want %v", got, both)
	}
	if got, want := entryRefs(r, "include"), []string{"Organization/org", "Practitioner/dr"}; !slices.Equal(got, want) {
		t.Errorf("included %v, want %v", got, want)
	}
	got, links := searchAll(t, ts, "/fhir/Patient/$everything?_id=p2&_id=p1&_count=3")
	if !slices.Equal(got, both) {
		t.Errorf("by pages of 3: %v, want %v", got, both)
	}
	if len(links) != 2 || !strings.HasPrefix(links[0], "/fhir/Patient/$everything?") || !strings.Contains(links[0], "_id=") {
		t.Errorf("next links %v", links)
	}
	r = ts.do(http.MethodPost, "/fhir/Patient/$everything", `{"resourceType":"Parameters","parameter":[{"name":"_id","valueString":"p2"},{"name":"_type","valueCode":"Observation"}]}`)
	wantStatus(t, r, http.StatusOK)
	if got, want := entryRefs(r, "match"), []string{"Observation/o2", "Observation/o3"}; !slices.Equal(got, want) {
		t.Errorf("POST _id=p2, _type=Observation: %v, want %v", got, want)
	}
	// The other patient a record names (o2's performer p1) is not
	// brought in by the references of p2's records.
	if got := entryRefs(r, "include"); len(got) != 0 {
		t.Errorf("POST _id=p2, _type=Observation included %v", got)
	}

	many := make([]string, 101)
	for i := range many {
		many[i] = "p" + strconv.Itoa(i)
	}
	wantRefused(t, ts, []refusal{
		{http.MethodGet, "/fhir/Patient/$everything", "", http.StatusBadRequest, "_id"},
		{http.MethodGet, "/fhir/Patient/$everything?_id=p1,nobody", "", http.StatusNotFound, "nobody"},
		{http.MethodGet, "/fhir/Patient/$everything?_id=p1,no%20body", "", http.StatusBadRequest, "_id"},
		{http.MethodGet, "/fhir/Patient/$everything?_id=" + strings.Join(many, ","), "", http.StatusBadRequest, "at most 100"},
		{http.MethodGet, "/fhir/Patient/p1/$everything?_id=p2", "", http.StatusBadRequest, "_id"},
		{http.MethodGet, "/fhir/Encounter/$everything", "", http.StatusNotFound, ""},
		{http.MethodDelete, "/fhir/Patient/$everything?_id=p1", "", http.StatusMethodNotAllowed, ""},
	})
}

// TestEverythingInOneBundle: without _count, $everything answers the whole
// record in one Bundle ("unless the client requests otherwise, the server
// returns the entire result set in a single bundle"), past the page size
// of searches; with _count, in pages.
func TestEverythingInOneBundle(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`), http.StatusCreated)
	const n = 60
	for i := range n {
		wantStatus(t, ts.do(http.MethodPost, "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"weight"},`+
			`"subject":{"reference":"Patient/p1"},"valueQuantity":{"value":`+strconv.Itoa(40+i)+`}}`), http.StatusCreated)
	}
	r := ts.do(http.MethodGet, "/fhir/Patient/p1/$everything", nil)
	wantStatus(t, r, http.StatusOK)
	if got := len(entryRefs(r, "match")); got != n+1 || linkOf(r, "next") != "" {
		t.Errorf("without _count: %d matches, next %q; want %d in one Bundle", got, linkOf(r, "next"), n+1)
	}
	r = ts.do(http.MethodGet, "/fhir/Observation?subject=Patient/p1", nil)
	if got := len(entryRefs(r, "match")); got >= n || linkOf(r, "next") == "" {
		t.Errorf("a search without _count: %d matches, next %q; want its default page", got, linkOf(r, "next"))
	}
	got, links := searchAll(t, ts, "/fhir/Patient/p1/$everything?_count=25")
	if len(got) != n+1 || len(links) != 2 {
		t.Errorf("_count=25: %d matches over %d next links, want %d over 2", len(got), len(links), n+1)
	}
}
