package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
