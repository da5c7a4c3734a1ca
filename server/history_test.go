package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir/engine"
)

const observationJSON = `{"resourceType":"Observation","status":"final","code":{"text":"weight"}}`

// version identifies one version in a history Bundle.
type version struct {
	ref, v  string // Type/id and versionId (from the etag)
	method  string
	status  string
	deleted bool
	updated time.Time
}

// historyFixture writes six versions: Patient/a (PUT, PUT, DELETE), a
// Patient (POST, PATCH) and an Observation (POST), and returns the
// server-assigned ids of the last two under "b" and "o".
func historyFixture(t *testing.T, ts *testServer) (ids map[string]string) {
	t.Helper()
	ids = map[string]string{}
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/a", patientJSON("a", "A1")), http.StatusCreated)
	r := ts.do(http.MethodPost, "/fhir/Patient", patientJSON("", "B1"))
	wantStatus(t, r, http.StatusCreated)
	ids["b"] = str(r.JSON, "id")
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/a", patientJSON("a", "A2")), http.StatusOK)
	wantStatus(t, ts.do(http.MethodPatch, "/fhir/Patient/"+ids["b"],
		`[{"op":"replace","path":"/name/0/family","value":"B2"}]`, "Content-Type", "application/json-patch+json"), http.StatusOK)
	r = ts.do(http.MethodPost, "/fhir/Observation", observationJSON)
	wantStatus(t, r, http.StatusCreated)
	ids["o"] = str(r.JSON, "id")
	wantStatus(t, ts.do(http.MethodDelete, "/fhir/Patient/a", nil), http.StatusNoContent)
	return ids
}

// readHistory follows next links from path and returns every version,
// checking each entry and each page.
func readHistory(t *testing.T, ts *testServer, path string) []version {
	t.Helper()
	var out []version
	// The first page counts the versions; those written since do not show
	// on the pages after it, which do not count them again.
	first, total := !strings.Contains(path, engine.CursorParam+"="), -1
	defer func() {
		if first && total != len(out) {
			t.Errorf("history %s: total %d, %d versions listed", path, total, len(out))
		}
	}()
	next := path
	for pages := 0; next != ""; pages++ {
		if pages > 100 {
			t.Fatalf("history %s: more than 100 pages", path)
		}
		r := ts.do(http.MethodGet, next, nil)
		wantStatus(t, r, http.StatusOK)
		if str(r.JSON, "resourceType") != "Bundle" || str(r.JSON, "type") != "history" {
			t.Fatalf("history %s: not a history Bundle: %.200s", next, r.Body)
		}
		if err := validBundle(r.Body); err != nil {
			t.Errorf("history %s: the Bundle is not valid R4: %v", next, err)
		}
		if n, ok := get(r.JSON, "total").(json.Number); ok != (first && pages == 0) {
			t.Errorf("history %s: page %d has total %v", next, pages, get(r.JSON, "total"))
		} else if ok {
			v, _ := n.Int64()
			total = int(v)
		}
		next = ""
		links, _ := r.JSON["link"].([]any)
		for _, l := range links {
			switch str(l, "relation") {
			case "next":
				next = str(l, "url")
				if !strings.HasPrefix(next, ts.URL+"/fhir/") {
					t.Errorf("next link %q is not an absolute URL of the server", next)
				}
			case "self":
				if !strings.HasPrefix(str(l, "url"), ts.URL+"/fhir/") {
					t.Errorf("self link %q is not absolute", str(l, "url"))
				}
			}
		}
		entries, _ := r.JSON["entry"].([]any)
		if len(entries) == 0 && pages > 0 {
			t.Errorf("history %s: a next link led to an empty page", path)
		}
		for _, e := range entries {
			out = append(out, checkEntry(t, ts, e))
		}
	}
	return out
}

func checkEntry(t *testing.T, ts *testServer, e any) version {
	t.Helper()
	etag := str(e, "response", "etag")
	v := version{
		v:       strings.TrimSuffix(strings.TrimPrefix(etag, `W/"`), `"`),
		method:  str(e, "request", "method"),
		status:  str(e, "response", "status"),
		deleted: get(e, "resource") == nil,
	}
	full := str(e, "fullUrl")
	v.ref = strings.TrimPrefix(full, ts.URL+"/fhir/")
	if v.ref == full || strings.Count(v.ref, "/") != 1 {
		t.Errorf("entry fullUrl %q", full)
	}
	if !strings.HasPrefix(etag, `W/"`) {
		t.Errorf("entry %s: etag %q", v.ref, etag)
	}
	if u, err := time.Parse(time.RFC3339Nano, str(e, "response", "lastModified")); err == nil {
		v.updated = u
	} else {
		t.Errorf("entry %s: lastModified: %v", v.ref, err)
	}
	wantURL := v.ref
	if v.method == http.MethodPost {
		wantURL = strings.Split(v.ref, "/")[0]
	}
	if got := str(e, "request", "url"); got != wantURL {
		t.Errorf("entry %s: request.url %q, want %q", v.ref, got, wantURL)
	}
	if !v.deleted {
		if got := str(e, "resource", "resourceType") + "/" + str(e, "resource", "id"); got != v.ref {
			t.Errorf("entry %s holds %s", v.ref, got)
		}
		if got := str(e, "resource", "meta", "versionId"); got != v.v {
			t.Errorf("entry %s: versionId %s, etag %s", v.ref, got, etag)
		}
	} else if v.method != http.MethodDelete {
		t.Errorf("entry %s v%s: no resource but method %s", v.ref, v.v, v.method)
	}
	return v
}

func TestHistory(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ids := historyFixture(t, ts)
	b, o := "Patient/"+ids["b"], "Observation/"+ids["o"]
	all := []version{
		{ref: "Patient/a", v: "3", method: "DELETE", status: "204 No Content", deleted: true},
		{ref: o, v: "1", method: "POST", status: "201 Created"},
		{ref: b, v: "2", method: "PATCH", status: "200 OK"},
		{ref: "Patient/a", v: "2", method: "PUT", status: "200 OK"},
		{ref: b, v: "1", method: "POST", status: "201 Created"},
		{ref: "Patient/a", v: "1", method: "PUT", status: "201 Created"},
	}
	only := func(pred func(version) bool) []version {
		var out []version
		for _, v := range all {
			if pred(v) {
				out = append(out, v)
			}
		}
		return out
	}
	tests := []struct {
		path string
		want []version
	}{
		{"/fhir/_history", all},
		{"/fhir/Patient/_history", only(func(v version) bool { return strings.HasPrefix(v.ref, "Patient/") })},
		{"/fhir/Observation/_history", only(func(v version) bool { return v.ref == o })},
		{"/fhir/Patient/a/_history", only(func(v version) bool { return v.ref == "Patient/a" })},
		{"/fhir/" + b + "/_history", only(func(v version) bool { return v.ref == b })},
		{"/fhir/Encounter/_history", nil},
	}
	for _, tc := range tests {
		for _, count := range []string{"", "1", "2", "4"} {
			path := tc.path
			if count != "" {
				path += "?_count=" + count
			}
			got := readHistory(t, ts, path)
			compareVersions(t, path, got, tc.want)
		}
	}
	// _count=0 and _summary=count ask for the total alone.
	for _, q := range []string{"_count=0", "_summary=count", "_summary=count&_count=3"} {
		r := ts.do(http.MethodGet, "/fhir/Patient/_history?"+q, nil)
		wantStatus(t, r, http.StatusOK)
		want := len(only(func(v version) bool { return strings.HasPrefix(v.ref, "Patient/") }))
		if n, _ := get(r.JSON, "total").(json.Number); n.String() != strconv.Itoa(want) || get(r.JSON, "entry") != nil {
			t.Errorf("history ?%s: total %v, entries %v; want %d and none", q, get(r.JSON, "total"), get(r.JSON, "entry"), want)
		}
	}
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Patient/nobody/_history", nil), http.StatusNotFound)
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Nonsense/_history", nil), http.StatusNotFound)
	for _, q := range []string{"_count=x", "_count=-1", "_since=yesterday", "_at=2024-13", "_cursor=zz", "_list=x"} {
		r := ts.do(http.MethodGet, "/fhir/_history?"+q, nil)
		if r.Status < 400 {
			t.Errorf("history ?%s: status %d, want an error", q, r.Status)
		}
	}
}

func compareVersions(t *testing.T, path string, got, want []version) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d versions, want %d: %v", path, len(got), len(want), got)
		return
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ref != w.ref || g.v != w.v || g.method != w.method || g.status != w.status || g.deleted != w.deleted {
			t.Errorf("%s: entry %d is %+v, want %+v", path, i, g, w)
		}
	}
}

// TestHistorySinceAt checks _since and _at against the definition, with
// instants taken from the versions themselves (no clock assumptions).
func TestHistorySinceAt(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	historyFixture(t, ts)
	all := readHistory(t, ts, "/fhir/_history")
	if len(all) != 6 {
		t.Fatalf("%d versions", len(all))
	}
	for i := 1; i+1 < len(all); i++ {
		at := all[i].updated
		inst := at.UTC().Format("2006-01-02T15:04:05.000Z")

		var since []version
		for _, v := range all {
			if !v.updated.Before(at) {
				since = append(since, v)
			}
		}
		path := "/fhir/_history?_since=" + url.QueryEscape(inst)
		compareVersions(t, path, readHistory(t, ts, path), since)

		// _at: versions current at some instant of the range it selects.
		// Without a prefix, that is the millisecond; with one, the instants
		// after or before it.
		end := at.Add(time.Millisecond)
		for _, tc := range []struct {
			prefix     string
			start, end time.Time // zero: unbounded
		}{
			{"", at, end}, {"eq", at, end}, {"ap", at, end},
			{"ge", at, time.Time{}}, {"gt", end, time.Time{}}, {"sa", end, time.Time{}},
			{"le", time.Time{}, end}, {"lt", time.Time{}, at}, {"eb", time.Time{}, at},
		} {
			path = "/fhir/_history?_at=" + tc.prefix + url.QueryEscape(inst)
			compareVersions(t, path, readHistory(t, ts, path), currentIn(all, tc.start, tc.end))
		}
		path = "/fhir/_history?_at=ne" + url.QueryEscape(inst)
		wantStatus(t, ts.do(http.MethodGet, path, nil), http.StatusNotImplemented)
	}
	// Open ranges reach every version, and no version is current before
	// the first was written.
	compareVersions(t, "_at=ge2001", readHistory(t, ts, "/fhir/_history?_at=ge2001"), currentIn(all, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}))
	compareVersions(t, "_at=le2999", readHistory(t, ts, "/fhir/_history?_at=le2999"), all)
	compareVersions(t, "_at=lt2001", readHistory(t, ts, "/fhir/_history?_at=lt2001"), nil)
	for _, q := range []string{"_at=xx2001", "_at=ge", "_at=gt2001-13"} {
		if r := ts.do(http.MethodGet, "/fhir/_history?"+q, nil); r.Status != http.StatusBadRequest {
			t.Errorf("history ?%s: status %d, want 400", q, r.Status)
		}
	}
	// A date long past selects nothing at _at and everything with _since.
	compareVersions(t, "_at=2001", readHistory(t, ts, "/fhir/_history?_at=2001"), nil)
	compareVersions(t, "_since=2001", readHistory(t, ts, "/fhir/_history?_since=2001-01-01T00:00:00Z"), all)
	compareVersions(t, "_since=future", readHistory(t, ts, "/fhir/_history?_since=2999-01-01T00:00:00Z"), nil)
	// A zone offset typed with an unescaped "+" (which a query decodes as
	// a space) is read as the offset.
	compareVersions(t, "_since=2001 +02:00", readHistory(t, ts, "/fhir/_history?_since=2001-01-01T00:00:00+02:00"), all)
	compareVersions(t, "_since=2999 +02:00", readHistory(t, ts, "/fhir/_history?_since=2999-01-01T00:00:00+02:00"), nil)
}

// currentIn returns the versions of all (newest first) that were current at
// some instant of [start, end), a zero bound being open: written before the
// end, and not replaced by a newer version at or before the start.
func currentIn(all []version, start, end time.Time) []version {
	var current []version
	for j, v := range all {
		if !end.IsZero() && !v.updated.Before(end) {
			continue
		}
		replaced := !start.IsZero() && slices.ContainsFunc(all[:j], func(n version) bool {
			return n.ref == v.ref && !n.updated.After(start)
		})
		if !replaced {
			current = append(current, v)
		}
	}
	return current
}

// TestHistoryPagingStable checks that versions written while a client
// pages through a history neither repeat nor shift the following pages.
func TestHistoryPagingStable(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	historyFixture(t, ts)
	want := readHistory(t, ts, "/fhir/_history")
	r := ts.do(http.MethodGet, "/fhir/_history?_count=2", nil)
	wantStatus(t, r, http.StatusOK)
	var got []version
	for _, e := range r.JSON["entry"].([]any) {
		got = append(got, checkEntry(t, ts, e))
	}
	var next string
	for _, l := range r.JSON["link"].([]any) {
		if str(l, "relation") == "next" {
			next = str(l, "url")
		}
	}
	if next == "" {
		t.Fatal("no next link on the first page")
	}
	// New versions arrive between pages.
	ts.createPatient("Late")
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Patient/a", patientJSON("a", "Again")), http.StatusCreated)
	got = append(got, readHistory(t, ts, next)...)
	compareVersions(t, "paged", got, want)
}

func validBundle(b []byte) error {
	v, err := sharedValidator()
	if err != nil {
		return err
	}
	return v.Validate(b)
}
