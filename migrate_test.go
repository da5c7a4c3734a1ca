package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/cpms-fhir/cpms/internal/ferret"
)

// TestMigrate fills the embedded store through the server (creates,
// updates, a deletion, references), copies it into MongoDB (FerretDB)
// with "cpms migrate", and checks that a server on MongoDB answers reads,
// vreads, history and searches as the embedded store did; a second
// migration changes nothing.
func TestMigrate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers and a FerretDB")
	}
	data := t.TempDir()
	do, _, stop := startServeOn(t, storeFlags{data: data})
	mustDo := func(do func(string, string, string) (int, map[string]any), method, path, body string, want int) map[string]any {
		t.Helper()
		status, out := do(method, path, body)
		if status != want {
			t.Fatalf("%s %s: %d, want %d: %v", method, path, status, want, out)
		}
		return out
	}
	mustDo(do, http.MethodPut, "Patient/a", `{"resourceType":"Patient","id":"a","name":[{"family":"Migrated"}]}`, http.StatusCreated)
	mustDo(do, http.MethodPut, "Patient/a", `{"resourceType":"Patient","id":"a","name":[{"family":"Migrated","given":["Ann"]}]}`, http.StatusOK)
	mustDo(do, http.MethodDelete, "Patient/a", "", http.StatusNoContent)
	mustDo(do, http.MethodPut, "Patient/b", `{"resourceType":"Patient","id":"b","identifier":[{"system":"urn:mig","value":"b"}],"birthDate":"1990-05-01"}`, http.StatusCreated)
	for i := range 5 {
		mustDo(do, http.MethodPost, "Observation", fmt.Sprintf(`{"resourceType":"Observation","status":"final",
			"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/b"},
			"effectiveDateTime":"2024-01-0%dT10:00:00Z","valueQuantity":{"value":%d,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`, i+1, 60+i), http.StatusCreated)
	}
	queries := []string{
		"Patient/b", "Patient/a/_history/2", "Patient/a/_history", "Observation/_history?_count=100",
		"Patient?identifier=urn:mig|b", "Observation?subject=Patient/b&_sort=date", "Observation?value-quantity=gt62&_sort=-date",
		"Observation?date=ge2024-01-03&subject:Patient.birthdate=1990", "Patient?_has:Observation:subject:code=8867-4",
	}
	before := map[string]any{}
	for _, q := range queries {
		sum := summary(mustDo(do, http.MethodGet, q, "", http.StatusOK))
		if len(sum) < 2 {
			t.Fatalf("%s finds nothing on the embedded store: the comparison would mean nothing", q)
		}
		before[q] = sum
	}
	mustDo(do, http.MethodGet, "Patient/a", "", http.StatusGone)
	stop()

	f := ferret.Start(t)
	uri := f.URI() + "cpms"
	for range 2 {
		if err := runMigrate(context.Background(), discardLogger(), data, uri, "", io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	do, _, stop = startServeOn(t, storeFlags{mongoURI: uri})
	defer stop()
	for _, q := range queries {
		got := summary(mustDo(do, http.MethodGet, q, "", http.StatusOK))
		if fmt.Sprint(got) != fmt.Sprint(before[q]) {
			t.Errorf("%s on MongoDB:\n%v\nwant, as on the embedded store:\n%v", q, got, before[q])
		}
	}
	mustDo(do, http.MethodGet, "Patient/a", "", http.StatusGone)
	// The migrated store takes writes: a new version of a migrated resource.
	mustDo(do, http.MethodPut, "Patient/b", `{"resourceType":"Patient","id":"b","identifier":[{"system":"urn:mig","value":"b"}],"birthDate":"1990-05-02"}`, http.StatusOK)
	if out := mustDo(do, http.MethodGet, "Patient/b", "", http.StatusOK); out["meta"].(map[string]any)["versionId"] != "2" {
		t.Errorf("the update after the migration is version %v, want 2", out["meta"])
	}
}

// summary reduces a resource or Bundle to what a migration must keep:
// for a Bundle, its total and each entry's type, id, versionId and
// lastUpdated, in order; for a resource, the same of itself and its body
// without meta.
func summary(out map[string]any) []string {
	one := func(r map[string]any) string {
		meta, _ := r["meta"].(map[string]any)
		return fmt.Sprint(r["resourceType"], "/", r["id"], "/", meta["versionId"], "@", meta["lastUpdated"])
	}
	if out["resourceType"] != "Bundle" {
		body := map[string]any{}
		for k, v := range out {
			if k != "meta" {
				body[k] = v
			}
		}
		return []string{one(out), fmt.Sprint(body)}
	}
	lines := []string{fmt.Sprint("total ", out["total"])}
	es, _ := out["entry"].([]any)
	for _, e := range es {
		em := e.(map[string]any)
		r, _ := em["resource"].(map[string]any)
		req, _ := em["request"].(map[string]any)
		if r == nil {
			lines = append(lines, fmt.Sprint("deleted ", req["url"]))
			continue
		}
		lines = append(lines, one(r))
	}
	return slices.Clip(lines)
}
