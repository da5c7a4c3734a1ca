package server_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cpms-fhir/cpms/internal/testfixture"
	"github.com/cpms-fhir/cpms/internal/teststore"
)

// The golden set: every R4 example of the specification is stored by PUT
// and read back semantically equal. Examples the validator rejects are
// listed, each with its reason, in testdata/golden-skips.txt; the test
// fails when a listed example passes (the list stays honest) or an
// unlisted one fails. A few examples kept in testdata/examples run even
// without the shared data folder.

const (
	examplesArchive = "fhir/examples-r4.tar.gz" // under ../shared/data
	skipsFile       = "testdata/golden-skips.txt"
	localExamples   = "testdata/examples"
)

func TestGoldenLocalExamples(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(localExamples, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in %s: %v", localExamples, err)
	}
	examples := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		examples[filepath.Base(f)] = b
	}
	// The skip list holds for the local copies too (one of them is on it).
	all, err := readSkips(skipsFile)
	if err != nil {
		t.Fatal(err)
	}
	skips := map[string]string{}
	for name, reason := range all {
		if _, ok := examples[name]; ok {
			skips[name] = reason
		}
	}
	runGolden(t, examples, skips)
}

func TestGoldenR4Examples(t *testing.T) {
	t.Parallel()
	archive := testfixture.SharedData(t, examplesArchive)
	examples, err := readExamples(archive)
	if err != nil {
		t.Fatalf("%s: %v", archive, err)
	}
	skips, err := readSkips(skipsFile)
	if err != nil {
		t.Fatal(err)
	}
	for name := range skips {
		if _, ok := examples[name]; !ok {
			t.Errorf("%s lists %s, which is not in the archive", skipsFile, name)
		}
	}
	if teststore.OnFerretDB() {
		// FerretDB reads a whole collection for every query: the round
		// trips through the MongoDB adapter take one example in eight.
		names := slices.Sorted(maps.Keys(examples))
		for i, name := range names {
			if i%8 != 0 {
				delete(examples, name)
			}
		}
		t.Logf("FerretDB: %d of %d examples", len(examples), len(names))
	}
	runGolden(t, examples, skips)
}

// runGolden stores every example by PUT and reads it back. skips maps the
// examples expected to be rejected to the reason.
func runGolden(t *testing.T, examples map[string][]byte, skips map[string]string) {
	ts := newTestServer(t)
	names := make([]string, 0, len(examples))
	for name := range examples {
		names = append(names, name)
	}
	sort.Strings(names)
	// Round trips run on every core (validation is the cost); the verdicts
	// are then read in name order.
	errs := make([]error, len(names))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				errs[i] = roundTrip(ts, examples[names[i]])
			}
		})
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	passed, skipped := 0, 0
	for i, name := range names {
		err := errs[i]
		reason, listed := skips[name]
		switch {
		case err == nil && listed:
			t.Errorf("%s passes now: remove it from %s (listed as %q)", name, skipsFile, reason)
		case err == nil:
			passed++
		case listed:
			skipped++
		default:
			t.Errorf("%s: %v", name, err)
		}
	}
	t.Logf("golden set: %d of %d examples stored and read back equal, %d skipped as listed", passed, len(examples), skipped)
}

// roundTrip stores one example with PUT and checks that a read returns it
// unchanged apart from meta.versionId and meta.lastUpdated.
func roundTrip(ts *testServer, body []byte) error {
	var head struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	if err := json.Unmarshal(body, &head); err != nil || head.ResourceType == "" || head.ID == "" {
		return fmt.Errorf("not a resource with a type and an id: %v", err)
	}
	loc := "/fhir/" + head.ResourceType + "/" + head.ID
	r, err := ts.send(http.MethodPut, loc, body)
	if err != nil {
		return err
	}
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		return fmt.Errorf("PUT: status %d: %s", r.Status, firstIssue(r))
	}
	if r, err = ts.send(http.MethodGet, loc, nil); err != nil {
		return err
	}
	if r.Status != http.StatusOK {
		return fmt.Errorf("GET: status %d: %s", r.Status, firstIssue(r))
	}
	want, err := normalise(body)
	if err != nil {
		return fmt.Errorf("the example: %v", err)
	}
	got, err := normalise(r.Body)
	if err != nil {
		return fmt.Errorf("the answer: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("read back differs:\n got %.400s\nwant %.400s", r.Body, body)
	}
	// Stronger: apart from id and the server's meta elements, the stored
	// bytes are the client's, in the client's order (whitespace aside).
	wantBytes, err := clientMembers(body)
	if err != nil {
		return fmt.Errorf("the example: %v", err)
	}
	gotBytes, err := clientMembers(r.Body)
	if err != nil {
		return fmt.Errorf("the answer: %v", err)
	}
	if gotBytes != wantBytes {
		return fmt.Errorf("the stored JSON is not the client's:\n got %.400s\nwant %.400s", gotBytes, wantBytes)
	}
	return nil
}

// clientMembers returns the compacted top-level members of a resource
// other than id, and the members of its meta other than versionId and
// lastUpdated, in order.
func clientMembers(b []byte) (string, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return "", err
	}
	top, err := objectMembers(buf.Bytes())
	if err != nil {
		return "", err
	}
	var out []string
	for _, m := range top {
		switch m.key {
		case "id":
		case "meta":
			meta, err := objectMembers(m.value)
			if err != nil {
				return "", err
			}
			for _, mm := range meta {
				if mm.key != "versionId" && mm.key != "lastUpdated" {
					out = append(out, "meta."+mm.key+":"+string(mm.value))
				}
			}
		default:
			out = append(out, m.key+":"+string(m.value))
		}
	}
	return strings.Join(out, ","), nil
}

type member struct {
	key   string
	value json.RawMessage
}

// objectMembers splits a JSON object into its members, keeping each
// value's bytes.
func objectMembers(b []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{tok.(string), v})
	}
	return out, nil
}

// firstIssue describes the first issue of an OperationOutcome answer, as
// the skip list records it.
func firstIssue(r *response) string {
	is := issuesOf(r)
	if len(is) == 0 {
		return string(r.Body)
	}
	s := fmt.Sprint(is[0]["diagnostics"])
	if ex, ok := is[0]["expression"].([]any); ok && len(ex) > 0 {
		s = fmt.Sprint(ex[0]) + ": " + s
	}
	if len(is) > 1 {
		s += fmt.Sprintf(" (+%d more)", len(is)-1)
	}
	return s
}

// normalise decodes a resource (numbers kept as written) and removes what
// the server owns: meta.versionId, meta.lastUpdated, and meta itself if
// nothing else is left in it.
func normalise(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if meta, ok := m["meta"].(map[string]any); ok {
		delete(meta, "versionId")
		delete(meta, "lastUpdated")
		if len(meta) == 0 {
			delete(m, "meta")
		}
	}
	return m, nil
}

// readExamples reads the JSON resources listed in the archive's index.tsv,
// keyed by file name.
func readExamples(archive string) (map[string][]byte, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	var index []byte
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		switch name := path.Base(h.Name); {
		case name == "index.tsv":
			index = b
		case strings.HasSuffix(name, ".json") && name != "package.json":
			files[name] = b
		}
	}
	if index == nil {
		return nil, errors.New("no index.tsv")
	}
	out := map[string][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(index))
	for first := true; sc.Scan(); first = false {
		name, _, _ := strings.Cut(sc.Text(), "\t")
		if first || name == "" {
			continue
		}
		b, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("index.tsv lists %s, which is not in the archive", name)
		}
		out[name] = b
	}
	if len(out) != len(files) {
		return nil, fmt.Errorf("index.tsv lists %d files, the archive holds %d", len(out), len(files))
	}
	return out, sc.Err()
}

// readSkips reads the skip list: one example per line, its file name, then
// whitespace and the reason; blank lines and lines starting with # are
// ignored.
func readSkips(name string) (map[string]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	skips := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		file, reason, _ := strings.Cut(line, " ")
		file, reason = strings.TrimSpace(file), strings.TrimSpace(reason)
		if reason == "" {
			return nil, fmt.Errorf("%s:%d: %s has no reason", name, i+1, file)
		}
		if _, dup := skips[file]; dup {
			return nil, fmt.Errorf("%s:%d: %s is listed twice", name, i+1, file)
		}
		skips[file] = reason
	}
	return skips, nil
}
