package bulk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/store/sqlite"
	"github.com/cpms-fhir/cpms/fhir/validate"
	"github.com/cpms-fhir/cpms/importers/bulk"
	"github.com/cpms-fhir/cpms/internal/synthea"
	"github.com/cpms-fhir/cpms/internal/testfixture"
	"github.com/cpms-fhir/cpms/server"
)

const (
	patientUUID = "6a1f0a1e-3b8e-4e7c-9a55-2f5b7c1d0e01"
	obsUUID     = "6a1f0a1e-3b8e-4e7c-9a55-2f5b7c1d0e02"
)

// readAll reads a file's units.
func readAll(t *testing.T, name string, chunk int) []bulk.Unit {
	t.Helper()
	var out []bulk.Unit
	if err := bulk.ReadFile(name, chunk, func(u bulk.Unit) error { out = append(out, u); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func problemsOf(units []bulk.Unit) []string {
	var out []string
	for _, u := range units {
		for _, p := range u.Problems {
			out = append(out, p.Error())
		}
	}
	return out
}

func TestReadBundle(t *testing.T) {
	for _, name := range []string{"testdata/bundle.json", "testdata/bundle-gz.json.gz"} {
		units := readAll(t, name, 10)
		if len(units) != 1 {
			t.Fatalf("%s: %d units, want 1 (a Bundle)", name, len(units))
		}
		u := units[0]
		var ids []string
		for _, it := range u.Items {
			ids = append(ids, string(it.Type)+"/"+string(it.ID))
		}
		want := []string{"Patient/" + patientUUID, "Observation/" + obsUUID}
		if !slices.Equal(ids[:2], want) || len(ids) != 4 {
			t.Errorf("%s: items %v, want %v then an Organization and an Observation", name, ids, want)
		}
		var obs map[string]any
		json.Unmarshal(u.Items[1].Body, &obs)
		if got := obs["subject"].(map[string]any)["reference"]; got != "Patient/"+patientUUID {
			t.Errorf("%s: the entry's reference is %v, want Patient/%s", name, got, patientUUID)
		}
		var pat map[string]any
		json.Unmarshal(u.Items[0].Body, &pat)
		if pat["id"] != patientUUID {
			t.Errorf("%s: the Patient's body has id %v, want its fullUrl's uuid", name, pat["id"])
		}
		// An entry without fullUrl or id is named by its identifier: the
		// same on every read.
		again := readAll(t, name, 10)[0]
		if u.Items[2].ID != again.Items[2].ID || u.Items[2].ID == "" {
			t.Errorf("%s: the Organization's id is not stable: %s, %s", name, u.Items[2].ID, again.Items[2].ID)
		}
		if p := problemsOf(units); len(p) != 1 || !strings.Contains(p[0], name+" entry 4") || !strings.Contains(p[0], "delete") {
			t.Errorf("%s: problems %v, want the delete of entry 4", name, p)
		}
	}
}

func TestReadNDJSON(t *testing.T) {
	var got [][]string
	for _, name := range []string{"testdata/lines.ndjson", "testdata/lines-bz2.ndjson.bz2"} {
		units := readAll(t, name, 2)
		var items []string
		for _, u := range units {
			if len(u.Items) > 2 {
				t.Errorf("%s: a unit of %d lines, want at most the chunk of 2", name, len(u.Items))
			}
			for _, it := range u.Items {
				items = append(items, string(it.Type)+"/"+string(it.ID)+" @"+it.Where[strings.LastIndex(it.Where, " ")+1:])
			}
		}
		got = append(got, items)
		problems := problemsOf(units)
		if len(problems) != 2 || !strings.Contains(problems[0], name+" line 4: invalid id") ||
			!strings.Contains(problems[1], name+" line 5: malformed JSON") {
			t.Errorf("%s: problems %q, want line 4 (invalid id) and line 5 (malformed JSON)", name, problems)
		}
	}
	if !slices.Equal(got[0], got[1]) {
		t.Errorf("the compressed file reads %v, the plain one %v", got[1], got[0])
	}
	if len(got[0]) != 3 || got[0][0] != "Patient/nd-1 @1" || !strings.HasPrefix(got[0][1], "QuestionnaireResponse/") || got[0][2] != "Patient/nd-2 @6" {
		t.Errorf("items %v", got[0])
	}
}

// readFiles writes files (name to content) into a directory, reads each,
// and returns the ids of the items read and the problems, each sorted.
func readFiles(t *testing.T, files map[string]string) (ids, problems []string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		units := readAll(t, path, 10)
		for _, u := range units {
			for _, it := range u.Items {
				ids = append(ids, string(it.ID))
			}
		}
		problems = append(problems, problemsOf(units)...)
	}
	slices.Sort(ids)
	slices.Sort(problems)
	return ids, problems
}

// TestReadByteOrderMark: a UTF-8 byte order mark at the start of a file,
// which some editors write, is ignored (RFC 8259, section 8.1).
func TestReadByteOrderMark(t *testing.T) {
	bom := "\xef\xbb\xbf"
	files := map[string]string{
		"patient.json":  bom + `{"resourceType":"Patient","id":"bom-1"}`,
		"lines.ndjson":  bom + `{"resourceType":"Patient","id":"bom-2"}` + "\n" + `{"resourceType":"Patient","id":"bom-3"}` + "\n",
		"inside.ndjson": `{"resourceType":"Patient","id":"bom-4"}` + "\n" + bom + `{"resourceType":"Patient","id":"bom-5"}` + "\n",
	}
	items, problems := readFiles(t, files)
	if want := []string{"bom-1", "bom-2", "bom-3", "bom-4"}; !slices.Equal(items, want) {
		t.Errorf("items %v, want %v", items, want)
	}
	// A mark elsewhere than at the start of the file is not JSON.
	if len(problems) != 1 || !strings.Contains(problems[0], "inside.ndjson line 2") {
		t.Errorf("problems %v, want line 2 of inside.ndjson", problems)
	}
}

// TestReadMalformedLocated: malformed JSON is reported with its line and
// column (its column in an NDJSON line).
func TestReadMalformedLocated(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ content, want string }{
		"cut.json":   {"{\"resourceType\":\"Bundle\",\n\"entry\":[{\"resource\":", "cut.json: malformed JSON at line 2, column 21"},
		"one.json":   {`{"resourceType":"Patient",}`, "one.json: malformed JSON at column 27"},
		"bad.ndjson": {`{"resourceType":"Patient"}` + "\n" + `{"resourceType" "Patient"}` + "\n", "bad.ndjson line 2: malformed JSON at column 17"},
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if p := problemsOf(readAll(t, path, 10)); len(p) != 1 || !strings.Contains(p[0], c.want) {
			t.Errorf("%s: problems %q, want %q", name, p, c.want)
		}
	}
}

// TestReadPlaceholders: a reference to a urn:uuid: that is no entry's
// fullUrl (or any, in NDJSON) would point nowhere once stored: its
// resource is reported and the rest is read.
func TestReadPlaceholders(t *testing.T) {
	files := map[string]string{
		"b.json": `{"resourceType":"Bundle","type":"collection","entry":[
			{"fullUrl":"urn:uuid:11111111-0000-0000-0000-000000000001","resource":{"resourceType":"Patient"}},
			{"resource":{"resourceType":"Observation","id":"linked","subject":{"reference":"urn:uuid:11111111-0000-0000-0000-000000000001"}}},
			{"resource":{"resourceType":"Observation","id":"dangling","subject":{"reference":"urn:uuid:11111111-0000-0000-0000-000000000009"}}},
			{"resource":{"resourceType":"Patient","id":"oid-system","identifier":[{"system":"urn:oid:1.2.3","value":"x"}]}}]}`,
		"n.ndjson": `{"resourceType":"Observation","id":"nd","subject":{"reference":"urn:uuid:11111111-0000-0000-0000-000000000001"}}` + "\n",
	}
	ids, problems := readFiles(t, files)
	if want := []string{"11111111-0000-0000-0000-000000000001", "linked", "oid-system"}; !slices.Equal(ids, want) {
		t.Errorf("items %v, want %v", ids, want)
	}
	if len(problems) != 2 || !strings.Contains(problems[0], "b.json entry 2") || !strings.Contains(problems[1], "n.ndjson line 1") {
		t.Errorf("problems %q, want entry 2 of b.json and line 1 of n.ndjson", problems)
	}
}

// newEngine opens an engine over a fresh store with validation.
func newEngine(t *testing.T) (*engine.Engine, *sqlite.Store) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	v, err := validator()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(store, engine.Options{Logger: quiet, Validator: v})
	if err != nil {
		t.Fatal(err)
	}
	return eng, store
}

var validator = sync.OnceValues(validate.New)

// load runs a load of dir and returns the progress and the problems.
func load(t *testing.T, sink bulk.Sink, paths ...string) (*bulk.Progress, []string) {
	t.Helper()
	files, _, err := bulk.Files(paths)
	if err != nil {
		t.Fatal(err)
	}
	var p bulk.Progress
	var mu sync.Mutex
	var problems []string
	err = bulk.Load(t.Context(), files, sink, bulk.Options{Chunk: 2, Workers: 3, Problem: func(pr bulk.Problem) {
		mu.Lock()
		problems = append(problems, pr.Error())
		mu.Unlock()
	}}, &p)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(problems)
	return &p, problems
}

func versions(t *testing.T, eng *engine.Engine) int {
	t.Helper()
	h, err := eng.History(t.Context(), engine.HistoryRequest{Params: url.Values{"_count": {"1000"}}})
	if err != nil {
		t.Fatal(err)
	}
	return len(h.Versions)
}

// wantProblems are the resources of testdata that are not loaded, by
// where they are and a word of why.
var wantProblems = []string{
	"bundle-gz.json.gz entry 3: ", "bundle-gz.json.gz entry 4: a delete",
	"bundle.json entry 3: ", "bundle.json entry 4: a delete",
	"lines-bz2.ndjson.bz2 line 4: invalid id", "lines-bz2.ndjson.bz2 line 5: malformed JSON",
	"lines.ndjson line 4: invalid id", "lines.ndjson line 5: malformed JSON",
}

func checkProblems(t *testing.T, got []string) {
	t.Helper()
	if len(got) != len(wantProblems) {
		t.Fatalf("problems:\n%s\nwant %d", strings.Join(got, "\n"), len(wantProblems))
	}
	for i, w := range wantProblems {
		if !strings.Contains(got[i], "testdata/"+w) {
			t.Errorf("problem %q, want one about %q", got[i], w)
		}
	}
	if !strings.Contains(got[0], "Observation.status") && !strings.Contains(got[0], "status") {
		t.Errorf("the invalid Observation's problem does not say where: %s", got[0])
	}
}

func TestLoadIsIdempotent(t *testing.T) {
	eng, _ := newEngine(t)
	sink := bulk.EngineSink{Engine: eng}
	p, problems := load(t, sink, "testdata")
	checkProblems(t, problems)
	// 3 resources of each Bundle file and 3 lines of each NDJSON file.
	if n := p.Resources.Load(); n != 12 {
		t.Errorf("%d resources loaded, want 12", n)
	}
	first := versions(t, eng)
	if first != 6 {
		t.Errorf("%d versions stored, want 6 (each resource once)", first)
	}
	_, problems = load(t, sink, "testdata")
	checkProblems(t, problems)
	if again := versions(t, eng); again != first {
		t.Errorf("a second import stored %d versions more", again-first)
	}
	obs, err := eng.Read(t.Context(), "Observation", obsUUID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(obs.Body), `"reference":"Patient/`+patientUUID+`"`) {
		t.Errorf("the stored Observation does not refer to the stored Patient: %s", obs.Body)
	}
	res, err := eng.Search(t.Context(), engine.SearchRequest{Type: "Observation",
		Params: url.Values{"subject": {"Patient/" + patientUUID}}})
	if err != nil || len(res.Matches) != 1 {
		t.Errorf("Observation?subject=Patient/%s: %v, %v", patientUUID, res, err)
	}
}

func TestLoadOverHTTP(t *testing.T) {
	eng, _ := newEngine(t)
	srv := server.New(eng, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var mu sync.Mutex
	var posted []string // the type of each Bundle posted
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var b struct{ Type string }
		json.Unmarshal(body, &b)
		mu.Lock()
		posted = append(posted, b.Type)
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		srv.ServeHTTP(w, r)
	}))
	defer hs.Close()
	sink := bulk.HTTPSink{Base: hs.URL + "/fhir", Client: hs.Client()}
	p, problems := load(t, sink, "testdata")
	checkProblems(t, problems)
	if n := p.Resources.Load(); n != 12 {
		t.Errorf("%d resources loaded, want 12", n)
	}
	// Each unit is sent as a transaction (each Bundle, and the NDJSON
	// files' good lines two at a time: 2 + 4); the two Bundles with an
	// invalid Observation are refused as such and sent again as batches.
	// (The NDJSON files' bad lines never reach the server.)
	slices.Sort(posted)
	if want := []string{"batch", "batch", "transaction", "transaction", "transaction", "transaction", "transaction", "transaction"}; !slices.Equal(posted, want) {
		t.Errorf("posted %v, want %v", posted, want)
	}
	first := versions(t, eng)
	load(t, sink, "testdata")
	if again := versions(t, eng); again != first || first != 6 {
		t.Errorf("versions: %d after the first import, %d after the second; want 6 and 6", first, again)
	}
	// A server that is not there stops the load with an error.
	files, _, _ := bulk.Files([]string{"testdata/bundle.json"})
	err := bulk.Load(t.Context(), files, bulk.HTTPSink{Base: "http://127.0.0.1:1/fhir"}, bulk.Options{}, &bulk.Progress{})
	if err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("a load to no server: %v, want its error", err)
	}
}

// TestLoadOverHTTPInParts: a unit too large for the server is sent in
// halves until each part fits, and a resource over the limit alone is
// reported while the rest loads; MaxBytes bounds the parts beforehand.
func TestLoadOverHTTPInParts(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 6 {
		lines = append(lines, fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","name":[{"family":"Part%d"}]}`, i, i))
	}
	big := `{"resourceType":"Patient","id":"big","name":[{"family":"` + strings.Repeat("x", 2000) + `"}]}`
	lines = append(lines[:3], append([]string{big}, lines[3:]...)...)
	if err := os.WriteFile(filepath.Join(dir, "parts.ndjson"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		maxBytes  int   // the sink's bound (0: its default)
		wantPosts []int // the entries of each transaction posted, in order
	}{
		// The 7 lines are over the server's 700 bytes; their halves: 3
		// (taken), 4 (over); 2 (the big Patient and another: over), 2
		// (taken); 1 (the big one: over, reported), 1 (taken).
		{"halves", 0, []int{7, 3, 4, 2, 1, 1, 2}},
		// Parts of one resource each: the big one is refused alone.
		{"bounded", 1, []int{1, 1, 1, 1, 1, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng, _ := newEngine(t)
			srv := server.New(eng, server.Options{Logger: slog.New(slog.DiscardHandler), MaxBodyBytes: 700})
			var mu sync.Mutex
			var posts []int
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				var b struct {
					Type  string
					Entry []json.RawMessage
				}
				json.Unmarshal(body, &b)
				if b.Type != "transaction" {
					t.Errorf("posted a %s", b.Type)
				}
				mu.Lock()
				posts = append(posts, len(b.Entry))
				mu.Unlock()
				r.Body = io.NopCloser(bytes.NewReader(body))
				srv.ServeHTTP(w, r)
			}))
			defer hs.Close()
			files, _, err := bulk.Files([]string{dir})
			if err != nil {
				t.Fatal(err)
			}
			var p bulk.Progress
			var problems []string
			sink := bulk.HTTPSink{Base: hs.URL + "/fhir", Client: hs.Client(), MaxBytes: tc.maxBytes}
			err = bulk.Load(t.Context(), files, sink, bulk.Options{Workers: 1, Problem: func(pr bulk.Problem) {
				problems = append(problems, pr.Error())
			}}, &p)
			if err != nil {
				t.Fatal(err)
			}
			if n := p.Resources.Load(); n != 6 {
				t.Errorf("%d resources loaded, want 6", n)
			}
			if len(problems) != 1 || !strings.Contains(problems[0], "line 4") || !strings.Contains(problems[0], "413") {
				t.Errorf("problems %q, want the big Patient's, refused for its size", problems)
			}
			if !slices.Equal(posts, tc.wantPosts) {
				t.Errorf("posted transactions of %v entries, want %v", posts, tc.wantPosts)
			}
			if n := versions(t, eng); n != 6 {
				t.Errorf("%d versions stored, want 6", n)
			}
		})
	}
}

// TestLoadSynthea loads Synthea bundles, real third-party data, and checks
// that every resource is stored and linked.
func TestLoadSynthea(t *testing.T) {
	archive := testfixture.SharedData(t, "fhir", "synthea-r4.tar.gz")
	dir := t.TempDir()
	n := 0
	err := synthea.ReadArchive(archive, func(name string, data []byte) error {
		if n >= 3 {
			return nil
		}
		n++
		return os.WriteFile(filepath.Join(dir, filepath.Base(name)), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	eng, _ := newEngine(t)
	p, problems := load(t, bulk.EngineSink{Engine: eng}, dir)
	if len(problems) > 0 {
		t.Errorf("%d Synthea resources not loaded, e.g. %s", len(problems), problems[0])
	}
	if n, v := int(p.Resources.Load()), versions(t, eng); n == 0 || v != min(n, 1000) {
		t.Errorf("%d resources loaded, %d versions stored", n, v)
	}
	res, err := eng.Search(t.Context(), engine.SearchRequest{Type: "Patient",
		Params: url.Values{"_revinclude": {"Encounter:subject"}, "_total": {"accurate"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 3 || len(res.Included) == 0 {
		t.Errorf("%d Patients with %d Encounters linked to them, want 3 with some", res.Total, len(res.Included))
	}
}

// TestLoadResolvesConditionals: a Bundle's conditional creates and
// conditional references resolve against the store loaded into, as a
// transaction resolves them, through the engine and over HTTP. A create
// whose criteria match is the resource matched, and references to its
// entry point there; a reference matching nothing is reported with its
// entry, and the rest loads.
func TestLoadResolvesConditionals(t *testing.T) {
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
	{"fullUrl":"urn:uuid:aaaaaaaa-0000-0000-0000-000000000001",
	 "resource":{"resourceType":"Patient","identifier":[{"system":"urn:mrn","value":"42"}]},
	 "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:mrn|42"}},
	{"resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},
	 "subject":{"reference":"urn:uuid:aaaaaaaa-0000-0000-0000-000000000001"}},"request":{"method":"PUT","url":"Observation/o1"}},
	{"resource":{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"},
	 "subject":{"reference":"Patient?identifier=urn:mrn|42"}},"request":{"method":"PUT","url":"Observation/o2"}},
	{"resource":{"resourceType":"Observation","id":"o3","status":"final","code":{"text":"x"},
	 "subject":{"reference":"Patient?identifier=urn:mrn|nobody"}},"request":{"method":"PUT","url":"Observation/o3"}},
	{"fullUrl":"urn:uuid:aaaaaaaa-0000-0000-0000-000000000005",
	 "resource":{"resourceType":"Patient","identifier":[{"system":"urn:mrn","value":"43"}]},
	 "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:mrn|43"}}]}`
	path := filepath.Join(t.TempDir(), "conditional.json")
	if err := os.WriteFile(path, []byte(bundle), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, way := range []string{"engine", "http"} {
		t.Run(way, func(t *testing.T) {
			eng, _ := newEngine(t)
			if _, err := eng.Update(t.Context(), "Patient", "existing",
				[]byte(`{"resourceType":"Patient","id":"existing","identifier":[{"system":"urn:mrn","value":"42"}]}`), 0); err != nil {
				t.Fatal(err)
			}
			var sink bulk.Sink = bulk.EngineSink{Engine: eng}
			if way == "http" {
				hs := httptest.NewServer(server.New(eng, server.Options{Logger: slog.New(slog.DiscardHandler)}))
				defer hs.Close()
				sink = bulk.HTTPSink{Base: hs.URL + "/fhir", Client: hs.Client()}
			}
			for run := range 2 { // the second run finds everything stored
				p, problems := load(t, sink, path)
				if len(problems) != 1 || !strings.Contains(problems[0], "conditional.json entry 3") ||
					!strings.Contains(problems[0], "matches no Patient") {
					t.Errorf("run %d: problems %q, want entry 3's reference matching no Patient", run, problems)
				}
				if n := p.Resources.Load(); n != 4 {
					t.Errorf("run %d: %d resources loaded or found, want 4", run, n)
				}
			}
			for obs, want := range map[fhir.ID]string{"o1": "Patient/existing", "o2": "Patient/existing"} {
				r, err := eng.Read(t.Context(), "Observation", obs)
				if err != nil {
					t.Fatalf("Observation/%s: %v", obs, err)
				}
				if !strings.Contains(string(r.Body), `"reference":"`+want+`"`) {
					t.Errorf("Observation/%s does not refer to %s: %s", obs, want, r.Body)
				}
			}
			if _, err := eng.Read(t.Context(), "Observation", "o3"); err == nil {
				t.Error("Observation/o3, whose reference matches nothing, was stored")
			}
			for value, want := range map[string]int{"42": 1, "43": 1} {
				res, err := eng.Search(t.Context(), engine.SearchRequest{Type: "Patient", Params: url.Values{"identifier": {"urn:mrn|" + value}}})
				if err != nil || len(res.Matches) != want {
					t.Errorf("Patient?identifier=urn:mrn|%s: %d matches, %v; want %d", value, len(res.Matches), err, want)
				}
			}
		})
	}
}
