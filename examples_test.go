package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/examples"
	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/profiles"
)

// postExamples posts every example Bundle as a transaction to the base
// and returns the status of every entry, by Type/id.
func postExamples(t *testing.T, do func(method, path, body string) (int, map[string]any)) map[string]string {
	t.Helper()
	bundles, err := examples.Bundles()
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]string{}
	for _, b := range bundles {
		status, out := do(http.MethodPost, "", string(b.JSON))
		if status != http.StatusOK {
			t.Fatalf("%s: %d %v", b.Name, status, out)
		}
		entries, _ := out["entry"].([]any)
		want, err := b.Entries()
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != len(want) {
			t.Fatalf("%s: %d response entries for %d", b.Name, len(entries), len(want))
		}
		for i, e := range entries {
			resp, _ := e.(map[string]any)["response"].(map[string]any)
			s, _ := resp["status"].(string)
			ref := string(want[i].Type) + "/" + string(want[i].ID)
			statuses[ref] = s
			if !strings.HasPrefix(s, "201") && !strings.HasPrefix(s, "200") {
				t.Errorf("%s: %s: %v", b.Name, ref, resp)
			}
			if o, ok := resp["outcome"]; ok {
				t.Errorf("%s: %s has issues: %v", b.Name, ref, o)
			}
		}
	}
	return statuses
}

// ids returns the ids of a search's matches (mode match), sorted.
func ids(t *testing.T, do func(method, path, body string) (int, map[string]any), query string) []string {
	t.Helper()
	status, out := do(http.MethodGet, query, "")
	if status != http.StatusOK {
		t.Fatalf("%s: %d %v", query, status, out)
	}
	var got []string
	for _, e := range asSlice(out["entry"]) {
		em := e.(map[string]any)
		if s, _ := em["search"].(map[string]any); s != nil && s["mode"] != "match" {
			t.Fatalf("%s: %v", query, em["resource"])
		}
		got = append(got, em["resource"].(map[string]any)["id"].(string))
	}
	if next := linkURL(out, "next"); next != "" {
		t.Fatalf("%s: more than one page", query)
	}
	slices.Sort(got)
	return got
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func linkURL(bundle map[string]any, rel string) string {
	for _, l := range asSlice(bundle["link"]) {
		if lm := l.(map[string]any); lm["relation"] == rel {
			return lm["url"].(string)
		}
	}
	return ""
}

// subjects returns the patients (ids) the matching resources are about.
func subjects(t *testing.T, do func(method, path, body string) (int, map[string]any), query, field string) []string {
	t.Helper()
	status, out := do(http.MethodGet, query, "")
	if status != http.StatusOK {
		t.Fatalf("%s: %d %v", query, status, out)
	}
	var got []string
	for _, e := range asSlice(out["entry"]) {
		r := e.(map[string]any)["resource"].(map[string]any)
		if r["resourceType"] == "OperationOutcome" {
			t.Fatalf("%s: %v", query, r)
		}
		ref, _ := r[field].(map[string]any)["reference"].(string)
		id := strings.TrimPrefix(ref, "Patient/")
		if !slices.Contains(got, id) {
			got = append(got, id)
		}
	}
	slices.Sort(got)
	return got
}

// cpmsParams are the CPMS search parameters the tests use: the server
// stores their SearchParameters in the background on its first start, and
// searches with them once they are active.
var cpmsParams = []string{"Patient?cpms-id=x", "Task?panel-status=x", "Consent?register-name=x",
	"CareTeam?member-status=" + url.QueryEscape("PractitionerRole/x$needs-action")}

// waitSearchable waits until get answers every CPMS search parameter
// without an OperationOutcome (an unknown or not yet indexed parameter).
func waitSearchable(t *testing.T, get func(path string) (int, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, q := range cpmsParams {
		for {
			status, body := get(q)
			if status == http.StatusOK && !strings.Contains(body, `"OperationOutcome"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is not searchable: %d %s", q, status, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// historyCount returns how many versions the history of a type lists.
func historyCount(t *testing.T, do func(method, path, body string) (int, map[string]any), typ string) int {
	t.Helper()
	n := 0
	path := typ + "/_history?_count=1000"
	for path != "" {
		status, out := do(http.MethodGet, path, "")
		if status != http.StatusOK {
			t.Fatalf("%s: %d %v", path, status, out)
		}
		n += len(asSlice(out["entry"]))
		path = ""
		if next := linkURL(out, "next"); next != "" {
			_, rest, _ := strings.Cut(next, "/fhir/")
			path = rest
		}
	}
	return n
}

// TestExamplesTransactions: every example Bundle posted as a transaction
// to a real server is accepted whole (every resource validates against
// the CPMS profile it claims and every consultation form against the
// Questionnaire, with the real terminology), the content is found by the
// searches CPMS users run, and posting everything again changes nothing.
func TestExamplesTransactions(t *testing.T) {
	do, stop := startServe(t)
	defer stop()
	// A fresh server stores the CPMS SearchParameters in the background
	// with the terminology seed, which takes a while; stored through the
	// API first (the same resources), they are active at once.
	err := profiles.Resources(func(rt fhir.ResourceType, id fhir.ID, body []byte) error {
		if rt == "SearchParameter" {
			if status, out := do(http.MethodPut, "SearchParameter/"+string(id), string(body)); status != http.StatusCreated && status != http.StatusOK {
				t.Errorf("SearchParameter/%s: %d %v", id, status, out)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	first := postExamples(t, do)
	counts := map[string]int{}
	for ref, s := range first {
		if !strings.HasPrefix(s, "201") {
			t.Errorf("%s: %s on the first load", ref, s)
		}
		typ, _, _ := strings.Cut(ref, "/")
		counts[typ]++
	}
	t.Logf("loaded: %v", counts)
	waitSearchable(t, func(path string) (int, string) {
		status, out := do(http.MethodGet, path, "")
		b, _ := json.Marshal(out)
		return status, string(b)
	})
	for typ, min := range map[string]int{"Organization": 7, "Practitioner": 9, "PractitionerRole": 9, "Patient": 7,
		"Consent": 21, "Encounter": 7, "Condition": 30, "QuestionnaireResponse": 7, "Task": 7, "CareTeam": 7,
		"Appointment": 2, "Communication": 5, "CommunicationRequest": 1, "Composition": 3} {
		if counts[typ] < min {
			t.Errorf("%d %s resources, want at least %d", counts[typ], typ, min)
		}
	}

	// The patient list of a centre and a search by CPMS ID.
	if got := ids(t, do, "Patient?cpms-id=http://cpms-fhir.org/fhir/sid/cpms-id|ERN-BE10-EuroBloodNet-006"); !slices.Equal(got, []string{"ebn-be10-006"}) {
		t.Errorf("Patient?cpms-id=ERN-BE10-EuroBloodNet-006: %v", got)
	}
	if got := ids(t, do, "Patient?cpms-id=ERN-FR08-EuroBloodNet-002"); !slices.Equal(got, []string{"ebn-fr08-002"}) {
		t.Errorf("Patient?cpms-id=ERN-FR08-EuroBloodNet-002: %v", got)
	}
	if got := ids(t, do, "Patient?organization=Organization/ebn-centre-fr08"); !slices.Equal(got, []string{"ebn-fr08-001", "ebn-fr08-002"}) {
		t.Errorf("the patients of FR08: %v", got)
	}
	if got := ids(t, do, "Organization?type=http://cpms-fhir.org/fhir/CodeSystem/cpms-organization-type|hcp&_id=ebn-centre-be10,ebn-centre-bg07,ebn-centre-cy01,ebn-centre-cz08,ebn-centre-fr08,ebn-centre-it10"); len(got) != 6 {
		t.Errorf("the centres: %v", got)
	}

	// One panel in each state.
	for status, panel := range map[string]string{"created": "ebn-panel-7", "open": "ebn-panel-5", "in-discussion": "ebn-panel-3",
		"additional-data-requested": "ebn-panel-6", "outcome-in-preparation": "ebn-panel-4", "signed-off": "ebn-panel-2", "closed": "ebn-panel-1"} {
		q := "Task?panel-status=http://cpms-fhir.org/fhir/CodeSystem/cpms-panel-status|" + status
		if got := ids(t, do, q); !slices.Equal(got, []string{panel}) {
			t.Errorf("Task?panel-status=%s: %v, want %s", status, got, panel)
		}
	}
	// A member's pending panel invitations, the lead's panels.
	if got := ids(t, do, "CareTeam?member-status="+url.QueryEscape("PractitionerRole/ebn-bg07-stoyanov-role$needs-action")); !slices.Equal(got, []string{"ebn-panel-5-team"}) {
		t.Errorf("invitations of the BG07 professional: %v", got)
	}
	if got := ids(t, do, "Task?owner=PractitionerRole/ebn-fr08-garnier-role"); !slices.Equal(got, []string{"ebn-panel-3", "ebn-panel-5", "ebn-panel-6"}) {
		t.Errorf("panels led from FR08: %v", got)
	}
	if got := ids(t, do, "Composition?status=final&category=http://cpms-fhir.org/fhir/CodeSystem/cpms-panel-activity|outcome-report"); !slices.Equal(got, []string{"ebn-panel-1-outcome", "ebn-panel-2-outcome"}) {
		t.Errorf("signed-off outcomes: %v", got)
	}
	if got := ids(t, do, "QuestionnaireResponse?status=in-progress&subject=Patient/ebn-fr08-002"); !slices.Equal(got, []string{"ebn-panel-7-form"}) {
		t.Errorf("the form in progress: %v", got)
	}

	// Diagnoses through the Orphanet classification: the rare anaemias
	// (every patient but the one with haemophilia A), the
	// haemoglobinopathies (sickle cell anaemia and beta-thalassaemia).
	rareAnaemia := []string{"ebn-be10-006", "ebn-bg07-001", "ebn-cy01-001", "ebn-fr08-001", "ebn-fr08-002", "ebn-it10-001"}
	if got := subjects(t, do, "Condition?code:below=https://www.orpha.net|ORPHA:108997", "subject"); !slices.Equal(got, rareAnaemia) {
		t.Errorf("Condition?code:below=ORPHA:108997 (rare anemia): %v, want %v", got, rareAnaemia)
	}
	if got := subjects(t, do, "Condition?code:below=https://www.orpha.net|ORPHA:68364", "subject"); !slices.Equal(got, []string{"ebn-be10-006", "ebn-cy01-001", "ebn-fr08-002"}) {
		t.Errorf("Condition?code:below=ORPHA:68364 (hemoglobinopathy): %v", got)
	}
	if got := subjects(t, do, "Condition?code=http://hl7.org/fhir/sid/icd-10|D66", "subject"); !slices.Equal(got, []string{"ebn-cz08-001"}) {
		t.Errorf("Condition?code=D66: %v", got)
	}
	if got := subjects(t, do, "Condition?code:below=http://human-phenotype-ontology.org|HP:0001871&verification-status=confirmed", "subject"); !slices.Equal(got, []string{"ebn-bg07-001", "ebn-cz08-001", "ebn-fr08-001", "ebn-it10-001"}) {
		t.Errorf("phenotypes under HP:0001871 (abnormality of blood and blood-forming tissues): %v", got)
	}
	if got := subjects(t, do, "Condition?code=http://human-phenotype-ontology.org|HP:0002140&verification-status=refuted", "subject"); !slices.Equal(got, []string{"ebn-be10-006"}) {
		t.Errorf("an excluded phenotype (no ischemic stroke): %v", got)
	}

	// Registry consents.
	if got := subjects(t, do, "Consent?register-name="+url.QueryEscape("EuroBloodNet Registry"), "patient"); len(got) != 6 || slices.Contains(got, "ebn-bg07-001") {
		t.Errorf("Consent?register-name=EuroBloodNet Registry: %v", got)
	}
	if got := subjects(t, do, "Consent?register-name="+url.QueryEscape("International PNH"), "patient"); !slices.Equal(got, []string{"ebn-fr08-001"}) {
		t.Errorf("Consent?register-name=International PNH: %v", got)
	}

	// The consultation forms were checked against their patients: a
	// nickname naming the patient is refused, and the transaction with it.
	bundles, err := examples.Bundles()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bundles {
		if b.Name == "03-panel-1-closed.json" {
			bad := strings.Replace(string(b.JSON), `"Red Kite"`, `"Red Kite of Noor"`, 1)
			if status, out := do(http.MethodPost, "", bad); status != http.StatusUnprocessableEntity || !strings.Contains(outcomeText(out), "nickname") {
				t.Errorf("a nickname with the patient's first name: %d %v", status, out)
			}
		}
	}

	// Loading again changes nothing.
	types := []string{"Organization", "PractitionerRole", "Patient", "Consent", "Condition", "QuestionnaireResponse", "Task", "Composition"}
	before := map[string]int{}
	for _, typ := range types {
		before[typ] = historyCount(t, do, typ)
	}
	for ref, s := range postExamples(t, do) {
		if !strings.HasPrefix(s, "200") {
			t.Errorf("%s: %s on the second load", ref, s)
		}
	}
	for _, typ := range types {
		if n := historyCount(t, do, typ); n != before[typ] {
			t.Errorf("%s history: %d versions after loading again, %d before", typ, n, before[typ])
		}
	}
}

// TestLoadExamples: "cpms serve --load-examples" loads the examples once
// the server has started and logs what it loaded; started again on the
// same data, it loads nothing new.
func TestLoadExamples(t *testing.T) {
	fs, cfg := serveFlags(&bytes.Buffer{})
	if err := fs.Parse([]string{"--load-examples", "--addr", "127.0.0.1:0"}); err != nil || !cfg.loadExamples {
		t.Fatalf("--load-examples: %v %v", err, cfg.loadExamples)
	}
	t.Setenv("CPMS_LOAD_EXAMPLES", "1")
	if _, cfg := serveFlags(&bytes.Buffer{}); !cfg.loadExamples {
		t.Error("CPMS_LOAD_EXAMPLES=1 does not set loadExamples")
	}

	data := t.TempDir()
	start := func() (logged string) {
		t.Helper()
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan string, 1)
		errc := make(chan error, 1)
		go func() {
			errc <- runServer(ctx, &serveConfig{addr: "127.0.0.1:0", store: storeFlags{data: data}, shutdownWait: time.Second, loadExamples: true}, log, ready)
		}()
		select {
		case addr := <-ready:
			get := func(path string) (int, string) {
				resp, err := http.Get("http://" + addr + "/fhir/" + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var b bytes.Buffer
				b.ReadFrom(resp.Body)
				return resp.StatusCode, b.String()
			}
			q := "Patient?identifier=" + url.QueryEscape("http://cpms-fhir.org/fhir/sid/cpms-id|ERN-CY01-EuroBloodNet-001")
			if _, body := get(q); !strings.Contains(body, `"id":"ebn-cy01-001"`) {
				t.Errorf("the loaded patient is not found: %s", body)
			}
		case err := <-errc:
			cancel()
			t.Fatal(err)
		}
		cancel()
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "examples") {
				logged += line + "\n"
			}
		}
		return logged
	}
	first := start()
	if !strings.Contains(first, "examples loaded") || strings.Contains(first, "created=0 ") || !strings.Contains(first, "unchanged=0") {
		t.Errorf("first start: %s", first)
	}
	second := start()
	if !strings.Contains(second, "examples loaded") || !strings.Contains(second, "created=0 updated=0") {
		t.Errorf("second start: %s", second)
	}
}
