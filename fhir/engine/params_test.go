package engine_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

const maidenName = `{"resourceType":"SearchParameter","id":"mothers-maiden-name","url":"http://example.org/SearchParameter/mothers-maiden-name",` +
	`"name":"MothersMaidenName","status":"active","description":"The mother's maiden name","code":"mothers-maiden-name","base":["Patient"],"type":"string",` +
	`"expression":"Patient.extension('http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName').value"}`

func patientWithMaidenName(id, name string) []byte {
	return []byte(`{"resourceType":"Patient","id":"` + id + `","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName","valueString":"` + name + `"}]}`)
}

func searchIDs(t *testing.T, e *engine.Engine, typ fhir.ResourceType, query string) ([]fhir.ID, error) {
	t.Helper()
	v, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	page, err := e.Search(context.Background(), engine.SearchRequest{Type: typ, Params: v, Strict: true})
	if err != nil {
		return nil, err
	}
	var ids []fhir.ID
	for _, r := range page.Matches {
		ids = append(ids, r.ID)
	}
	return ids, nil
}

// TestCustomSearchParameter defines a parameter by storing a
// SearchParameter: resources stored before are backfilled by the
// background reindexer, and until then searches on it are refused rather
// than answered with partial results.
func TestCustomSearchParameter(t *testing.T) {
	e := newEngine(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := e.Update(ctx, "Patient", "before", patientWithMaidenName("before", "Delatorre"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := searchIDs(t, e, "Patient", "mothers-maiden-name=dela"); err == nil {
		t.Fatal("an unknown parameter was used")
	}
	// Defined without the background reindexer running: pending.
	if _, err := e.Update(ctx, "SearchParameter", "mothers-maiden-name", []byte(maidenName), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Update(ctx, "Patient", "after", patientWithMaidenName("after", "Delacroix"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := searchIDs(t, e, "Patient", "mothers-maiden-name=dela"); !fhir.IsKind(err, fhir.KindConflict) {
		t.Fatalf("search on a parameter still being backfilled: %v, want a conflict", err)
	}
	// The reindexer backfills it.
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ids, err := searchIDs(t, e, "Patient", "mothers-maiden-name=dela")
		if err == nil {
			if len(ids) != 2 {
				t.Fatalf("after the backfill: %v, want both patients", ids)
			}
			break
		}
		if !fhir.IsKind(err, fhir.KindConflict) || time.Now().After(deadline) {
			t.Fatalf("the backfill did not finish: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Retiring the parameter removes it.
	retired := []byte(`{"resourceType":"SearchParameter","id":"mothers-maiden-name","url":"http://example.org/SearchParameter/mothers-maiden-name",` +
		`"name":"MothersMaidenName","status":"retired","description":"x","code":"mothers-maiden-name","base":["Patient"],"type":"string",` +
		`"expression":"Patient.extension('http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName').value"}`)
	if _, err := e.Update(ctx, "SearchParameter", "mothers-maiden-name", retired, 0); err != nil {
		t.Fatal(err)
	}
	v, _ := url.ParseQuery("mothers-maiden-name=dela")
	page, err := e.Search(ctx, engine.SearchRequest{Type: "Patient", Params: v, Strict: true})
	if err == nil {
		t.Fatalf("a retired parameter is still searched: %d matches", len(page.Matches))
	}
}

// TestCustomSearchParameterOverNothingStored checks that a parameter over
// types of which nothing is stored is searchable at once, with no
// reindexer running: there is nothing to backfill.
func TestCustomSearchParameterOverNothingStored(t *testing.T) {
	e := newEngine(t, nil)
	ctx := context.Background()
	// An Observation stored: not of the parameter's type.
	if _, err := e.Create(ctx, "Observation", []byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"}}`), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Update(ctx, "SearchParameter", "mothers-maiden-name", []byte(maidenName), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Update(ctx, "Patient", "after", patientWithMaidenName("after", "Delacroix"), 0); err != nil {
		t.Fatal(err)
	}
	ids, err := searchIDs(t, e, "Patient", "mothers-maiden-name=dela")
	if err != nil || len(ids) != 1 || ids[0] != "after" {
		t.Fatalf("search on a parameter defined before any Patient: %v, %v", ids, err)
	}
}

// TestSearchParameterRefused checks that an active SearchParameter that
// could not be indexed is refused on write.
func TestSearchParameterRefused(t *testing.T) {
	e := newEngine(t, nil)
	ctx := context.Background()
	for name, body := range map[string]string{
		"bad expression": `{"resourceType":"SearchParameter","url":"http://example.org/sp/x","name":"X","status":"active","description":"x","code":"x","base":["Patient"],"type":"string","expression":"Patient.name.where("}`,
		"R4 code taken":  `{"resourceType":"SearchParameter","url":"http://example.org/sp/name","name":"X","status":"active","description":"x","code":"name","base":["Patient"],"type":"string","expression":"Patient.name"}`,
	} {
		if _, err := e.Create(ctx, "SearchParameter", []byte(body), ""); !fhir.IsKind(err, fhir.KindUnprocessable) {
			t.Errorf("%s: %v, want unprocessable", name, err)
		}
	}
}
