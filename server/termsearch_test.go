package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/server"
	"github.com/cpms-fhir/cpms/terminology"
)

// The token modifiers :below, :above, :in and :not-in, answered through a
// real terminology service over the real engine and SQLite store. The
// fixture (testdata/termsearch.json) has a code system of disorders with
// a polyhierarchy (DMD is both a neuromuscular and a muscle disorder):
//
//	D > NEURO > EPI > EPI-FOCAL
//	    NEURO > NEUROMUSC > DMD
//	D > MUSCLE > DMD, MYOPATHY
//
// a code system of phenotypes (P-ALL > P-SEIZURE > P-FOCAL-SEIZURE;
// P-ALL > P-WEAKNESS), and value sets: neuro (is-a EPI, the code
// NEUROMUSC, and the phenotype P-SEIZURE), weakness (version 1:
// P-WEAKNESS; version 2: P-WEAKNESS and P-FOCAL-SEIZURE) and empty. The
// code system big (BIG > HALF-A, HALF-B, each with 5,000 codes below)
// is made in Go to go beyond the 10,000 codes a search may use.
const (
	disorders  = "http://example.org/fhir/CodeSystem/disorders"
	phenotypes = "http://example.org/fhir/CodeSystem/phenotypes"
	otherSys   = "http://example.org/fhir/CodeSystem/other"
	bigSys     = "http://example.org/fhir/CodeSystem/big"
	vsNeuro    = "http://example.org/fhir/ValueSet/neuro"
	vsWeakness = "http://example.org/fhir/ValueSet/weakness"
	vsEmpty    = "http://example.org/fhir/ValueSet/empty"
)

// termService returns a terminology service with the fixture.
func termService(t testing.TB) *terminology.Service {
	t.Helper()
	svc := terminology.New()
	f, err := os.Open("testdata/termsearch.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := svc.LoadJSON(f, false); err != nil {
		t.Fatalf("load the fixture: %v", err)
	}
	big := &terminology.CodeSystem{ResourceType: "CodeSystem", URL: bigSys, Status: "active", Content: "complete",
		Concept: []terminology.Concept{{Code: "BIG"}}}
	for _, half := range []string{"HALF-A", "HALF-B"} {
		c := terminology.Concept{Code: half}
		for i := range 5000 {
			c.Concept = append(c.Concept, terminology.Concept{Code: fmt.Sprintf("%s-%d", half, i)})
		}
		big.Concept[0].Concept = append(big.Concept[0].Concept, c)
	}
	svc.AddCodeSystem(big)
	return svc
}

// withTerms makes the engine resolve the modifiers through svc.
func withTerms(svc *terminology.Service) func(*engine.Options) {
	return func(o *engine.Options) { o.Terminology = server.SearchTerminology{Service: svc} }
}

// conditionJSON is a Condition of subject with the codings ("system|code"
// each), or with a text only for "text:...", or without code.
func conditionJSON(id, subject string, codings ...string) map[string]any {
	c := map[string]any{"resourceType": "Condition", "id": id, "subject": map[string]any{"reference": "Patient/" + subject}}
	if len(codings) == 1 && strings.HasPrefix(codings[0], "text:") {
		c["code"] = map[string]any{"text": strings.TrimPrefix(codings[0], "text:")}
	} else if len(codings) > 0 {
		c["code"] = map[string]any{"coding": codingsJSON(codings)}
	}
	return c
}

func codingsJSON(codings []string) []any {
	var out []any
	for _, sc := range codings {
		s, code, _ := strings.Cut(sc, "|")
		out = append(out, map[string]any{"system": s, "code": code})
	}
	return out
}

// termFixture stores the patients p1, p2, p3 and the Conditions,
// Observations and DiagnosticReports the tests search.
func termFixture(t *testing.T, ts *testServer) {
	t.Helper()
	put := func(typ, id string, body any) {
		t.Helper()
		r := ts.do(http.MethodPut, "/fhir/"+typ+"/"+id, body)
		wantStatus(t, r, http.StatusCreated)
	}
	for _, p := range []string{"p1", "p2", "p3"} {
		put("Patient", p, patientJSON(p, "Family-"+p))
	}
	for _, c := range []struct {
		id, subject string
		codings     []string
	}{
		{"c-epi", "p1", []string{disorders + "|EPI"}},
		{"c-focal", "p2", []string{disorders + "|EPI-FOCAL"}},
		{"c-neuromusc", "p2", []string{disorders + "|NEUROMUSC"}},
		{"c-dmd", "p3", []string{disorders + "|DMD"}},
		{"c-muscle", "p3", []string{disorders + "|MUSCLE"}},
		{"c-myo", "p3", []string{disorders + "|MYOPATHY"}},
		{"c-other", "p1", []string{otherSys + "|EPI"}}, // the same code in another system
		{"c-text", "p1", []string{"text:an undiagnosed disorder"}},
		{"c-none", "p1", nil},
	} {
		put("Condition", c.id, conditionJSON(c.id, c.subject, c.codings...))
	}
	for _, o := range []struct{ id, subject, code string }{
		{"o-seizure", "p1", "P-SEIZURE"},
		{"o-focal", "p2", "P-FOCAL-SEIZURE"},
		{"o-weak", "p3", "P-WEAKNESS"},
	} {
		put("Observation", o.id, map[string]any{"resourceType": "Observation", "id": o.id, "status": "final",
			"code": map[string]any{"coding": codingsJSON([]string{phenotypes + "|" + o.code})}, "subject": map[string]any{"reference": "Patient/" + o.subject}})
	}
	for _, d := range []struct{ id, result string }{{"dr-focal", "o-focal"}, {"dr-weak", "o-weak"}} {
		put("DiagnosticReport", d.id, map[string]any{"resourceType": "DiagnosticReport", "id": d.id, "status": "final",
			"code": map[string]any{"text": "phenotyping"}, "result": []any{map[string]any{"reference": "Observation/" + d.result}}})
	}
}

// query encodes name, value pairs as a query string, in order.
func query(pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		parts = append(parts, url.QueryEscape(pairs[i])+"="+url.QueryEscape(pairs[i+1]))
	}
	return strings.Join(parts, "&")
}

var allConditions = []string{"c-epi", "c-focal", "c-neuromusc", "c-dmd", "c-muscle", "c-myo", "c-other", "c-text", "c-none"}

func TestTerminologySearch(t *testing.T) {
	t.Parallel()
	ts := newTestServerWith(t, withTerms(termService(t)))
	termFixture(t, ts)
	d, p := disorders+"|", phenotypes+"|"
	for _, tc := range []struct {
		name, typ string
		params    []string
		want      []string
	}{
		{"below", "Condition", []string{"code:below", d + "NEURO"}, []string{"c-epi", "c-focal", "c-neuromusc", "c-dmd"}},
		{"below, polyhierarchy", "Condition", []string{"code:below", d + "MUSCLE"}, []string{"c-muscle", "c-dmd", "c-myo"}},
		{"below a leaf", "Condition", []string{"code:below", d + "EPI-FOCAL"}, []string{"c-focal"}},
		{"below the root", "Condition", []string{"code:below", d + "D"}, []string{"c-epi", "c-focal", "c-neuromusc", "c-dmd", "c-muscle", "c-myo"}},
		{"above, both parents", "Condition", []string{"code:above", d + "DMD"}, []string{"c-dmd", "c-neuromusc", "c-muscle"}},
		{"above", "Condition", []string{"code:above", d + "EPI-FOCAL"}, []string{"c-epi", "c-focal"}},
		{"below OR a leaf", "Condition", []string{"code:below", d + "EPI," + d + "MYOPATHY"}, []string{"c-epi", "c-focal", "c-myo"}},
		{"below AND below", "Condition", []string{"code:below", d + "NEURO", "code:below", d + "MUSCLE"}, []string{"c-dmd"}},
		{"below AND another parameter", "Condition", []string{"code:below", d + "NEURO", "subject", "Patient/p2"}, []string{"c-focal", "c-neuromusc"}},
		{"in", "Condition", []string{"code:in", vsNeuro}, []string{"c-epi", "c-focal", "c-neuromusc"}},
		{"in, the other system of the value set", "Observation", []string{"code:in", vsNeuro}, []string{"o-seizure"}},
		{"in an implicit is-a value set", "Observation", []string{"code:in", phenotypes + "?fhir_vs=isa/P-SEIZURE"}, []string{"o-seizure", "o-focal"}},
		{"in an implicit value set of a whole system", "Observation", []string{"code:in", phenotypes + "?fhir_vs"}, []string{"o-seizure", "o-focal", "o-weak"}},
		{"in version 1", "Observation", []string{"code:in", vsWeakness + "|1"}, []string{"o-weak"}},
		{"in version 2", "Observation", []string{"code:in", vsWeakness + "|2"}, []string{"o-weak", "o-focal"}},
		{"in the latest version", "Observation", []string{"code:in", vsWeakness}, []string{"o-weak", "o-focal"}},
		{"in OR in", "Observation", []string{"code:in", vsNeuro + "," + vsWeakness + "|1"}, []string{"o-seizure", "o-weak"}},
		// :not-in is :not on the value set's codes: resources with a code
		// outside it, and those without any code, match.
		{"not-in", "Condition", []string{"code:not-in", vsNeuro}, []string{"c-dmd", "c-muscle", "c-myo", "c-other", "c-text", "c-none"}},
		{"not-in OR", "Observation", []string{"code:not-in", vsNeuro + "," + vsWeakness + "|1"}, []string{"o-focal"}},
		{"in an empty value set", "Condition", []string{"code:in", vsEmpty}, nil},
		{"not-in an empty value set", "Condition", []string{"code:not-in", vsEmpty}, allConditions},
		{"not-in an empty value set AND below", "Condition", []string{"code:not-in", vsEmpty, "code:below", d + "MUSCLE"}, []string{"c-muscle", "c-dmd", "c-myo"}},
		{"chain", "DiagnosticReport", []string{"result.code:below", p + "P-SEIZURE"}, []string{"dr-focal"}},
		{"chain with a type", "DiagnosticReport", []string{"result:Observation.code:in", vsWeakness + "|1"}, []string{"dr-weak"}},
		{"chain, in an empty value set", "DiagnosticReport", []string{"result.code:in", vsEmpty}, nil},
		{"reverse chain", "Patient", []string{"_has:Condition:subject:code:in", vsNeuro}, []string{"p1", "p2"}},
		{"reverse chain below", "Patient", []string{"_has:Condition:subject:code:below", d + "MUSCLE"}, []string{"p3"}},
		{"chain of a reverse chain", "Observation", []string{"subject:Patient._has:Condition:subject:code:below", d + "MUSCLE"}, []string{"o-weak"}},
		{"5,001 codes", "Condition", []string{"code:below", bigSys + "|HALF-A"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(http.MethodGet, "/fhir/"+tc.typ+"?"+query(tc.params...)+"&_count=100", nil)
			wantStatus(t, r, http.StatusOK)
			got, want := matchIDs(r), slices.Clone(tc.want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("matches %v, want %v", got, want)
			}
		})
	}

	t.Run("POST _search", func(t *testing.T) {
		r := ts.do(http.MethodPost, "/fhir/Condition/_search", query("code:above", d+"DMD"), "Content-Type", "application/x-www-form-urlencoded")
		wantStatus(t, r, http.StatusOK)
		if got := sortedIDs(r); !slices.Equal(got, []string{"c-dmd", "c-muscle", "c-neuromusc"}) {
			t.Errorf("matches %v", got)
		}
	})

	// The pages of a search follow one another: the rewritten query is
	// the same on every page.
	t.Run("pages", func(t *testing.T) {
		r := ts.do(http.MethodGet, "/fhir/Condition?"+query("code:below", d+"D", "_count", "2", "_total", "accurate"), nil)
		wantStatus(t, r, http.StatusOK)
		if total := fmt.Sprint(r.JSON["total"]); total != "6" {
			t.Errorf("total %s, want 6", total)
		}
		var all []string
		for pages := 0; ; pages++ {
			all = append(all, matchIDs(r)...)
			next := linkOf(r, "next")
			if next == "" || pages > 5 {
				break
			}
			r = ts.do(http.MethodGet, next, nil)
			wantStatus(t, r, http.StatusOK)
		}
		slices.Sort(all)
		if want := []string{"c-dmd", "c-epi", "c-focal", "c-muscle", "c-myo", "c-neuromusc"}; !slices.Equal(all, want) {
			t.Errorf("pages hold %v, want %v", all, want)
		}
	})
}

func sortedIDs(r *response) []string {
	ids := matchIDs(r)
	slices.Sort(ids)
	return ids
}

// linkOf returns the url of a Bundle link, or "".
func linkOf(r *response, rel string) string {
	links, _ := r.JSON["link"].([]any)
	for _, l := range links {
		if str(l, "relation") == rel {
			return str(l, "url")
		}
	}
	return ""
}

// TestTerminologyConditional: conditional create, update and delete,
// and the conditional entries and search entries of Bundles, use the
// modifiers as searches do.
func TestTerminologyConditional(t *testing.T) {
	t.Parallel()
	ts := newTestServerWith(t, withTerms(termService(t)))
	termFixture(t, ts)
	d := disorders + "|"
	newCondition := conditionJSON("", "p1", d+"DMD")
	delete(newCondition, "id")

	// Two matches: 412.
	r := ts.do(http.MethodPost, "/fhir/Condition", newCondition, "If-None-Exist", query("code:below", d+"EPI"))
	wantStatus(t, r, http.StatusPreconditionFailed)
	// One match: the existing resource.
	r = ts.do(http.MethodPost, "/fhir/Condition", newCondition, "If-None-Exist", query("code:below", d+"MYOPATHY"))
	wantStatus(t, r, http.StatusOK)
	if id := str(r.JSON, "id"); id != "c-myo" {
		t.Errorf("If-None-Exist matched %s, want c-myo", id)
	}
	// No match: created; again: that one.
	crit := query("code:below", d+"MUSCLE", "subject", "Patient/p1")
	r = ts.do(http.MethodPost, "/fhir/Condition", newCondition, "If-None-Exist", crit)
	wantStatus(t, r, http.StatusCreated)
	created := str(r.JSON, "id")
	r = ts.do(http.MethodPost, "/fhir/Condition", newCondition, "If-None-Exist", crit)
	wantStatus(t, r, http.StatusOK)
	if id := str(r.JSON, "id"); id != created {
		t.Errorf("If-None-Exist matched %s, want %s", id, created)
	}
	// An unknown code is refused, not ignored.
	r = ts.do(http.MethodPost, "/fhir/Condition", newCondition, "If-None-Exist", query("code:below", d+"NOPE"))
	wantStatus(t, r, http.StatusBadRequest)
	wantExpressions(t, r, []string{"code:below"})

	// Conditional update: c-focal is the only one of p2 at or below EPI.
	update := conditionJSON("c-focal", "p2", d+"EPI-FOCAL")
	update["note"] = []any{map[string]any{"text": "updated"}}
	r = ts.do(http.MethodPut, "/fhir/Condition?"+query("code:above", d+"EPI-FOCAL", "subject", "Patient/p2"), update)
	wantStatus(t, r, http.StatusOK)
	checkVersion(t, r, "Condition", "c-focal", "2")

	// Conditional delete.
	r = ts.do(http.MethodDelete, "/fhir/Condition?"+query("code:in", vsNeuro, "subject", "Patient/p1"), nil)
	if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
		t.Fatalf("conditional delete: status %d: %s", r.Status, r.Body)
	}
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Condition/c-epi", nil), http.StatusGone)

	// A batch with a search entry.
	r = ts.do(http.MethodPost, "/fhir", txBundle("batch",
		entry(http.MethodGet, "Condition?"+query("code:below", d+"NEUROMUSC"), nil, ""),
		entry(http.MethodGet, "Condition?"+query("code:below", "NEUROMUSC"), nil, "")))
	wantStatus(t, r, http.StatusOK)
	got := responses(t, r, "batch-response", 2)
	if status := str(got[0], "response", "status"); !strings.HasPrefix(status, "200") {
		t.Errorf("search entry: status %q", status)
	}
	if total := fmt.Sprint(get(got[0], "resource", "total")); total != "3" {
		t.Errorf("search entry: total %s, want 3 (c-neuromusc, c-dmd and the one created above)", total)
	}
	if status := str(got[1], "response", "status"); !strings.HasPrefix(status, "400") {
		t.Errorf("search entry without a system: status %q, want 400", status)
	}

	// A transaction: a conditional create that matches, and a
	// conditional reference resolved through a reverse chain.
	obs := map[string]any{"resourceType": "Observation", "status": "final", "code": map[string]any{"text": "note"},
		"subject": map[string]any{"reference": "Patient?" + query("_has:Condition:subject:code:below", d+"EPI-FOCAL")}}
	r = ts.do(http.MethodPost, "/fhir", txBundle("transaction",
		entry(http.MethodPost, "Condition", newCondition, "urn:uuid:6f0e8a52-2d5c-4b8e-9d61-2c1f0b1e7a10", "ifNoneExist", query("code:below", d+"MYOPATHY")),
		entry(http.MethodPost, "Observation", obs, "urn:uuid:0b7d5b52-7b8e-4f55-a1d2-5b0f4ad9c3e1")))
	wantStatus(t, r, http.StatusOK)
	got = responses(t, r, "transaction-response", 2)
	if status, full := str(got[0], "response", "status"), str(got[0], "fullUrl"); !strings.HasPrefix(status, "200") || !strings.HasSuffix(full, "/Condition/c-myo") {
		t.Errorf("conditional create entry: %s %s, want 200 for c-myo", status, full)
	}
	created = refID(str(got[1], "response", "location"))
	r = ts.do(http.MethodGet, "/fhir/Observation/"+created, nil)
	wantStatus(t, r, http.StatusOK)
	if ref := str(r.JSON, "subject", "reference"); ref != "Patient/p2" {
		t.Errorf("conditional reference resolved to %q, want Patient/p2", ref)
	}
}

// TestTerminologySearchErrors: a search the terminology cannot answer is
// refused with an OperationOutcome naming the parameter as written.
func TestTerminologySearchErrors(t *testing.T) {
	t.Parallel()
	ts := newTestServerWith(t, withTerms(termService(t)))
	d := disorders + "|"
	for _, tc := range []struct {
		name, typ string
		params    []string
		code      fhir.IssueType
		expr      string
	}{
		{"below without a system", "Condition", []string{"code:below", "NEURO"}, fhir.IssueValue, "code:below"},
		{"above without a system", "Condition", []string{"code:above", "|NEURO"}, fhir.IssueValue, "code:above"},
		{"below without a code", "Condition", []string{"code:below", disorders + "|"}, fhir.IssueValue, "code:below"},
		{"unknown code", "Condition", []string{"code:below", d + "NOPE"}, fhir.IssueCodeInvalid, "code:below"},
		{"unknown system", "Condition", []string{"code:above", "http://example.org/unknown|X"}, fhir.IssueNotFound, "code:above"},
		{"unknown value set", "Condition", []string{"code:in", "http://example.org/fhir/ValueSet/nope"}, fhir.IssueNotFound, "code:in"},
		{"unknown value set version", "Observation", []string{"code:in", vsWeakness + "|9"}, fhir.IssueNotFound, "code:in"},
		{"implicit value set of an unknown system", "Condition", []string{"code:not-in", "http://example.org/unknown?fhir_vs"}, fhir.IssueNotFound, "code:not-in"},
		{"implicit value set of an unknown code", "Condition", []string{"code:in", disorders + "?fhir_vs=isa/NOPE"}, fhir.IssueCodeInvalid, "code:in"},
		{"in a reverse chain", "Patient", []string{"_has:Condition:subject:code:below", "NEURO"}, fhir.IssueValue, "_has:Condition:subject:code:below"},
		{"in a chain", "DiagnosticReport", []string{"result.code:in", "http://example.org/fhir/ValueSet/nope"}, fhir.IssueNotFound, "result.code:in"},
		{"too many codes below", "Condition", []string{"code:below", bigSys + "|BIG"}, fhir.IssueTooCostly, "code:below"},
		{"too many codes in a value set", "Condition", []string{"code:in", bigSys + "?fhir_vs"}, fhir.IssueTooCostly, "code:in"},
		{"too many codes in an OR", "Condition", []string{"code:below", bigSys + "|HALF-A," + bigSys + "|HALF-B"}, fhir.IssueTooCostly, "code:below"},
		{"too many codes in all", "Condition", []string{"code:below", bigSys + "|HALF-A", "code:not-in", bigSys + "?fhir_vs=isa/HALF-B"}, fhir.IssueTooCostly, "code:not-in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/fhir/" + tc.typ + "?" + query(tc.params...)
			r := ts.do(http.MethodGet, path, nil)
			wantStatus(t, r, http.StatusBadRequest)
			issues := issuesOf(r)
			if len(issues) != 1 {
				t.Fatalf("%d issues, want 1: %s", len(issues), r.Body)
			}
			if code := str(issues[0], "code"); code != string(tc.code) {
				t.Errorf("issue code %q, want %q: %s", code, tc.code, r.Body)
			}
			if exprs := expressions(t, r); !slices.Equal(exprs, []string{tc.expr}) {
				t.Errorf("expressions %q, want %q", exprs, tc.expr)
			}
			t.Logf("%s: %s", path, str(issues[0], "diagnostics"))
		})
	}

	// Without a terminology service the modifiers are not implemented.
	plain := newTestServer(t)
	r := plain.do(http.MethodGet, "/fhir/Condition?"+query("code:below", d+"NEURO"), nil)
	wantStatus(t, r, http.StatusNotImplemented)
}

// TestTerminologySearchStoredValueSet: a ValueSet written through the API
// is searchable at once, follows its updates and is gone once deleted,
// with the terminology service following the store as "cpms serve" does.
func TestTerminologySearchStoredValueSet(t *testing.T) {
	t.Parallel()
	svc := termService(t)
	ts := newTestServerWith(t, func(o *engine.Options) {
		withTerms(svc)(o)
		o.ObserveTypes = terminology.ResourceTypes
		o.Observe = func(_ context.Context, r *fhir.Resource) {
			if r.Deleted {
				svc.Deleted(r.Type, r.ID)
			} else if err := svc.Stored(r.Type, r.ID, r.Body); err != nil {
				t.Errorf("stored %s: %v", r.Ref(), err)
			}
		}
	})
	termFixture(t, ts)
	const vs = "http://example.org/fhir/ValueSet/muscle"
	valueSet := func(codes ...string) map[string]any {
		var concepts []any
		for _, c := range codes {
			concepts = append(concepts, map[string]any{"code": c})
		}
		return map[string]any{"resourceType": "ValueSet", "id": "muscle", "url": vs, "status": "active",
			"compose": map[string]any{"include": []any{map[string]any{"system": disorders, "concept": concepts}}}}
	}
	search := func() *response {
		return ts.do(http.MethodGet, "/fhir/Condition?"+query("code:in", vs), nil)
	}
	wantStatus(t, ts.do(http.MethodPut, "/fhir/ValueSet/muscle", valueSet("MUSCLE", "MYOPATHY")), http.StatusCreated)
	r := search()
	wantStatus(t, r, http.StatusOK)
	if got := sortedIDs(r); !slices.Equal(got, []string{"c-muscle", "c-myo"}) {
		t.Errorf("matches %v, want c-muscle, c-myo", got)
	}
	wantStatus(t, ts.do(http.MethodPut, "/fhir/ValueSet/muscle", valueSet("DMD")), http.StatusOK)
	r = search()
	wantStatus(t, r, http.StatusOK)
	if got := sortedIDs(r); !slices.Equal(got, []string{"c-dmd"}) {
		t.Errorf("after the update: matches %v, want c-dmd", got)
	}
	r = ts.do(http.MethodDelete, "/fhir/ValueSet/muscle", nil)
	if r.Status >= 300 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	wantStatus(t, search(), http.StatusBadRequest)
}

// TestTerminologySearchSeed searches the CPMS terminologies of the seed
// (Orphanet, HPO), as a fresh server has them.
func TestTerminologySearchSeed(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("loads the terminology seed")
	}
	svc := terminology.New()
	if err := terminology.LoadSeed(svc); err != nil {
		t.Fatal(err)
	}
	ts := newTestServerWith(t, withTerms(svc))
	const orpha, hpo = "https://www.orpha.net", "http://human-phenotype-ontology.org"
	for _, p := range []string{"p1", "p2"} {
		wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/"+p, patientJSON(p, "Family-"+p)), http.StatusCreated)
	}
	// ORPHA:1000 is below ORPHA:68367 (rare neurological disease);
	// ORPHA:558 (Marfan syndrome) is not.
	for id, code := range map[string]string{"marfan": "ORPHA:558", "orpha-1000": "ORPHA:1000"} {
		wantStatus(t, ts.do(http.MethodPut, "/fhir/Condition/"+id, conditionJSON(id, "p1", orpha+"|"+code)), http.StatusCreated)
	}
	// HP:0007359 (focal-onset seizure) is below HP:0001250 (seizure).
	for id, code := range map[string]string{"focal-seizure": "HP:0007359", "seizure": "HP:0001250", "hypotonia": "HP:0001252"} {
		wantStatus(t, ts.do(http.MethodPut, "/fhir/Observation/"+id, map[string]any{"resourceType": "Observation", "id": id, "status": "final",
			"code": map[string]any{"coding": codingsJSON([]string{hpo + "|" + code})}, "subject": map[string]any{"reference": "Patient/p2"}}), http.StatusCreated)
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"Condition?" + query("code:below", orpha+"|ORPHA:68367"), []string{"orpha-1000"}},
		{"Condition?" + query("code:above", orpha+"|ORPHA:558"), []string{"marfan"}},
		{"Observation?" + query("code:below", hpo+"|HP:0001250"), []string{"focal-seizure", "seizure"}},
		{"Observation?" + query("code:above", hpo+"|HP:0007359"), []string{"focal-seizure", "seizure"}},
		{"Observation?" + query("code:in", hpo+"?fhir_vs=isa/HP:0001250"), []string{"focal-seizure", "seizure"}},
		{"Patient?" + query("_has:Observation:subject:code:below", hpo+"|HP:0001250"), []string{"p2"}},
	} {
		r := ts.do(http.MethodGet, "/fhir/"+tc.path, nil)
		wantStatus(t, r, http.StatusOK)
		if got := sortedIDs(r); !slices.Equal(got, tc.want) {
			t.Errorf("%s: matches %v, want %v", tc.path, got, tc.want)
		}
	}
	// Phenotypic abnormality has some 18,000 codes below it.
	r := ts.do(http.MethodGet, "/fhir/Observation?"+query("code:below", hpo+"|HP:0000118"), nil)
	wantStatus(t, r, http.StatusBadRequest)
	if code := str(issuesOf(r)[0], "code"); code != string(fhir.IssueTooCostly) {
		t.Errorf("issue code %q, want too-costly", code)
	}
}
