package server

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestBundleEncode: the Bundle written with its resources copied in is the
// JSON encoding/json would write, whatever the resources' layout.
func TestBundleEncode(t *testing.T) {
	total := 2
	b := &bundle{ResourceType: "Bundle", ID: "b1", Type: "searchset", Total: &total,
		Link: []bundleLink{{"self", "http://x/fhir/Patient?a=1&b=<2>"}},
		Entry: []bundleEntry{
			{FullURL: "http://x/fhir/Patient/p1", Resource: json.RawMessage("{\n  \"resourceType\": \"Patient\",\n  \"id\": \"p1\",\n  \"text\": {\"div\": \"<div>é</div>\"}\n}"),
				Search: &entrySearch{Mode: "match"}},
			{Resource: json.RawMessage(`{"resourceType":"OperationOutcome"}`), Search: &entrySearch{Mode: "outcome"}},
			{FullURL: "http://x/fhir/Patient/p2", Request: &entryRequest{Method: "DELETE", URL: "Patient/p2"},
				Response: &entryResponse{Status: "200 OK"}},
			{},
		}}
	for _, c := range []struct {
		name string
		b    *bundle
	}{{"with entries", b}, {"without entries", &bundle{ResourceType: "Bundle", Type: "history"}}} {
		got, err := c.b.encode()
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(got) {
			t.Fatalf("%s: not JSON: %s", c.name, got)
		}
		want, err := json.Marshal(c.b)
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		json.Unmarshal(got, &g)
		json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, want)
		}
	}
}
