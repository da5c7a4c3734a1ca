package server_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cpms-fhir/cpms/internal/synthea"
	"github.com/cpms-fhir/cpms/internal/testfixture"
	"github.com/cpms-fhir/cpms/internal/teststore"
)

// txBundle builds a Bundle of type typ from entries, each a map with
// fullUrl, resource and request (method, url, and conditions).
func txBundle(typ string, entries ...map[string]any) map[string]any {
	list := make([]any, len(entries))
	for i, e := range entries {
		list[i] = e
	}
	return map[string]any{"resourceType": "Bundle", "type": typ, "entry": list}
}

// entry is one Bundle entry: method, url, a resource (nil for none), a
// fullUrl ("" for none) and request fields as name, value pairs.
func entry(method, url string, resource any, fullURL string, request ...string) map[string]any {
	req := map[string]any{"method": method, "url": url}
	for i := 0; i+1 < len(request); i += 2 {
		req[request[i]] = request[i+1]
	}
	e := map[string]any{"request": req}
	if resource != nil {
		if s, ok := resource.(string); ok {
			resource = json.RawMessage(s)
		}
		e["resource"] = resource
	}
	if fullURL != "" {
		e["fullUrl"] = fullURL
	}
	return e
}

// responses returns the entries of a batch-response or transaction-response.
func responses(t *testing.T, r *response, typ string, n int) []any {
	t.Helper()
	if r.JSON["resourceType"] != "Bundle" || r.JSON["type"] != typ {
		t.Fatalf("answer is not a %s Bundle: %.400s", typ, r.Body)
	}
	list, _ := r.JSON["entry"].([]any)
	if len(list) != n {
		t.Fatalf("%d response entries, want %d: %.600s", len(list), n, r.Body)
	}
	return list
}

// refID returns the id of "Type/id/_history/v" or "Type/id".
func refID(loc string) string {
	parts := strings.Split(loc, "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

func TestTransactionLinksEntries(t *testing.T) {
	ts := newTestServer(t)
	patient := `{"resourceType":"Patient","identifier":[{"system":"urn:ietf:rfc:3986","value":"urn:uuid:11111111-1111-1111-1111-111111111111"}],"name":[{"family":"Kuhn"}]}`
	obs := `{"resourceType":"Observation","status":"final",
		"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Weight of <a href=\"urn:uuid:11111111-1111-1111-1111-111111111111\">the patient</a></div>"},
		"code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},
		"subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"},
		"encounter":{"reference":"urn:uuid:22222222-2222-2222-2222-222222222222"},
		"valueQuantity":{"value":72.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`
	enc := `{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
		"subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"}}`
	bin := `{"resourceType":"Binary","contentType":"text/plain","data":"aGVsbG8="}`
	doc := `{"resourceType":"DocumentReference","status":"current",
		"subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"},
		"content":[{"attachment":{"contentType":"text/plain","url":"urn:uuid:33333333-3333-3333-3333-333333333333"}}]}`
	r := ts.do(http.MethodPost, "/fhir/", txBundle("transaction",
		entry("POST", "Observation", obs, "urn:uuid:44444444-4444-4444-4444-444444444444"),
		entry("POST", "Patient", patient, "urn:uuid:11111111-1111-1111-1111-111111111111"),
		entry("POST", "Encounter", enc, "urn:uuid:22222222-2222-2222-2222-222222222222"),
		entry("POST", "Binary", bin, "urn:uuid:33333333-3333-3333-3333-333333333333"),
		entry("POST", "DocumentReference", doc, ""),
	))
	wantStatus(t, r, http.StatusOK)
	list := responses(t, r, "transaction-response", 5)
	ids := make([]string, len(list))
	for i, e := range list {
		if s := str(e, "response", "status"); s != "201 Created" {
			t.Errorf("entry %d: status %q, want 201 Created", i, s)
		}
		loc := str(e, "response", "location")
		if !strings.HasSuffix(loc, "/_history/1") || str(e, "response", "etag") != `W/"1"` || str(e, "response", "lastModified") == "" {
			t.Errorf("entry %d: response %v lacks location, etag or lastModified", i, get(e, "response"))
		}
		ids[i] = refID(loc)
		if str(e, "resource", "id") != ids[i] {
			t.Errorf("entry %d: the resource returned is not the one stored: %v", i, get(e, "resource", "id"))
		}
	}
	patientRef := "Patient/" + ids[1]
	o := ts.do(http.MethodGet, "/fhir/Observation/"+ids[0], nil)
	wantStatus(t, o, http.StatusOK)
	if got := str(o.JSON, "subject", "reference"); got != patientRef {
		t.Errorf("Observation.subject %q, want %q", got, patientRef)
	}
	if got := str(o.JSON, "encounter", "reference"); got != "Encounter/"+ids[2] {
		t.Errorf("Observation.encounter %q, want Encounter/%s", got, ids[2])
	}
	if div := str(o.JSON, "text", "div"); !strings.Contains(div, `href="`+patientRef+`"`) {
		t.Errorf("the narrative's link is not rewritten: %s", div)
	}
	d := ts.do(http.MethodGet, "/fhir/DocumentReference/"+ids[4], nil)
	if got := str(d.JSON, "content", 0, "attachment", "url"); got != "Binary/"+ids[3] {
		t.Errorf("Attachment.url %q, want Binary/%s", got, ids[3])
	}
	p := ts.do(http.MethodGet, "/fhir/Patient/"+ids[1], nil)
	if got := str(p.JSON, "identifier", 0, "value"); got != "urn:uuid:11111111-1111-1111-1111-111111111111" {
		t.Errorf("an identifier's value (a string) was rewritten: %q", got)
	}
	// The search index holds the rewritten references.
	s := ts.do(http.MethodGet, "/fhir/Observation?subject="+patientRef, nil)
	if n := len(get(s.JSON, "entry").([]any)); n != 1 {
		t.Errorf("Observation?subject=%s finds %d, want 1", patientRef, n)
	}
}

// TestTransactionRelativeLinks: a relative reference links to the entry
// whose fullUrl it equals once read against the base of its own entry's
// fullUrl (a RESTful URL), or against the server's base
// (bundle.html#references).
func TestTransactionRelativeLinks(t *testing.T) {
	ts := newTestServer(t)
	obs := func(fullURL, subject string) map[string]any {
		return entry("POST", "Observation", `{"resourceType":"Observation","status":"final","code":{"text":"weight"},
			"subject":{"reference":"`+subject+`"}}`, fullURL)
	}
	r := ts.do(http.MethodPost, "/fhir", txBundle("transaction",
		entry("POST", "Patient", patientJSON("pp1", "Here"), ts.URL+"/fhir/Patient/pp1"),
		obs("", "Patient/pp1"),
		entry("POST", "Patient", patientJSON("123", "Elsewhere"), "http://example.org/fhir/Patient/123"),
		obs("http://example.org/fhir/Observation/456", "Patient/123"),
		obs("", "Patient/123"),
		obs("urn:uuid:55555555-5555-5555-5555-555555555555", "Patient/pp1"),
	))
	wantStatus(t, r, http.StatusOK)
	list := responses(t, r, "transaction-response", 6)
	here, elsewhere := refID(str(list[0], "response", "location")), refID(str(list[2], "response", "location"))
	for _, c := range []struct {
		entry int
		want  string
	}{
		{1, "Patient/" + here},      // against the server's base: entry 0
		{3, "Patient/" + elsewhere}, // against its fullUrl's base: entry 2
		{4, "Patient/123"},          // against the server's base: no entry
		{5, "Patient/" + here},      // a urn:uuid fullUrl: the server's base
	} {
		if got := str(list[c.entry], "resource", "subject", "reference"); got != c.want {
			t.Errorf("entry %d: subject %q, want %q", c.entry, got, c.want)
		}
	}
}

func TestTransactionAllOrNothing(t *testing.T) {
	ts := newTestServer(t)
	bad := `{"resourceType":"Patient","birthDate":"not a date"}`
	r := ts.do(http.MethodPost, "/fhir", txBundle("transaction",
		entry("POST", "Patient", patientJSON("", "Good"), "urn:uuid:a"),
		entry("PUT", "Patient/kept", patientJSON("kept", "Kept"), ""),
		entry("POST", "Patient", bad, "urn:uuid:b"),
	))
	if r.Status != http.StatusBadRequest && r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 400 or 422: %s", r.Status, r.Body)
	}
	exprs := strings.Join(expressions(t, r), " ")
	if !strings.Contains(exprs, "Bundle.entry[2].resource") {
		t.Errorf("the error does not name entry 2's resource: %s", r.Body)
	}
	if n := ts.historyCount("/fhir/_history"); n != 0 {
		t.Errorf("%d versions stored by a failed transaction, want 0", n)
	}
	// A failure found only inside the write (a version check) too.
	ts.do(http.MethodPut, "/fhir/Patient/v", patientJSON("v", "One"))
	r = ts.do(http.MethodPost, "/fhir", txBundle("transaction",
		entry("POST", "Patient", patientJSON("", "Other"), ""),
		entry("PUT", "Patient/v", patientJSON("v", "Two"), "", "ifMatch", `W/"7"`),
	))
	wantStatus(t, r, http.StatusPreconditionFailed)
	if exprs := strings.Join(expressions(t, r), " "); !strings.Contains(exprs, "Bundle.entry[1]") {
		t.Errorf("the 412 does not name entry 1: %s", r.Body)
	}
	if n := ts.historyCount("/fhir/_history"); n != 1 {
		t.Errorf("%d versions after a failed transaction, want the 1 written before", n)
	}
}

func TestTransactionConditionals(t *testing.T) {
	ts := newTestServer(t)
	pid := ts.createPatient("Kuhn", "urn:mrn|1")
	ts.createPatient("Twin", "urn:mrn|2")
	ts.createPatient("Twin", "urn:mrn|2")
	obs := func(subject string) string {
		return `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"` + subject + `"}}`
	}
	// A conditional reference resolves to its one match.
	r := ts.do(http.MethodPost, "/fhir", txBundle("transaction", entry("POST", "Observation", obs("Patient?identifier=urn:mrn|1"), "")))
	wantStatus(t, r, http.StatusOK)
	o := responses(t, r, "transaction-response", 1)[0]
	if got := str(o, "resource", "subject", "reference"); got != "Patient/"+pid {
		t.Errorf("conditional reference resolved to %q, want Patient/%s", got, pid)
	}
	// None or several: the transaction fails and names the entry.
	for _, c := range []string{"Patient?identifier=urn:mrn|9", "Patient?identifier=urn:mrn|2"} {
		r := ts.do(http.MethodPost, "/fhir", txBundle("transaction",
			entry("POST", "Patient", patientJSON("", "X"), ""),
			entry("POST", "Observation", obs(c), "")))
		wantStatus(t, r, http.StatusPreconditionFailed)
		if exprs := strings.Join(expressions(t, r), " "); !strings.Contains(exprs, "Bundle.entry[1]") {
			t.Errorf("%s: the error does not name entry 1: %s", c, r.Body)
		}
	}
	// ifNoneExist: the second run finds what the first created, and the
	// references of the Bundle point to it.
	var first []string
	for run := range 2 {
		r := ts.do(http.MethodPost, "/fhir", txBundle("transaction",
			entry("POST", "Patient", patientJSON("", "New", "urn:mrn|3"), "urn:uuid:p", "ifNoneExist", "identifier=urn:mrn|3"),
			entry("PUT", "Observation/o3", `{"resourceType":"Observation","id":"o3","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:p"}}`, "")))
		wantStatus(t, r, http.StatusOK)
		list := responses(t, r, "transaction-response", 2)
		want := map[int]string{0: "201 Created", 1: "200 OK"}[run]
		if s := str(list[0], "response", "status"); s != want {
			t.Errorf("run %d: ifNoneExist status %q, want %q", run, s, want)
		}
		sub := str(list[1], "resource", "subject", "reference")
		if run == 0 {
			first = []string{sub}
		} else if sub != first[0] {
			t.Errorf("run 2 links to %s, run 1 to %s", sub, first[0])
		}
	}
	if r := ts.do(http.MethodGet, "/fhir/Patient?identifier=urn:mrn|3", nil); len(get(r.JSON, "entry").([]any)) != 1 {
		t.Errorf("ifNoneExist created a duplicate: %s", r.Body)
	}
	// Conditional update and delete by search URL.
	r = ts.do(http.MethodPost, "/fhir", txBundle("transaction",
		entry("PUT", "Patient?identifier=urn:mrn|1", patientJSON("", "Kuhn-Updated", "urn:mrn|1"), ""),
		entry("DELETE", "Patient?identifier=urn:mrn|3", nil, "")))
	wantStatus(t, r, http.StatusOK)
	list := responses(t, r, "transaction-response", 2)
	if s := str(list[0], "response", "status"); s != "200 OK" || refID(str(list[0], "response", "location")) != pid {
		t.Errorf("conditional update: %v", get(list[0], "response"))
	}
	if s := str(list[1], "response", "status"); s != "204 No Content" {
		t.Errorf("conditional delete: %v", get(list[1], "response"))
	}
	if r := ts.do(http.MethodGet, "/fhir/Patient?identifier=urn:mrn|3", nil); get(r.JSON, "entry") != nil {
		t.Errorf("the conditional delete left a match: %s", r.Body)
	}
}

// TestTransactionConditionalCreates: a conditional create does not find
// what the transaction deletes (deletes come first), and two conditional
// creates of one type on the same criteria are one resource.
func TestTransactionConditionalCreates(t *testing.T) {
	ts := newTestServer(t)
	ts.do(http.MethodPut, "/fhir/Patient/delord", patientJSON("delord", "Old", "urn:mrn|delord"))
	r := ts.do(http.MethodPost, "/fhir", txBundle("transaction",
		entry("POST", "Patient", patientJSON("", "New", "urn:mrn|delord"), "", "ifNoneExist", "identifier=urn:mrn|delord"),
		entry("DELETE", "Patient?identifier=urn:mrn|delord", nil, "")))
	wantStatus(t, r, http.StatusOK)
	list := responses(t, r, "transaction-response", 2)
	created := refID(str(list[0], "response", "location"))
	if s := str(list[0], "response", "status"); s != "201 Created" || created == "delord" {
		t.Errorf("the conditional create: %v", get(list[0], "response"))
	}
	if s := str(list[1], "response", "status"); s != "204 No Content" {
		t.Errorf("the delete: %v", get(list[1], "response"))
	}
	found := ts.do(http.MethodGet, "/fhir/Patient?identifier=urn:mrn|delord", nil)
	if e, _ := get(found.JSON, "entry").([]any); len(e) != 1 || str(e[0], "resource", "id") != created {
		t.Errorf("after the transaction, the identifier finds %s", found.Body)
	}

	// The same criteria twice (in any order of parameters): one Patient,
	// which the links to either entry point to.
	obs := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:second"}}`
	r = ts.do(http.MethodPost, "/fhir", txBundle("transaction",
		entry("POST", "Patient", patientJSON("", "Twin", "urn:mrn|twin"), "urn:uuid:first", "ifNoneExist", "identifier=urn:mrn|twin&family=Twin"),
		entry("POST", "Patient", patientJSON("", "Twin", "urn:mrn|twin"), "urn:uuid:second", "ifNoneExist", "family=Twin&identifier=urn:mrn|twin"),
		entry("POST", "Observation", obs, "")))
	wantStatus(t, r, http.StatusOK)
	list = responses(t, r, "transaction-response", 3)
	id := refID(str(list[0], "response", "location"))
	if s := str(list[0], "response", "status"); s != "201 Created" {
		t.Errorf("the first conditional create: %v", get(list[0], "response"))
	}
	if s, loc := str(list[1], "response", "status"), refID(str(list[1], "response", "location")); s != "200 OK" || loc != id {
		t.Errorf("the second conditional create: %v, want 200 OK at Patient/%s", get(list[1], "response"), id)
	}
	if got := str(list[2], "resource", "subject", "reference"); got != "Patient/"+id {
		t.Errorf("the link to the second entry: %q, want Patient/%s", got, id)
	}
	if r := ts.do(http.MethodGet, "/fhir/Patient?identifier=urn:mrn|twin", nil); len(get(r.JSON, "entry").([]any)) != 1 {
		t.Errorf("two conditional creates made two Patients: %s", r.Body)
	}
}

func TestTransactionOrderAndReads(t *testing.T) {
	ts := newTestServer(t)
	ts.do(http.MethodPut, "/fhir/Patient/old", patientJSON("old", "Old", "urn:mrn|old"))
	patch := `[{"op":"replace","path":"/name/0/family","value":"Patched"}]`
	ts.do(http.MethodPut, "/fhir/Patient/p", patientJSON("p", "Before"))
	binary := map[string]any{"resourceType": "Binary", "contentType": "application/json-patch+json",
		"data": base64.StdEncoding.EncodeToString([]byte(patch))}
	// Reads come last, whatever their place: they see the writes.
	r := ts.do(http.MethodPost, "/fhir", txBundle("transaction",
		entry("GET", "Patient?identifier=urn:mrn|new", nil, ""),
		entry("POST", "Patient", patientJSON("", "New", "urn:mrn|new"), ""),
		entry("DELETE", "Patient/old", nil, ""),
		entry("PATCH", "Patient/p", binary, ""),
		entry("GET", "Patient/p", nil, ""),
		entry("HEAD", "Patient/p", nil, ""),
	))
	wantStatus(t, r, http.StatusOK)
	list := responses(t, r, "transaction-response", 6)
	if n := len(get(list[0], "resource", "entry").([]any)); n != 1 {
		t.Errorf("the search entry found %d, want the created Patient", n)
	}
	if s := str(list[2], "response", "status"); s != "204 No Content" {
		t.Errorf("delete: %v", get(list[2], "response"))
	}
	if got := str(list[3], "resource", "name", 0, "family"); got != "Patched" {
		t.Errorf("patch gave family %q", got)
	}
	if s, got := str(list[4], "response", "status"), str(list[4], "resource", "name", 0, "family"); s != "200 OK" || got != "Patched" {
		t.Errorf("the read of the patched Patient: status %q, family %q", s, got)
	}
	// A HEAD answers as a GET would, without the resource.
	if s, tag := str(list[5], "response", "status"), str(list[5], "response", "etag"); s != "200 OK" || tag != `W/"2"` {
		t.Errorf("HEAD: status %q, etag %q", s, tag)
	}
	if get(list[5], "resource") != nil || get(list[5], "fullUrl") != nil {
		t.Errorf("HEAD answered with a resource: %v", list[5])
	}
	// Two writes to one resource are refused.
	r = ts.do(http.MethodPost, "/fhir", txBundle("transaction",
		entry("PUT", "Patient/p", patientJSON("p", "A"), ""),
		entry("DELETE", "Patient/p", nil, "")))
	wantStatus(t, r, http.StatusBadRequest)
}

// TestTransactionReadFails: a read entry that fails (an unknown
// resource or type, a resource the transaction deletes, a refused search)
// fails the transaction as a failing write does: nothing is stored, and
// the error names the entry.
func TestTransactionReadFails(t *testing.T) {
	ts := newTestServer(t)
	ts.do(http.MethodPut, "/fhir/Patient/old", patientJSON("old", "Old"))
	for _, c := range []struct {
		name   string
		read   map[string]any
		status int
	}{
		{"unknown id", entry("GET", "Patient/unknown", nil, ""), http.StatusNotFound},
		{"unknown type", entry("GET", "NotAType/1", nil, ""), http.StatusNotFound},
		{"deleted by the transaction", entry("GET", "Patient/old", nil, ""), http.StatusGone},
		{"HEAD of an unknown id", entry("HEAD", "Patient/unknown", nil, ""), http.StatusNotFound},
		{"refused search", entry("GET", "Patient?birthdate=notadate", nil, ""), http.StatusBadRequest},
		{"not on this server", entry("GET", "http://elsewhere.example/fhir/Patient/old", nil, ""), http.StatusBadRequest},
	} {
		r := ts.do(http.MethodPost, "/fhir", txBundle("transaction",
			entry("POST", "Patient", patientJSON("", "New", "urn:mrn|read-fails"), ""),
			entry("DELETE", "Patient/old", nil, ""),
			c.read,
		))
		if r.Status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
			continue
		}
		if exprs := expressions(t, r); !slices.Contains(exprs, "Bundle.entry[2].request.url") {
			t.Errorf("%s: the error does not name entry 2: %s", c.name, r.Body)
		}
	}
	if n := ts.historyCount("/fhir/_history"); n != 1 {
		t.Errorf("%d versions after failed transactions, want the 1 written before", n)
	}
	// A transaction of reads only fails the same way.
	r := ts.do(http.MethodPost, "/fhir", txBundle("transaction",
		entry("GET", "Patient/old", nil, ""), entry("GET", "Patient/unknown", nil, "")))
	wantStatus(t, r, http.StatusNotFound)
}

func TestTransactionPrefer(t *testing.T) {
	ts := newTestServer(t)
	b := txBundle("transaction", entry("POST", "Patient", patientJSON("", "P"), ""))
	r := ts.do(http.MethodPost, "/fhir", b, "Prefer", "return=minimal")
	e := responses(t, r, "transaction-response", 1)[0]
	if get(e, "resource") != nil || str(e, "response", "location") == "" {
		t.Errorf("return=minimal: %v", e)
	}
	r = ts.do(http.MethodPost, "/fhir", b, "Prefer", "return=OperationOutcome")
	e = responses(t, r, "transaction-response", 1)[0]
	if get(e, "resource") != nil || str(e, "response", "outcome", "resourceType") != "OperationOutcome" {
		t.Errorf("return=OperationOutcome: %v", e)
	}
}

func TestBatchEntriesAreIndependent(t *testing.T) {
	ts := newTestServer(t)
	r := ts.do(http.MethodPost, "/fhir", txBundle("batch",
		entry("POST", "Patient", patientJSON("", "Good"), ""),
		entry("POST", "Patient", `{"resourceType":"Patient","birthDate":"nope"}`, ""),
		entry("GET", "Patient/unknown", nil, ""),
		entry("PUT", "Patient/b", patientJSON("b", "B"), ""),
		entry("FROB", "Patient", nil, ""),
		entry("get", "Patient/b", nil, ""),
		entry("GET", "Patient/b", nil, "", "ifModifiedSince", "not-a-date"),
		// Entries of a batch are not linked: a placeholder would be
		// stored as it is, pointing nowhere.
		entry("POST", "Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},
			"identifier":[{"system":"urn:oid:1.2.3","value":"v"}],"subject":{"reference":"urn:uuid:00000000-0000-0000-0000-000000000001"}}`, ""),
		entry("POST", "Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},
			"identifier":[{"system":"urn:oid:1.2.3","value":"v"}],"subject":{"reference":"Patient/b"}}`, ""),
	))
	wantStatus(t, r, http.StatusOK)
	list := responses(t, r, "batch-response", 9)
	want := []string{"201", "400", "404", "201", "400", "400", "400", "400", "201"}
	for i, e := range list {
		s := str(e, "response", "status")
		if !strings.HasPrefix(s, want[i]) {
			t.Errorf("entry %d: status %q, want %s", i, s, want[i])
		}
		if s[0] != '2' && str(e, "response", "outcome", "resourceType") != "OperationOutcome" {
			t.Errorf("entry %d: a failure without an outcome: %v", i, e)
		}
	}
	if n := ts.historyCount("/fhir/Patient/_history"); n != 2 {
		t.Errorf("%d Patients stored, want the 2 good ones", n)
	}
	// lastModified is the version's time, to the millisecond, as in a
	// transaction's response (Last-Modified over HTTP has whole seconds).
	for _, i := range []int{0, 3} {
		lm, lu := str(list[i], "response", "lastModified"), str(list[i], "resource", "meta", "lastUpdated")
		if lm == "" || lm != lu {
			t.Errorf("entry %d: lastModified %q, meta.lastUpdated %q", i, lm, lu)
		}
	}
}

// TestBatchOrderAndTargets checks the order a batch runs in (the steps of
// a transaction, its entries answered in the Bundle's order) and that the
// entries of one step that share a target run one after the other.
func TestBatchOrderAndTargets(t *testing.T) {
	ts := newTestServer(t)
	ts.do(http.MethodPut, "/fhir/Patient/old", patientJSON("old", "Old"))
	const many = 40
	var entries []map[string]any
	// The read comes first in the Bundle, the delete it reads after it.
	entries = append(entries,
		entry("GET", "Patient/old", nil, ""),
		entry("DELETE", "Patient/old", nil, ""),
		entry("PUT", "Patient/twice", patientJSON("twice", "First"), ""),
		entry("POST", "Patient", patientJSON("", "Cond", "urn:mrn|c1"), "", "ifNoneExist", "identifier=urn:mrn|c1"),
		entry("PUT", ts.URL+"/fhir/Patient/twice", patientJSON("twice", "Second"), ""),
		entry("POST", "Patient", patientJSON("", "Cond", "urn:mrn|c1"), "", "ifNoneExist", "identifier=urn:mrn|c1"),
	)
	for i := range many {
		id := fmt.Sprintf("m%d", i)
		entries = append(entries, entry("PUT", "Patient/"+id, patientJSON(id, "Many"), ""))
	}
	r := ts.do(http.MethodPost, "/fhir", txBundle("batch", entries...))
	wantStatus(t, r, http.StatusOK)
	list := responses(t, r, "batch-response", len(entries))
	if s := str(list[0], "response", "status"); s != "410 Gone" {
		t.Errorf("the read of a Patient the batch deletes answered %q, want 410 (deletes run before reads)", s)
	}
	if s := str(list[1], "response", "status"); s != "204 No Content" {
		t.Errorf("delete: %q", s)
	}
	// The two updates of one Patient run in the Bundle's order.
	if s, s2 := str(list[2], "response", "status"), str(list[4], "response", "status"); s != "201 Created" || s2 != "200 OK" {
		t.Errorf("two updates of one Patient answered %q then %q, want 201 then 200", s, s2)
	}
	r = ts.do(http.MethodGet, "/fhir/Patient/twice", nil)
	if got, v := str(r.JSON, "name", 0, "family"), str(r.JSON, "meta", "versionId"); got != "Second" || v != "2" {
		t.Errorf("after two updates in one batch: family %q, version %s; want the second, version 2", got, v)
	}
	// Two creates on the same criteria create one Patient.
	if s, s2 := str(list[3], "response", "status"), str(list[5], "response", "status"); s != "201 Created" || s2 != "200 OK" {
		t.Errorf("two conditional creates answered %q and %q, want 201 then 200", s, s2)
	}
	r = ts.do(http.MethodGet, "/fhir/Patient?identifier=urn:mrn|c1", nil)
	if n := len(get(r.JSON, "entry").([]any)); n != 1 {
		t.Errorf("two conditional creates on one identifier stored %d Patients", n)
	}
	// Each answer is the answer to its entry.
	for i := range many {
		e := list[6+i]
		if s, loc := str(e, "response", "status"), str(e, "response", "location"); s != "201 Created" || !strings.HasPrefix(loc, fmt.Sprintf("Patient/m%d/", i)) {
			t.Errorf("entry %d: status %q, location %q", 6+i, s, loc)
		}
	}
}

func TestBundleRequestErrors(t *testing.T) {
	ts := newTestServer(t)
	cases := []struct {
		name string
		body any
		expr string
	}{
		{"not a bundle", patientJSON("", "X"), "resourceType"},
		{"other type", map[string]any{"resourceType": "Bundle", "type": "collection"}, "Bundle.type"},
		{"no request", map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{map[string]any{}}}, "Bundle.entry[0].request"},
		{"no url", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET"}}]}`, "Bundle.entry[0].request.url"},
		{"no method", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"url":"Patient"}}]}`, "Bundle.entry[0].request.method"},
		{"lower-case method", txBundle("transaction", entry("put", "Patient/a", patientJSON("a", "X"), "")), "Bundle.entry[0].request.method"},
		{"placeholder of no entry", txBundle("transaction", entry("POST", "Observation",
			`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:00000000-0000-0000-0000-00000000dead"}}`, "")),
			"Bundle.entry[0]"},
		{"ifNoneMatch on a delete", txBundle("transaction", entry("DELETE", "Patient/a", nil, "", "ifNoneMatch", "*")), "Bundle.entry[0].request.ifNoneMatch"},
		{"bad url", txBundle("transaction", entry("PUT", "Patient/a/b/c", patientJSON("a", "X"), "")), "Bundle.entry[0].request.url"},
		{"other server", txBundle("transaction", entry("POST", "http://elsewhere.org/fhir/Patient", patientJSON("", "X"), "")), "Bundle.entry[0].request.url"},
		{"bad ifMatch", txBundle("transaction", entry("PUT", "Patient/a", patientJSON("a", "X"), "", "ifMatch", "seven")), "Bundle.entry[0].request.ifMatch"},
		{"no resource", txBundle("transaction", entry("PUT", "Patient/a", nil, "")), "Bundle.entry[0].resource"},
		{"same fullUrl twice", txBundle("transaction", entry("POST", "Patient", patientJSON("", "X"), "urn:uuid:same"),
			entry("POST", "Patient", patientJSON("", "Y"), "urn:uuid:same")), "Bundle.entry[1].fullUrl"},
		{"create with an id", txBundle("transaction", entry("POST", "Patient/a", patientJSON("a", "X"), "")), "Bundle.entry[0].request"},
		{"entry not an array", `{"resourceType":"Bundle","type":"transaction","entry":{}}`, "Bundle.entry"},
		{"method not a string", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":1,"url":"Patient"}}]}`,
			"Bundle.entry[0].request.method"},
		{"type in another case", `{"resourceType":"Bundle","Type":"transaction","entry":[]}`, "Bundle.type"},
		{"type twice", `{"resourceType":"Bundle","type":"batch","type":"transaction","entry":[]}`, "Bundle.type"},
		{"fullUrl not UTF-8", "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":[{\"fullUrl\":\"\xff\",\"request\":{\"method\":\"GET\",\"url\":\"Patient\"}}]}",
			"Bundle.entry[0].fullUrl"},
	}
	for _, c := range cases {
		r := ts.do(http.MethodPost, "/fhir", c.body)
		wantStatus(t, r, http.StatusBadRequest)
		exprs := strings.Split(strings.Join(expressions(t, r), "|"), "|")
		if !slices.Contains(exprs, c.expr) {
			t.Errorf("%s: expressions %v, want %s", c.name, exprs, c.expr)
		}
		if strings.Contains(string(r.Body), "server.") || strings.Contains(string(r.Body), "Go ") {
			t.Errorf("%s: the answer names the server's code: %s", c.name, r.Body)
		}
	}
	if r := ts.do(http.MethodPost, "/fhir", "{not json"); r.Status != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d", r.Status)
	}
}

// TestTransactionsSerialise: concurrent transactions on the same resources
// lose no update and create no duplicate.
func TestTransactionsSerialise(t *testing.T) {
	ts := newTestServer(t)
	const n = 8
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() {
			r, err := ts.send(http.MethodPost, "/fhir", txBundle("transaction",
				entry("POST", "Patient", patientJSON("", fmt.Sprint("Racer", i), "urn:mrn|race"), "", "ifNoneExist", "identifier=urn:mrn|race")))
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = r.Status
		})
	}
	wg.Wait()
	r := ts.do(http.MethodGet, "/fhir/Patient?identifier=urn:mrn|race", nil)
	if got := len(get(r.JSON, "entry").([]any)); got != 1 {
		t.Errorf("%d Patients from %d racing conditional creates, want 1", got, n)
	}
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("transaction %d: status %d", i, s)
		}
	}
	// Updates with the same expected version: exactly one wins.
	ts.do(http.MethodPut, "/fhir/Patient/c", patientJSON("c", "V1"))
	won := make([]bool, n)
	for i := range n {
		wg.Go(func() {
			r, err := ts.send(http.MethodPost, "/fhir", txBundle("transaction",
				entry("PUT", "Patient/c", patientJSON("c", fmt.Sprint("V2-", i)), "", "ifMatch", `W/"1"`)))
			if err != nil {
				t.Error(err)
				return
			}
			if r.Status != http.StatusOK && r.Status != http.StatusPreconditionFailed {
				t.Errorf("racing update %d: status %d", i, r.Status)
			}
			won[i] = r.Status == http.StatusOK
		})
	}
	wg.Wait()
	wins := 0
	for _, w := range won {
		if w {
			wins++
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d updates with If-Match 1 won, want 1", wins, n)
	}
	if v := ts.historyCount("/fhir/Patient/c/_history"); v != 2 {
		t.Errorf("Patient/c has %d versions, want 2", v)
	}
}

// TestTransactionSynthea posts real Synthea bundles (transactions of
// POSTs linked by urn:uuid fullUrls) as they come, and checks that every
// entry is created and that the references point at the new ids.
func TestTransactionSynthea(t *testing.T) {
	archive := testfixture.SharedData(t, "fhir", "synthea-r4.tar.gz")
	ts := newTestServer(t)
	n, bundles := 0, 3
	if teststore.OnFerretDB() {
		// FerretDB reads a whole collection for every query.
		bundles = 1
	}
	err := synthea.ReadArchive(archive, func(name string, bundle []byte) error {
		if n++; n > bundles {
			return nil
		}
		var in struct {
			Entry []struct {
				Resource struct {
					ResourceType string `json:"resourceType"`
				} `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(bundle, &in); err != nil {
			return err
		}
		r := ts.do(http.MethodPost, "/fhir", bundle, "Prefer", "return=minimal")
		wantStatus(t, r, http.StatusOK)
		list := responses(t, r, "transaction-response", len(in.Entry))
		var patient string
		observations := 0
		for i, e := range list {
			if s := str(e, "response", "status"); s != "201 Created" {
				t.Fatalf("%s entry %d: %s %v", name, i, s, get(e, "response", "outcome"))
			}
			switch in.Entry[i].Resource.ResourceType {
			case "Patient":
				patient = refID(str(e, "response", "location"))
			case "Observation":
				observations++
			}
		}
		s := ts.do(http.MethodGet, "/fhir/Observation?_summary=count&subject=Patient/"+patient, nil)
		if got := fmt.Sprint(get(s.JSON, "total")); got != fmt.Sprint(observations) {
			t.Errorf("%s: %s Observations refer to the new Patient/%s, want the bundle's %d", name, got, patient, observations)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
