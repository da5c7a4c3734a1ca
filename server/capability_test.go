package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestCapabilityStatement(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	r := ts.do(http.MethodGet, "/fhir/metadata", nil)
	wantStatus(t, r, http.StatusOK)
	cs := r.JSON
	for path, want := range map[string]string{
		"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1", "kind": "instance", "status": "active",
	} {
		if got := str(cs, path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if !hasString(get(cs, "format"), "application/fhir+json") && !hasString(get(cs, "format"), "json") {
		t.Errorf("format %v lacks JSON", get(cs, "format"))
	}
	if !hasString(get(cs, "patchFormat"), "application/json-patch+json") || !hasString(get(cs, "patchFormat"), "application/fhir+json") {
		t.Errorf("patchFormat %v lacks JSON Patch or FHIRPath Patch", get(cs, "patchFormat"))
	}
	if str(cs, "rest", 0, "mode") != "server" {
		t.Errorf("rest[0].mode %q", str(cs, "rest", 0, "mode"))
	}
	if got := str(cs, "implementation", "url"); got != ts.URL+"/fhir" {
		t.Errorf("implementation.url %q", got)
	}
	// It is a valid R4 resource.
	v, err := sharedValidator()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(r.Body); err != nil {
		t.Errorf("the CapabilityStatement is not valid R4: %v", err)
	}
	for _, typ := range []string{"Patient", "Observation", "Bundle", "Consent", "Task"} {
		if capResource(cs, typ) == nil {
			t.Errorf("no rest.resource for %s", typ)
		}
	}
	// Served the same from the cache, and with _pretty.
	r2 := ts.do(http.MethodGet, "/fhir/metadata?_pretty=true", nil)
	var a, b any
	if json.Unmarshal(r.Body, &a) != nil || json.Unmarshal(r2.Body, &b) != nil || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("the statement differs between requests")
	}
}

func hasString(list any, s string) bool {
	l, _ := list.([]any)
	return slices.Contains(l, any(s))
}

func capResource(cs map[string]any, typ string) map[string]any {
	list, _ := get(cs, "rest", 0, "resource").([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok && m["type"] == typ {
			return m
		}
	}
	return nil
}

// capSamples are resources of the types whose declared capabilities the
// test exercises; %s is replaced by an identifier value that makes each
// body distinct.
var capSamples = map[string]string{
	"Patient":      `{"resourceType":"Patient","identifier":[{"system":"urn:cap","value":"%s"}],"name":[{"family":"Cap"}]}`,
	"Observation":  `{"resourceType":"Observation","identifier":[{"system":"urn:cap","value":"%s"}],"status":"final","code":{"text":"x"}}`,
	"Organization": `{"resourceType":"Organization","identifier":[{"system":"urn:cap","value":"%s"}],"name":"Centre"}`,
	"Encounter": `{"resourceType":"Encounter","identifier":[{"system":"urn:cap","value":"%s"}],"status":"finished",` +
		`"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"}}`,
	"Condition": `{"resourceType":"Condition","identifier":[{"system":"urn:cap","value":"%s"}],"subject":{"reference":"Patient/p"},` +
		`"code":{"coding":[{"system":"https://www.orpha.net","code":"ORPHA:558"}]}}`,
}

// TestCapabilitiesWork reads the CapabilityStatement and calls every
// interaction, operation and conditional capability it declares for the
// system and for the sample types. A declaration the test does not know
// how to exercise fails it: the statement must list only what works.
func TestCapabilitiesWork(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	cs := ts.do(http.MethodGet, "/fhir/metadata", nil).JSON
	rest, _ := get(cs, "rest", 0).(map[string]any)
	knownRest := []string{"mode", "documentation", "security", "resource", "interaction", "searchParam", "compartment"}
	for k := range rest {
		if !slices.Contains(knownRest, k) {
			t.Errorf("rest.%s is declared; teach this test to exercise it", k)
		}
	}
	// Each compartment declared is searched; the Patient compartment holds
	// an Observation of its patient.
	compartments, _ := rest["compartment"].([]any)
	for _, u := range compartments {
		name := u.(string)[strings.LastIndex(u.(string), "/")+1:]
		owner := strings.ToUpper(name[:1]) + name[1:]
		r := ts.do(http.MethodGet, "/fhir/"+owner+"/none/*", nil)
		if r.Status != http.StatusOK || str(r.JSON, "type") != "searchset" {
			t.Errorf("compartment %s: %d %.300s", u, r.Status, r.Body)
		}
	}
	if len(compartments) > 0 {
		pid := ts.createPatient("Compartment")
		r := ts.do(http.MethodPost, "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/`+pid+`"}}`)
		wantStatus(t, r, http.StatusCreated)
		oid := str(r.JSON, "id")
		r = ts.do(http.MethodGet, "/fhir/Patient/"+pid+"/Observation", nil)
		if got := matchIDs(r); !slices.Equal(got, []string{oid}) {
			t.Errorf("Patient/%s/Observation: matches %v, want [%s]", pid, got, oid)
		}
	}
	for _, code := range codes(get(rest, "interaction")) {
		switch code {
		case "history-system":
			ts.createPatient("Sys")
			if n := ts.historyCount("/fhir/_history"); n == 0 {
				t.Error("history-system: empty")
			}
		case "transaction", "batch":
			subject := "urn:uuid:cap" // linked to the Patient in a transaction
			if code == "batch" {
				subject = "Patient/cap" // a batch's entries are independent
			}
			r := ts.do(http.MethodPost, "/fhir", txBundle(code,
				entry("POST", "Patient", patientJSON("", "Tx"), "urn:uuid:cap"),
				entry("POST", "Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"`+subject+`"}}`, "")))
			wantStatus(t, r, http.StatusOK)
			for i, e := range responses(t, r, code+"-response", 2) {
				if s := str(e, "response", "status"); s != "201 Created" {
					t.Errorf("%s entry %d: %s", code, i, s)
				}
			}
		case "search-system":
			id := ts.createPatient("SysSearch")
			r := ts.do(http.MethodGet, "/fhir?_type=Patient&_id="+id, nil)
			wantStatus(t, r, http.StatusOK)
			if got := matchIDs(r); !slices.Equal(got, []string{id}) {
				t.Errorf("search-system: matches %v, want [%s]", got, id)
			}
		default:
			t.Errorf("system interaction %q is declared but this test cannot exercise it", code)
		}
	}
	types := make([]string, 0, len(capSamples))
	for typ := range capSamples {
		types = append(types, typ)
	}
	sort.Strings(types)
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			res := capResource(cs, typ)
			if res == nil {
				t.Fatalf("%s is not declared", typ)
			}
			exerciseType(t, ts, typ, res)
		})
	}
}

func codes(list any) []string {
	l, _ := list.([]any)
	var out []string
	for _, x := range l {
		if c := str(x, "code"); c != "" {
			out = append(out, c)
		} else if n := str(x, "name"); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func exerciseType(t *testing.T, ts *testServer, typ string, res map[string]any) {
	seq := 0
	body := func(id string) string {
		seq++
		var m map[string]any
		if err := json.Unmarshal(fmt.Appendf(nil, capSamples[typ], fmt.Sprintf("%s-%d", typ, seq)), &m); err != nil {
			t.Fatal(err)
		}
		if id != "" {
			m["id"] = id
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	base := "/fhir/" + typ
	create := func() string {
		t.Helper()
		r := ts.do(http.MethodPost, base, body(""))
		wantStatus(t, r, http.StatusCreated)
		return str(r.JSON, "id")
	}
	identifier := func(id string) string {
		r := ts.do(http.MethodGet, base+"/"+id, nil)
		wantStatus(t, r, http.StatusOK)
		return "urn:cap|" + str(r.JSON, "identifier", 0, "value")
	}

	for _, code := range codes(res["interaction"]) {
		switch code {
		case "search-type":
			id := create()
			for _, q := range []string{"?_id=" + id, "?identifier=" + identifier(id)} {
				r := ts.do(http.MethodGet, base+q, nil)
				wantStatus(t, r, http.StatusOK)
				if got := matchIDs(r); !slices.Equal(got, []string{id}) {
					t.Errorf("search-type %s: matches %v, want [%s]", q, got, id)
				}
			}
			r := ts.do(http.MethodPost, base+"/_search", "_id="+id, "Content-Type", "application/x-www-form-urlencoded")
			if got := matchIDs(r); !slices.Equal(got, []string{id}) {
				t.Errorf("search-type by POST: matches %v, want [%s]", got, id)
			}
		case "create":
			id := create()
			wantStatus(t, ts.do(http.MethodGet, base+"/"+id, nil), http.StatusOK)
		case "read":
			id := create()
			r := ts.do(http.MethodGet, base+"/"+id, nil)
			wantStatus(t, r, http.StatusOK)
			checkVersion(t, r, typ, id, "1")
		case "vread":
			id := create()
			checkVersion(t, ts.do(http.MethodGet, base+"/"+id+"/_history/1", nil), typ, id, "1")
		case "update":
			id := create()
			r := ts.do(http.MethodPut, base+"/"+id, body(id))
			wantStatus(t, r, http.StatusOK)
			checkVersion(t, r, typ, id, "2")
		case "patch":
			id := create()
			r := ts.do(http.MethodPatch, base+"/"+id, `[{"op":"replace","path":"/identifier/0/value","value":"patched"}]`, "Content-Type", jsonPatch)
			wantStatus(t, r, http.StatusOK)
			checkVersion(t, r, typ, id, "2")
			// The other patchFormat: FHIRPath Patch.
			r = ts.do(http.MethodPatch, base+"/"+id, fhirPathPatch(fhirPathOp("replace", typ+".identifier[0].value", `{"name":"value","valueString":"again"}`)),
				"Content-Type", "application/fhir+json")
			wantStatus(t, r, http.StatusOK)
			checkVersion(t, r, typ, id, "3")
		case "delete":
			id := create()
			wantStatus(t, ts.do(http.MethodDelete, base+"/"+id, nil), http.StatusNoContent)
			wantStatus(t, ts.do(http.MethodGet, base+"/"+id, nil), http.StatusGone)
		case "history-instance":
			id := create()
			wantStatus(t, ts.do(http.MethodPut, base+"/"+id, body(id)), http.StatusOK)
			if n := ts.historyCount(base + "/" + id + "/_history"); n != 2 {
				t.Errorf("history-instance: %d versions, want 2", n)
			}
		case "history-type":
			before := ts.historyCount(base + "/_history")
			create()
			if n := ts.historyCount(base + "/_history"); n != before+1 {
				t.Errorf("history-type: %d versions, want %d", n, before+1)
			}
		default:
			t.Errorf("interaction %q is declared for %s but this test cannot exercise it", code, typ)
		}
	}

	for _, op := range codes(res["operation"]) {
		switch op {
		case "everything":
			id := create()
			r := ts.do(http.MethodGet, base+"/"+id+"/$everything", nil)
			wantStatus(t, r, http.StatusOK)
			if got := matchIDs(r); !slices.Contains(got, id) {
				t.Errorf("$everything of %s/%s: matches %v, without the %s itself", typ, id, got, typ)
			}
		case "validate":
			r := ts.do(http.MethodPost, base+"/$validate", body(""))
			wantStatus(t, r, http.StatusOK)
			if hasError(r) {
				t.Errorf("$validate of a valid %s: %s", typ, r.Body)
			}
		default:
			t.Errorf("operation $%s is declared for %s but this test cannot exercise it", op, typ)
		}
	}

	for key, val := range res {
		switch key {
		case "type", "interaction", "operation":
		case "searchParam":
			// Every declared parameter is evaluated, not ignored: a search
			// with a value of its type answers 200 without a warning, and
			// handling=strict accepts it.
			for _, p := range val.([]any) {
				name, typ := str(p, "name"), str(p, "type")
				q := base + "?" + sampleCriterion(name, typ)
				r := ts.do(http.MethodGet, q, nil, "Prefer", "handling=strict")
				if r.Status != http.StatusOK || hasOutcomeEntry(r) {
					t.Errorf("searchParam %s (%s): %d %.300s", name, typ, r.Status, r.Body)
				}
			}
		case "searchInclude", "searchRevInclude":
			param := "_include"
			if key == "searchRevInclude" {
				param = "_revinclude"
			}
			for _, inc := range val.([]any) {
				r := ts.do(http.MethodGet, base+"?"+param+"="+inc.(string), nil, "Prefer", "handling=strict")
				if r.Status != http.StatusOK || hasOutcomeEntry(r) {
					t.Errorf("%s %s: %d %.300s", key, inc, r.Status, r.Body)
				}
			}
		case "versioning":
			switch val {
			case "versioned-update": // version-aware updates: If-Match is honoured
				id := create()
				wantStatus(t, ts.do(http.MethodPut, base+"/"+id, body(id), "If-Match", `W/"2"`), http.StatusPreconditionFailed)
				wantStatus(t, ts.do(http.MethodPut, base+"/"+id, body(id), "If-Match", `W/"1"`), http.StatusOK)
			default:
				t.Errorf("versioning %v: teach this test to exercise it", val)
			}
		case "readHistory":
			if val == true {
				id := create()
				wantStatus(t, ts.do(http.MethodPut, base+"/"+id, body(id)), http.StatusOK)
				checkVersion(t, ts.do(http.MethodGet, base+"/"+id+"/_history/1", nil), typ, id, "1")
			}
		case "updateCreate":
			if val == true {
				id := fmt.Sprintf("client-%s-%d", typ, seq)
				r := ts.do(http.MethodPut, base+"/"+id, body(id))
				wantStatus(t, r, http.StatusCreated)
				checkVersion(t, r, typ, id, "1")
			}
		case "conditionalCreate":
			if val == true {
				id := create()
				r := ts.do(http.MethodPost, base, body(""), "If-None-Exist", "identifier="+identifier(id))
				wantStatus(t, r, http.StatusOK)
				checkVersion(t, r, typ, id, "1")
			}
		case "conditionalRead":
			id := create()
			r := ts.do(http.MethodGet, base+"/"+id, nil)
			lastMod := r.Header.Get("Last-Modified")
			future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
			switch val {
			case "full-support":
				wantStatus(t, ts.do(http.MethodGet, base+"/"+id, nil, "If-None-Match", `W/"1"`), http.StatusNotModified)
				wantStatus(t, ts.do(http.MethodGet, base+"/"+id, nil, "If-Modified-Since", lastMod), http.StatusNotModified)
				wantStatus(t, ts.do(http.MethodGet, base+"/"+id, nil, "If-Modified-Since", future), http.StatusNotModified)
			case "not-supported":
			default:
				t.Errorf("conditionalRead %v: teach this test to exercise it", val)
			}
		case "conditionalUpdate":
			if val == true {
				id := create()
				r := ts.do(http.MethodPut, base+"?identifier="+identifier(id), body(""))
				wantStatus(t, r, http.StatusOK)
				checkVersion(t, r, typ, id, "2")
			}
		case "conditionalDelete":
			switch val {
			case "single":
				id := create()
				wantStatus(t, ts.do(http.MethodDelete, base+"?identifier="+identifier(id), nil), http.StatusNoContent)
				wantStatus(t, ts.do(http.MethodGet, base+"/"+id, nil), http.StatusGone)
				wantStatus(t, ts.do(http.MethodDelete, base+"?identifier=urn:cap|", nil), http.StatusPreconditionFailed)
			case "not-supported":
			default:
				t.Errorf("conditionalDelete %v: teach this test to exercise it", val)
			}
		default:
			t.Errorf("%s declares %s = %v; teach this test to exercise it", typ, key, val)
		}
	}
}

// sampleCriterion returns a well-formed criterion on a parameter of a
// type.
func sampleCriterion(name, typ string) string {
	switch typ {
	case "token":
		return name + "=x"
	case "string":
		return name + "=x"
	case "date":
		return name + "=ge2020-01-01"
	case "number":
		return name + "=gt1"
	case "quantity":
		return name + "=gt1%7Chttp://unitsofmeasure.org%7Cmg"
	case "uri":
		return name + "=http://example.org/x"
	case "reference":
		return name + "=x"
	}
	return name + ":missing=true" // composites: :missing fits every type
}

// matchIDs returns the ids of a searchset's matches.
func matchIDs(r *response) []string {
	var out []string
	entries, _ := r.JSON["entry"].([]any)
	for _, e := range entries {
		if get(e, "search", "mode") == "match" {
			out = append(out, str(e, "resource", "id"))
		}
	}
	return out
}

// hasOutcomeEntry reports whether a searchset carries an OperationOutcome
// entry (warnings about ignored parameters).
func hasOutcomeEntry(r *response) bool {
	entries, _ := r.JSON["entry"].([]any)
	for _, e := range entries {
		if get(e, "search", "mode") == "outcome" {
			return true
		}
	}
	return false
}
