package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/internal/ferret"
)

// TestMongoTwoServers runs two servers on one MongoDB database (FerretDB):
// what one writes the other reads, conditional creates racing through
// both create one resource, and a paging link of one is followed on the
// other.
func TestMongoTwoServers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers and a FerretDB")
	}
	f := ferret.Start(t)
	uri := f.URI() + "cpms"
	do1, base1, stop1 := startServeOn(t, storeFlags{mongoURI: uri})
	defer stop1()
	do2, base2, stop2 := startServeOn(t, storeFlags{mongoURI: uri})
	defer stop2()

	status, created := do1(http.MethodPost, "Patient", `{"resourceType":"Patient","name":[{"family":"Twoservers"}]}`)
	if status != http.StatusCreated {
		t.Fatalf("create through the first server: %d %v", status, created)
	}
	id, _ := created["id"].(string)
	if status, got := do2(http.MethodGet, "Patient/"+id, ""); status != http.StatusOK || got["id"] != id {
		t.Fatalf("read through the second server: %d %v", status, got)
	}

	// Conditional creates racing through both servers: one resource.
	const racers = 8
	var wg sync.WaitGroup
	statuses := make([]int, racers)
	for i := range racers {
		wg.Go(func() {
			base := base1
			if i%2 == 1 {
				base = base2
			}
			req, _ := http.NewRequest(http.MethodPost, base+"Patient",
				strings.NewReader(`{"resourceType":"Patient","identifier":[{"system":"urn:race","value":"1"}]}`))
			req.Header.Set("Content-Type", "application/fhir+json")
			req.Header.Set("If-None-Exist", "identifier=urn:race|1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	createdCount := 0
	for i, s := range statuses {
		switch s {
		case http.StatusCreated:
			createdCount++
		case http.StatusOK:
		default:
			t.Errorf("racer %d: status %d", i, s)
		}
	}
	if createdCount != 1 {
		t.Errorf("%d conditional creates created a resource, want 1 (%v)", createdCount, statuses)
	}
	for _, do := range []func(string, string, string) (int, map[string]any){do1, do2} {
		if status, got := do(http.MethodGet, "Patient?identifier=urn:race|1&_total=accurate", ""); status != http.StatusOK || got["total"] != float64(1) {
			t.Errorf("search for the raced identifier: %d, total %v, want 1", status, got["total"])
		}
	}

	// Paging: the next link of the first server, followed on the second.
	for i := range 5 {
		if status, out := do1(http.MethodPost, "Patient", fmt.Sprintf(`{"resourceType":"Patient","name":[{"family":"Paging%d"}]}`, i)); status != http.StatusCreated {
			t.Fatalf("create: %d %v", status, out)
		}
	}
	_, page := do1(http.MethodGet, "Patient?name=Paging&_count=2&_sort=family", "")
	seen := map[string]bool{}
	for pages := 0; ; pages++ {
		for _, e := range entries(page) {
			seen[e] = true
		}
		next := link(page, "next")
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("the pages do not end")
		}
		// The link names the first server: follow it on the second.
		next = strings.Replace(next, strings.TrimSuffix(base1, "/"), strings.TrimSuffix(base2, "/"), 1)
		resp, err := http.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		page = nil
		json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("next page on the second server: %d %v", resp.StatusCode, page)
		}
	}
	if len(seen) != 5 {
		t.Errorf("paging across the servers found %d Patients, want 5", len(seen))
	}
}

// TestMongoUnavailable stops the database under a running server: requests
// fail with 503 and an OperationOutcome, and succeed again once it is
// back.
func TestMongoUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and a FerretDB")
	}
	f := ferret.Start(t)
	do, _, stop := startServeOn(t, storeFlags{mongoURI: f.URI() + "cpms"})
	defer stop()
	status, created := do(http.MethodPost, "Patient", `{"resourceType":"Patient"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, created)
	}
	id := created["id"].(string)
	f.Stop()
	status, out := do(http.MethodGet, "Patient/"+id, "")
	if status != http.StatusServiceUnavailable || out["resourceType"] != "OperationOutcome" {
		t.Fatalf("read with the database stopped: %d %v, want 503 and an OperationOutcome", status, out)
	}
	if err := f.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, out = do(http.MethodGet, "Patient/"+id, "")
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("read after the database came back: %d %v", status, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// entries returns the ids of a Bundle's entries.
func entries(b map[string]any) []string {
	var out []string
	es, _ := b["entry"].([]any)
	for _, e := range es {
		r, _ := e.(map[string]any)["resource"].(map[string]any)
		id, _ := r["id"].(string)
		out = append(out, id)
	}
	return out
}

// link returns the URL of a Bundle's link with relation rel, "" if none.
func link(b map[string]any, rel string) string {
	ls, _ := b["link"].([]any)
	for _, l := range ls {
		m, _ := l.(map[string]any)
		if m["relation"] == rel {
			u, _ := m["url"].(string)
			return u
		}
	}
	return ""
}
