package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// concurrently sends n requests at once (released together) and returns
// the answers in the order of i.
func concurrently(t *testing.T, ts *testServer, n int, req func(i int) (method, path string, body any, headers []string)) []*response {
	t.Helper()
	out := make([]*response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		method, path, body, headers := req(i)
		wg.Go(func() {
			<-start
			r, err := ts.send(method, path, body, headers...)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			out[i] = r
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return out
}

func countStatus(rs []*response) map[int]int {
	m := map[int]int{}
	for _, r := range rs {
		m[r.Status]++
	}
	return m
}

func TestConcurrentIfMatch(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for _, n := range []int{2, 8} {
		id := fmt.Sprintf("race%d", n)
		wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/"+id, patientJSON(id, "V1")), http.StatusCreated)
		rs := concurrently(t, ts, n, func(i int) (string, string, any, []string) {
			return http.MethodPut, "/fhir/Patient/" + id, patientJSON(id, fmt.Sprintf("Writer %d", i)), []string{"If-Match", `W/"1"`}
		})
		got := countStatus(rs)
		if got[http.StatusOK] != 1 || got[http.StatusPreconditionFailed] != n-1 {
			t.Errorf("%d concurrent updates with If-Match: statuses %v, want one 200 and %d 412", n, got, n-1)
		}
		var winner string
		for _, r := range rs {
			if r.Status == http.StatusOK {
				winner = str(r.JSON, "name", 0, "family")
			}
		}
		r := ts.do(http.MethodGet, "/fhir/Patient/"+id, nil)
		checkVersion(t, r, "Patient", id, "2")
		if got := str(r.JSON, "name", 0, "family"); got != winner {
			t.Errorf("stored %q, but the 200 went to %q", got, winner)
		}
		if n := ts.historyCount("/fhir/Patient/" + id + "/_history"); n != 2 {
			t.Errorf("%d versions, want 2", n)
		}
	}
}

func TestConcurrentUpdates(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	const n = 8
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/many", patientJSON("many", "V0")), http.StatusCreated)
	rs := concurrently(t, ts, n, func(i int) (string, string, any, []string) {
		return http.MethodPut, "/fhir/Patient/many", patientJSON("many", fmt.Sprintf("Writer %d", i)), nil
	})
	etags := map[string]bool{}
	for _, r := range rs {
		if r.Status != http.StatusOK {
			t.Fatalf("update: status %d: %s", r.Status, r.Body)
		}
		etags[r.Header.Get("ETag")] = true
	}
	if len(etags) != n {
		t.Errorf("%d distinct versions for %d updates: %v", len(etags), n, etags)
	}
	checkVersion(t, ts.do(http.MethodGet, "/fhir/Patient/many", nil), "Patient", "many", fmt.Sprint(n+1))
}

func TestConcurrentConditionalCreate(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	const n = 8
	rs := concurrently(t, ts, n, func(i int) (string, string, any, []string) {
		return http.MethodPost, "/fhir/Patient", patientJSON("", fmt.Sprintf("Writer %d", i), "urn:s|once"),
			[]string{"If-None-Exist", "identifier=urn:s|once"}
	})
	got := countStatus(rs)
	if got[http.StatusCreated] != 1 || got[http.StatusOK] != n-1 {
		t.Errorf("statuses %v, want one 201 and %d 200", got, n-1)
	}
	ids := map[string]bool{}
	for _, r := range rs {
		ids[str(r.JSON, "id")] = true
	}
	if len(ids) != 1 {
		t.Errorf("answers name %d resources: %v", len(ids), ids)
	}
	if n := ts.historyCount("/fhir/Patient/_history"); n != 1 {
		t.Errorf("%d Patient versions stored, want 1", n)
	}
}

func TestConcurrentConditionalUpdate(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	const n = 8
	rs := concurrently(t, ts, n, func(i int) (string, string, any, []string) {
		return http.MethodPut, "/fhir/Patient?identifier=urn:s|cu", patientJSON("", fmt.Sprintf("Writer %d", i), "urn:s|cu"), nil
	})
	got := countStatus(rs)
	if got[http.StatusCreated] != 1 || got[http.StatusOK] != n-1 {
		t.Errorf("statuses %v, want one 201 and %d 200", got, n-1)
	}
	ids := map[string]bool{}
	for _, r := range rs {
		ids[str(r.JSON, "id")] = true
	}
	if len(ids) != 1 {
		t.Errorf("answers name %d resources: %v", len(ids), ids)
	}
	// One resource with a version per writer.
	if n2 := ts.historyCount("/fhir/Patient/_history"); n2 != n {
		t.Errorf("%d Patient versions, want %d", n2, n)
	}
}

func TestConcurrentPatchAndDelete(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	// A patch is computed outside the write transaction and retried when
	// another write came in between, up to 5 attempts: with 5 writers each
	// loses at most 4 times, so all succeed (more could see a 409).
	const n = 5
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/pd", patientJSON("pd", "V1")), http.StatusCreated)
	rs := concurrently(t, ts, n, func(i int) (string, string, any, []string) {
		patch := fmt.Sprintf(`[{"op":"replace","path":"/name/0/family","value":"Patch %d"}]`, i)
		return http.MethodPatch, "/fhir/Patient/pd", patch, []string{"Content-Type", jsonPatch, "If-Match", `W/"1"`}
	})
	if got := countStatus(rs); got[http.StatusOK] != 1 || got[http.StatusPreconditionFailed] != n-1 {
		t.Errorf("concurrent patches with If-Match: statuses %v, want one 200 and %d 412", got, n-1)
	}
	// Patches without If-Match all apply, one after the other.
	rs = concurrently(t, ts, n, func(i int) (string, string, any, []string) {
		patch := fmt.Sprintf(`[{"op":"add","path":"/name/0/given","value":["G%d"]}]`, i)
		return http.MethodPatch, "/fhir/Patient/pd", patch, []string{"Content-Type", jsonPatch}
	})
	if got := countStatus(rs); got[http.StatusOK] != n {
		t.Errorf("concurrent patches: statuses %v, want %d 200", got, n)
	}
	checkVersion(t, ts.do(http.MethodGet, "/fhir/Patient/pd", nil), "Patient", "pd", fmt.Sprint(n+2))
	// Concurrent deletes: one tombstone, every answer a success.
	rs = concurrently(t, ts, n, func(int) (string, string, any, []string) {
		return http.MethodDelete, "/fhir/Patient/pd", nil, nil
	})
	if got := countStatus(rs); got[http.StatusNoContent] != n {
		t.Errorf("concurrent deletes: statuses %v, want %d 204", got, n)
	}
	if got := ts.historyCount("/fhir/Patient/pd/_history"); got != n+3 {
		t.Errorf("%d versions, want %d (one tombstone)", got, n+3)
	}
}
