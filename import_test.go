package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/store/sqlite"
)

// TestImportCommand runs "cpms import" on the bulk reader's fixtures: a
// load with bad resources exits 1 and names each; a load of good files
// exits 0; loading again stores nothing new.
func TestImportCommand(t *testing.T) {
	data := t.TempDir()
	var out, errs bytes.Buffer
	if code := run([]string{"import", "--data", data, "importers/bulk/testdata"}, &out, &errs); code != 1 {
		t.Fatalf("exit %d, want 1 (some resources are invalid)\n%s%s", code, out.String(), errs.String())
	}
	for _, want := range []string{"bundle.json entry 3", "lines.ndjson line 4: invalid id", "lines-bz2.ndjson.bz2 line 5: malformed JSON"} {
		if !strings.Contains(errs.String(), want) {
			t.Errorf("the report does not name %q:\n%s", want, errs.String())
		}
	}
	if !strings.Contains(out.String(), "loaded 12 resources from 4 files") {
		t.Errorf("summary: %s", out.String())
	}
	good := t.TempDir()
	body, err := os.ReadFile("importers/bulk/testdata/lines.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for i, line := range strings.Split(string(body), "\n") {
		if i != 3 && i != 4 {
			keep = append(keep, line)
		}
	}
	if err := os.WriteFile(filepath.Join(good, "good.ndjson"), []byte(strings.Join(keep, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		out.Reset()
		errs.Reset()
		if code := run([]string{"import", "--data", data, good}, &out, &errs); code != 0 {
			t.Fatalf("exit %d, want 0\n%s%s", code, out.String(), errs.String())
		}
	}
	if code := run([]string{"import", "--data", data}, &out, &errs); code != 2 {
		t.Errorf("no path: exit %d, want 2", code)
	}
}

// TestImportDefersIndexes imports more data than an empty store holds:
// the value-ordered search indexes are dropped for the load and built at
// its end, so that every resource is found by search afterwards through
// them; a second, smaller import into the now larger store keeps them.
func TestImportDefersIndexes(t *testing.T) {
	data, in := t.TempDir(), t.TempDir()
	lines := writePatients(t, in, 2000)
	var out, errs bytes.Buffer
	if code := run([]string{"import", "--data", data, in}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
	}
	for _, want := range []string{"search indexes deferred to the end of a bulk load", "search indexes built"} {
		if !strings.Contains(errs.String(), want) {
			t.Errorf("the log does not say %q:\n%s", want, errs.String())
		}
	}

	// A smaller load into what is now the larger store.
	if err := os.WriteFile(filepath.Join(in, "patients.ndjson"), []byte(strings.Join(lines[:50], "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	errs.Reset()
	if code := run([]string{"import", "--data", data, in}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
	}
	if strings.Contains(errs.String(), "deferred") {
		t.Errorf("a small load deferred the indexes:\n%s", errs.String())
	}

	eng, closeStore := openEngine(t, data, discardLogger())
	defer closeStore()
	for query, want := range map[string]int{
		"identifier=urn:example:mrn|m1234": 1,
		"family=family1999":                1,
		"birthdate=1977":                   20,
		"gender=female":                    2000,
	} {
		if got := countPatients(t, eng, query); got != want {
			t.Errorf("%s: %d, want %d", query, got, want)
		}
	}
}

// openEngine opens the embedded store in dir, logging to log, and an
// engine over it; the function returned closes the store.
func openEngine(t *testing.T, dir string, log *slog.Logger) (*engine.Engine, func()) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), dir, sqlite.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(store, engine.Options{Logger: discardLogger()})
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	return eng, func() { store.Close() }
}

// countPatients returns the number of Patients a search finds.
func countPatients(t *testing.T, eng *engine.Engine, query string) int {
	t.Helper()
	v, err := url.ParseQuery(query + "&_summary=count")
	if err != nil {
		t.Fatal(err)
	}
	page, err := eng.Search(context.Background(), engine.SearchRequest{Type: "Patient", Params: v, Strict: true})
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return page.Total
}

// writePatients writes n Patients, one per line, to dir/patients.ndjson:
// Patient/p{i}, identifier urn:example:mrn|m{i}, born in 19{i%100}.
func writePatients(t *testing.T, dir string, n int) []string {
	t.Helper()
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","identifier":[{"system":"urn:example:mrn","value":"m%d"}],"name":[{"family":"Family%d","given":["Given"]}],"gender":"female","birthDate":"19%02d-01-01"}`, i, i, i, i%100)
	}
	if err := os.WriteFile(filepath.Join(dir, "patients.ndjson"), []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestImportSurvivesKill kills "cpms import" with SIGKILL while it loads
// with its search indexes deferred: the store opens again, builds them,
// and finds every resource the import had written, and only those.
func TestImportSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the cpms binary")
	}
	bin := buildBinary(t)
	data, in := t.TempDir(), t.TempDir()
	writePatients(t, in, 40000)
	cmd := exec.Command(bin, "import", "--data", data, "--chunk", "200", in)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deferred := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "search indexes deferred") {
				close(deferred)
				signalled = true
			}
		}
	}()
	select {
	case <-deferred:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the import never deferred its indexes")
	}
	time.Sleep(time.Second)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the import ended before the kill: it must be larger for this test to mean anything")
	}

	var logs bytes.Buffer
	eng, closeStore := openEngine(t, data, slog.New(slog.NewTextHandler(&logs, nil)))
	defer closeStore()
	if !strings.Contains(logs.String(), "search indexes built") {
		t.Errorf("opening the store after the kill did not build the indexes:\n%s", logs.String())
	}
	stored := countPatients(t, eng, "_id:not=none")
	if stored == 0 || stored == 40000 {
		t.Fatalf("%d Patients stored before the kill: the test needs some, not all", stored)
	}
	for _, q := range []string{"gender=female", "identifier=urn:example:mrn|", "birthdate=ge1900", "family=family"} {
		if got := countPatients(t, eng, q); got != stored {
			t.Errorf("%s: %d found, %d stored", q, got, stored)
		}
	}
}
