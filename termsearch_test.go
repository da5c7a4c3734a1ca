package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestServeTerminologySearch: "cpms serve" answers the token modifiers
// :below, :above, :in and :not-in through its terminology service, seed
// and stored ValueSets alike.
func TestServeTerminologySearch(t *testing.T) {
	do, stop := startServe(t)
	defer stop()
	for path, body := range map[string]string{
		"Patient/p1": `{"resourceType":"Patient","id":"p1"}`,
		// ORPHA:1000 is below ORPHA:68367 (rare neurological disease).
		"Condition/c1": `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},
			"code":{"coding":[{"system":"https://www.orpha.net","code":"ORPHA:1000"}]}}`,
		"ValueSet/vs1": `{"resourceType":"ValueSet","id":"vs1","url":"http://example.org/fhir/ValueSet/vs1","status":"active",
			"compose":{"include":[{"system":"https://www.orpha.net","concept":[{"code":"ORPHA:1000"}]}]}}`,
	} {
		if status, out := do(http.MethodPut, path, body); status != http.StatusCreated {
			t.Fatalf("PUT %s: %d %v", path, status, out)
		}
	}
	for _, tc := range []struct {
		query   string
		status  int
		matches int
	}{
		{"code:below=https://www.orpha.net|ORPHA:68367", http.StatusOK, 1},
		{"code:above=https://www.orpha.net|ORPHA:68367", http.StatusOK, 0},
		{"code:in=http://example.org/fhir/ValueSet/vs1", http.StatusOK, 1},
		{"code:not-in=http://example.org/fhir/ValueSet/vs1", http.StatusOK, 0},
		{"code:below=ORPHA:68367", http.StatusBadRequest, 0},
	} {
		k, v, _ := strings.Cut(tc.query, "=")
		status, out := do(http.MethodGet, "Condition?"+url.QueryEscape(k)+"="+url.QueryEscape(v), "")
		if status != tc.status {
			t.Errorf("%s: status %d, want %d: %v", tc.query, status, tc.status, out)
			continue
		}
		if entries, _ := out["entry"].([]any); status == http.StatusOK && len(entries) != tc.matches {
			t.Errorf("%s: %d matches, want %d", tc.query, len(entries), tc.matches)
		}
	}
}

// startServe runs "cpms serve" in-process on an empty data directory and
// returns a function sending a request to its FHIR base (a path relative
// to it) and decoding the JSON answer, and one stopping the server.
func startServe(t *testing.T) (do func(method, path, body string) (int, map[string]any), stop func()) {
	t.Helper()
	do, _, stop = startServeOn(t, storeFlags{data: t.TempDir()})
	return do, stop
}

// startServeOn is startServe on the store sf chooses; it also returns the
// server's FHIR base URL (ending in a slash).
func startServeOn(t *testing.T, sf storeFlags) (do func(method, path, body string) (int, map[string]any), base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- runServer(ctx, &serveConfig{addr: "127.0.0.1:0", store: sf, shutdownWait: time.Second}, discardLogger(), ready)
	}()
	select {
	case addr := <-ready:
		base = "http://" + addr + "/fhir/"
	case err := <-errc:
		cancel()
		t.Fatal(err)
	}
	do = func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/fhir+json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	return do, base, func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}
