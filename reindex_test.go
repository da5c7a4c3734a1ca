package main

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// TestReindexCommand defines a search parameter while the background
// reindexer is not running (as when the server stops right after), then
// runs "cpms reindex" and checks that the parameter is searchable.
func TestReindexCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	eng, closeStore := openEngine(t, dir, discardLogger())
	for _, r := range []struct{ id, body string }{
		{"p1", `{"resourceType":"Patient","id":"p1","extension":[{"url":"http://example.org/nickname","valueString":"Jules"}]}`},
		{"sp", `{"resourceType":"SearchParameter","id":"sp","url":"http://example.org/sp/nickname","name":"Nickname","status":"active","description":"x","code":"nickname","base":["Patient"],"type":"string","expression":"Patient.extension('http://example.org/nickname').value"}`},
	} {
		typ := "Patient"
		if r.id == "sp" {
			typ = "SearchParameter"
		}
		if _, err := eng.Update(ctx, fhir.ResourceType(typ), fhir.ID(r.id), []byte(r.body), 0); err != nil {
			t.Fatal(err)
		}
	}
	closeStore()

	var out, errOut bytes.Buffer
	if code := reindex([]string{"--data", dir, "--type", "Patient"}, &out, &errOut); code != 0 {
		t.Fatalf("cpms reindex: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "reindexed 1 resources") {
		t.Errorf("output %q", out.String())
	}

	eng, closeStore = openEngine(t, dir, discardLogger())
	defer closeStore()
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	v, _ := url.ParseQuery("nickname=jul")
	page, err := eng.Search(ctx, engine.SearchRequest{Type: "Patient", Params: v, Strict: true})
	if err != nil {
		t.Fatalf("search after the reindex: %v", err)
	}
	if len(page.Matches) != 1 {
		t.Errorf("%d matches, want p1", len(page.Matches))
	}
	if code := reindex([]string{"--data", dir, "--type", "Nonsense"}, &out, &errOut); code != 2 {
		t.Errorf("unknown type: exit %d", code)
	}
}
