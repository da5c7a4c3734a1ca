package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// searchFixture stores a small clinical picture: two patients at one
// organization, observations and a condition.
func searchFixture(t *testing.T, ts *testServer) {
	t.Helper()
	for _, r := range []struct{ path, body string }{
		{"/fhir/Organization/org1", `{"resourceType":"Organization","id":"org1","name":"Hôpital Saint-Louis"}`},
		{"/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1","active":true,"name":[{"family":"Chalmers","given":["Peter"]}],"gender":"male","birthDate":"1974-12-25","managingOrganization":{"reference":"Organization/org1"},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Peter</div>"}}`},
		{"/fhir/Patient/p2", `{"resourceType":"Patient","id":"p2","name":[{"family":"Dupré","given":["Bénédicte"]}],"gender":"female","birthDate":"1980-03","managingOrganization":{"reference":"Organization/org1"}}`},
		{"/fhir/Observation/o1", `{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8302-2"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2020-05-01T10:00:00Z","valueQuantity":{"value":182,"unit":"cm","system":"http://unitsofmeasure.org","code":"cm"}}`},
		{"/fhir/Observation/o2", `{"resourceType":"Observation","id":"o2","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8302-2"}]},"subject":{"reference":"Patient/p2"},"effectiveDateTime":"2021-06-01","valueQuantity":{"value":1.65,"unit":"m","system":"http://unitsofmeasure.org","code":"m"}}`},
		{"/fhir/Observation/o3", `{"resourceType":"Observation","id":"o3","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2019-01-01"}`},
		{"/fhir/Condition/c1", `{"resourceType":"Condition","id":"c1","code":{"coding":[{"system":"https://www.orpha.net","code":"ORPHA:558","display":"Marfan syndrome"}]},"subject":{"reference":"Patient/p2"}}`},
	} {
		wantStatus(t, ts.do(http.MethodPut, r.path, r.body), http.StatusCreated)
	}
}

func TestSearchResults(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	searchFixture(t, ts)
	for _, tc := range []struct {
		query string
		want  []string // match ids, in order when the query sorts
		order bool
	}{
		{"Patient?name=chal", []string{"p1"}, false},
		{"Patient?name=dupre", []string{"p2"}, false}, // accent-insensitive
		{"Patient?name:exact=Dupré", []string{"p2"}, false},
		{"Patient?name:exact=dupré", nil, false},
		{"Patient?name:contains=upr", []string{"p2"}, false},
		{"Patient?gender=male", []string{"p1"}, false},
		{"Patient?gender=http://hl7.org/fhir/administrative-gender%7Cfemale", []string{"p2"}, false},
		{"Patient?gender:not=male", []string{"p2"}, false},
		{"Patient?birthdate=1980", []string{"p2"}, false},
		{"Patient?birthdate=lt1980", []string{"p1"}, false},
		{"Patient?active:missing=true", []string{"p2"}, false},
		{"Patient?organization=Organization/org1&_sort=-birthdate", []string{"p2", "p1"}, true},
		{"Patient?organization.name=saint", nil, false}, // the chain looks at the name's start
		{"Patient?organization.name=hopital", []string{"p1", "p2"}, false},
		{"Observation?subject:Patient.name=chalmers&_sort=date", []string{"o3", "o1"}, true},
		{"Observation?value-quantity=gt1.7%7Chttp://unitsofmeasure.org%7Cm", []string{"o1"}, false},
		{"Observation?code=8302-2&date=ge2021", []string{"o2"}, false},
		{"Patient?_has:Condition:subject:code=https://www.orpha.net%7CORPHA:558", []string{"p2"}, false},
		{"Patient?_has:Observation:subject:code=29463-7", []string{"p1"}, false},
		{"Observation?patient=p2", []string{"o2"}, false},
		{"Observation?subject=Patient/p1&_sort=-date", []string{"o1", "o3"}, true},
	} {
		r := wantMatches(t, ts, "/fhir/"+tc.query, tc.want, tc.order)
		if str(r.JSON, "type") != "searchset" {
			t.Errorf("%s: Bundle type %q", tc.query, str(r.JSON, "type"))
		}
	}
}

func TestSearchBundle(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	searchFixture(t, ts)

	// Links, totals and paging.
	r := ts.do(http.MethodGet, "/fhir/Observation?_count=2&_total=accurate", nil)
	wantStatus(t, r, http.StatusOK)
	if n := fmt.Sprint(r.JSON["total"]); n != "3" {
		t.Errorf("total %q, want 3", n)
	}
	links := map[string]string{}
	for _, l := range r.JSON["link"].([]any) {
		links[str(l, "relation")] = str(l, "url")
	}
	if !strings.HasPrefix(links["self"], ts.URL+"/fhir/Observation?") || links["next"] == "" {
		t.Fatalf("links %v", links)
	}
	if links["previous"] != "" || links["first"] != "" {
		t.Errorf("the first page links to a previous or first page: %v", links)
	}
	first := matchIDs(r)
	r = ts.do(http.MethodGet, links["next"], nil)
	second := matchIDs(r)
	all := append(slices.Clone(first), second...)
	slices.Sort(all)
	if !slices.Equal(all, []string{"o1", "o2", "o3"}) {
		t.Errorf("pages hold %v", all)
	}
	// The second page links back to the first: by its previous page and
	// by the first page, which repeats the search without a cursor.
	links = map[string]string{}
	for _, l := range r.JSON["link"].([]any) {
		links[str(l, "relation")] = str(l, "url")
	}
	if links["next"] != "" {
		t.Errorf("the last page links to a next page: %v", links)
	}
	for _, rel := range []string{"previous", "first"} {
		if links[rel] == "" {
			t.Fatalf("the second page has no %s link: %v", rel, links)
		}
		back := ts.do(http.MethodGet, links[rel], nil)
		wantStatus(t, back, http.StatusOK)
		if got := matchIDs(back); !slices.Equal(got, first) {
			t.Errorf("the %s page holds %v, want %v", rel, got, first)
		}
	}
	if u, _ := url.Parse(links["first"]); u.Query().Has("_cursor") || u.Query().Get("_count") != "2" {
		t.Errorf("first link %s: want the search's parameters without a cursor", links["first"])
	}
	for _, e := range r.JSON["entry"].([]any) {
		if !strings.HasPrefix(str(e, "fullUrl"), ts.URL+"/fhir/Observation/") {
			t.Errorf("fullUrl %q", str(e, "fullUrl"))
		}
	}

	// The Bundle is written as plain JSON: links keep their "&", embedded
	// resources their narrative's markup as stored.
	r = ts.do(http.MethodGet, "/fhir/Patient?_id=p1&active=true", nil)
	if raw := string(r.Body); !strings.Contains(raw, "_id=p1&active=true") || !strings.Contains(raw, `<div xmlns=`) {
		t.Errorf("escaped Bundle: %s", raw)
	}

	// _summary=count: the total, no entries.
	r = ts.do(http.MethodGet, "/fhir/Patient?_summary=count", nil)
	if fmt.Sprint(r.JSON["total"]) != "2" || r.JSON["entry"] != nil {
		t.Errorf("_summary=count: %s", r.Body)
	}

	// _summary=true keeps summary elements and tags the result SUBSETTED.
	r = ts.do(http.MethodGet, "/fhir/Patient?_id=p1&_summary=true", nil)
	res := get(r.JSON, "entry", 0, "resource").(map[string]any)
	if res["text"] != nil || res["name"] == nil || str(res, "meta", "tag", 0, "code") != "SUBSETTED" {
		t.Errorf("_summary=true: %v", res)
	}
	r = ts.do(http.MethodGet, "/fhir/Patient?_id=p1&_elements=gender", nil)
	res = get(r.JSON, "entry", 0, "resource").(map[string]any)
	if res["gender"] != "male" || res["name"] != nil || res["birthDate"] != nil || str(res, "meta", "tag", 0, "code") != "SUBSETTED" {
		t.Errorf("_elements=gender: %v", res)
	}

	// _include and _revinclude bring resources in as "include".
	r = ts.do(http.MethodGet, "/fhir/Observation?_id=o1&_include=Observation:subject&_include:iterate=Patient:organization", nil)
	if got := entryRefs(r, "include"); !slices.Equal(got, []string{"Organization/org1", "Patient/p1"}) {
		t.Errorf("_include with :iterate: %v", got)
	}
	r = ts.do(http.MethodGet, "/fhir/Patient?_id=p2&_revinclude=Condition:subject&_revinclude=Observation:subject", nil)
	if got := entryRefs(r, "include"); !slices.Equal(got, []string{"Condition/c1", "Observation/o2"}) {
		t.Errorf("_revinclude: %v", got)
	}
	// *: every reference parameter of a type, or of every type.
	r = ts.do(http.MethodGet, "/fhir/Patient?_id=p2&_revinclude=Observation:*", nil)
	if got := entryRefs(r, "include"); !slices.Equal(got, []string{"Observation/o2"}) {
		t.Errorf("_revinclude=Observation:*: %v", got)
	}
	r = ts.do(http.MethodGet, "/fhir/Organization?_id=org1&_revinclude=*&_revinclude:iterate=*", nil)
	if got := entryRefs(r, "include"); !slices.Equal(got, []string{"Condition/c1", "Observation/o1", "Observation/o2", "Observation/o3", "Patient/p1", "Patient/p2"}) {
		t.Errorf("_revinclude=* with :iterate: %v", got)
	}
	if outcome := entryRefs(r, "outcome"); len(outcome) != 0 {
		t.Errorf("_revinclude=*: %s", r.Body)
	}

	// System search over several types.
	r = ts.do(http.MethodGet, "/fhir?_type=Patient,Organization&_sort=_id", nil)
	if got := matchIDs(r); !slices.Equal(got, []string{"org1", "p1", "p2"}) {
		t.Errorf("system search: %v", got)
	}

	// POST _search with a form body, parameters in the URL too.
	r = ts.do(http.MethodPost, "/fhir/Patient/_search?gender=female", "name=dup", "Content-Type", "application/x-www-form-urlencoded")
	if got := matchIDs(r); !slices.Equal(got, []string{"p2"}) {
		t.Errorf("POST _search: %v", got)
	}
}

// TestSearchUnionParameters searches Observation's combo parameters, which
// the store answers from code, component-code and the other parts, on
// Observations as a client sends them: values on the resource and on its
// components.
func TestSearchUnionParameters(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	bp := `{"resourceType":"Observation","id":"bp","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel"}]},` +
		`"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic blood pressure"}]},"valueQuantity":{"value":128,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},` +
		`{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4","display":"Diastolic blood pressure"}]},"valueQuantity":{"value":84,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`
	glucose := `{"resourceType":"Observation","id":"glu","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2339-0","display":"Glucose"}]},` +
		`"valueQuantity":{"value":95,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"}}`
	smoking := `{"resourceType":"Observation","id":"smk","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"72166-2"}]},` +
		`"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"8517006","display":"Ex-smoker"}]}}`
	for id, body := range map[string]string{"bp": bp, "glu": glucose, "smk": smoking} {
		wantStatus(t, ts.do(http.MethodPut, "/fhir/Observation/"+id, body), http.StatusCreated)
	}
	for _, tc := range []struct {
		query string
		want  []string
		order bool
	}{
		{"combo-code=8480-6", []string{"bp"}, false},
		{"combo-code=http://loinc.org%7C2339-0", []string{"glu"}, false},
		{"combo-code=8462-4,72166-2", []string{"bp", "smk"}, false},
		{"combo-code:not=8480-6", []string{"glu", "smk"}, false},
		{"combo-code:text=systolic", []string{"bp"}, false},
		{"combo-code=8480-6&code=85354-9", []string{"bp"}, false},
		{"combo-value-quantity=gt100", []string{"bp"}, false},
		{"combo-value-quantity=ge90", []string{"bp", "glu"}, false},
		{"combo-value-quantity:missing=true", []string{"smk"}, false},
		{"combo-value-concept=http://snomed.info/sct%7C8517006", []string{"smk"}, false},
		{"combo-code-value-quantity=8480-6$gt120", []string{"bp"}, false},
		{"combo-code-value-quantity=8462-4$gt120", nil, false},
		{"combo-code-value-quantity=2339-0$95", []string{"glu"}, false},
		{"combo-code-value-concept=72166-2$8517006", []string{"smk"}, false},
		{"_sort=combo-code", []string{"glu", "smk", "bp"}, true},
		{"_sort=-combo-code", []string{"bp", "smk", "glu"}, true},
	} {
		wantMatches(t, ts, "/fhir/Observation?"+tc.query, tc.want, tc.order)
	}
}

// wantMatches searches path and checks the ids of its matches: want, in
// that order when order is set, in any order otherwise.
func wantMatches(t *testing.T, ts *testServer, path string, want []string, order bool) *response {
	t.Helper()
	r := ts.do(http.MethodGet, path, nil)
	wantStatus(t, r, http.StatusOK)
	got := matchIDs(r)
	want = slices.Clone(want)
	if !order {
		slices.Sort(got)
		slices.Sort(want)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: matches %v, want %v", path, got, want)
	}
	return r
}

func entryRefs(r *response, mode string) []string {
	var out []string
	entries, _ := r.JSON["entry"].([]any)
	for _, e := range entries {
		if get(e, "search", "mode") == mode {
			out = append(out, str(e, "resource", "resourceType")+"/"+str(e, "resource", "id"))
		}
	}
	slices.Sort(out)
	return out
}

func TestSearchErrors(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	searchFixture(t, ts)

	// Unknown parameters: ignored and reported, or refused when strict.
	r := ts.do(http.MethodGet, "/fhir/Patient?nonsense=1&gender=male", nil)
	wantStatus(t, r, http.StatusOK)
	if !hasOutcomeEntry(r) || !slices.Equal(matchIDs(r), []string{"p1"}) {
		t.Errorf("unknown parameter: %s", r.Body)
	}
	// The self link shows the parameters used, not those ignored.
	if self := str(r.JSON, "link", 0, "url"); strings.Contains(self, "nonsense") || !strings.Contains(self, "gender=male") {
		t.Errorf("self link: %s", self)
	}
	r = ts.do(http.MethodGet, "/fhir/Patient?nonsense=1", nil, "Prefer", "handling=strict")
	wantStatus(t, r, http.StatusBadRequest)
	if exprs := expressions(t, r); !slices.Contains(exprs, "nonsense") {
		t.Errorf("strict: expressions %v", exprs)
	}

	// Malformed values are 400 with the parameter located.
	for _, q := range []string{"birthdate=1974-13", "birthdate=xx1974", "_count=-1", "_sort=nonsense",
		"gender:contains=x", "organization.nonsense=x", "_cursor=not-a-cursor", "value-quantity=abc"} {
		p := "Patient"
		if strings.HasPrefix(q, "value-") {
			p = "Observation"
		}
		r := ts.do(http.MethodGet, "/fhir/"+p+"?"+q, nil)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400: %s", q, r.Status, r.Body)
		}
	}
	// An unknown type is 404; a POST to _search without a form is 415.
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Nonsense?x=1", nil), http.StatusNotFound)
	r = ts.do(http.MethodPost, "/fhir/Patient/_search", `{"a":1}`, "Content-Type", "application/json")
	wantStatus(t, r, http.StatusUnsupportedMediaType)

	// Conditional interactions take any search, and refuse what they
	// cannot evaluate.
	r = ts.do(http.MethodPut, "/fhir/Patient?name:exact=Chalmers&birthdate=1974-12-25", patientJSON("", "Chalmers"))
	wantStatus(t, r, http.StatusOK)
	if str(r.JSON, "id") != "p1" {
		t.Errorf("conditional update by name and birthdate updated %s", str(r.JSON, "id"))
	}
	wantStatus(t, ts.do(http.MethodDelete, "/fhir/Patient?nonsense=1", nil), http.StatusBadRequest)
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/p2", nil), http.StatusOK)
}
