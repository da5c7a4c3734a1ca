package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/store/sqlite"
	"github.com/cpms-fhir/cpms/terminology"
)

// TestTerminologyImportCommand runs "cpms terminology import" on the
// release fixtures of every format, checks the server's terminology
// service finds what was stored when it starts, that importing again
// changes nothing, and that a newer release adds a version beside the
// old one.
func TestTerminologyImportCommand(t *testing.T) {
	data := t.TempDir()
	fx := func(name string) string { return filepath.Join("importers", "terminology", "testdata", name) }
	files := []string{fx("hpo-mini.obo"), fx("icd10-claml.xml"), fx("loinc-Loinc.csv"),
		// The classification and the translation come before the
		// nomenclature they apply to: order does not matter.
		fx("orpha-product3-186.xml"), fx("orpha-product1-fr.xml"), fx("orpha-product1-en.xml")}
	var out, errs bytes.Buffer
	if code := run(append([]string{"terminology", "import", "--data", data}, files...), &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
	}
	for _, want := range []string{"stored CodeSystem/hpo-", "http://hl7.org/fhir/sid/icd-10 version", "http://loinc.org version",
		"https://www.orpha.net version", "stored ConceptMap/"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report does not say %q:\n%s", want, out.String())
		}
	}

	svc := startedService(t, data)
	for _, tc := range []struct{ system, code string }{
		{terminology.HPOURL, "HP:0001250"}, {terminology.ICD10URL, "G00.1"}, {terminology.LOINCURL, "8302-2"}, {terminology.OrphaURL, "ORPHA:558"},
	} {
		sys, ok := svc.System(tc.system, "")
		if !ok || !sys.Has(tc.code) {
			t.Errorf("%s|%s is not served after the import (system found: %v)", tc.system, tc.code, ok)
		}
	}
	// The French translation and the classification were merged.
	r, err := svc.Lookup(terminology.OrphaURL, "", "ORPHA:558", "fr", nil)
	if err != nil || !strings.Contains(strings.ToLower(r.Display), "syndrome de marfan") {
		t.Errorf("ORPHA:558 in French: %+v %v", r, err)
	}

	// Again: nothing new is stored.
	out.Reset()
	if code := run(append([]string{"terminology", "import", "--data", data}, files...), &out, &errs); code != 0 {
		t.Fatalf("second import: exit %d\n%s", code, errs.String())
	}
	if n := versions(t, data, "CodeSystem"); n != 4 {
		t.Errorf("%d CodeSystem versions after importing twice, want 4", n)
	}

	// A newer HPO release is a new CodeSystem beside the old one.
	newer := filepath.Join(t.TempDir(), "hp.obo")
	body, err := os.ReadFile(fx("hpo-mini.obo"))
	if err != nil {
		t.Fatal(err)
	}
	body = bytes.Replace(body, []byte("data-version: hp/releases/2026-01-08"), []byte("data-version: hp/releases/2099-01-01"), 1)
	if !bytes.Contains(body, []byte("2099-01-01")) {
		t.Fatal("the fixture has no data-version line to change")
	}
	if err := os.WriteFile(newer, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"terminology", "import", "--data", data, newer}, &out, &errs); code != 0 {
		t.Fatalf("newer release: exit %d\n%s", code, errs.String())
	}
	svc = startedService(t, data)
	if sys, _ := svc.System(terminology.HPOURL, ""); sys == nil || !strings.HasPrefix(sys.Version, "2099-01-01") {
		t.Errorf("the newer HPO release is not the latest: %+v", sys)
	}
	if n := len(svc.Systems()); n < 4 {
		t.Errorf("%d systems", n)
	}

	// Bad input: an unknown format, a malformed release.
	bad := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(bad, []byte("hello"), 0o600)
	errs.Reset()
	if code := run([]string{"terminology", "import", "--data", data, bad}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "not a release") {
		t.Errorf("unknown format: exit %d, %s", code, errs.String())
	}
	broken := filepath.Join(t.TempDir(), "broken.obo")
	os.WriteFile(broken, []byte("format-version: 1.2\n\n[Term]\nid: HP:0000001\nname All\n"), 0o600)
	errs.Reset()
	if code := run([]string{"terminology", "import", "--data", data, broken}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "line 5") {
		t.Errorf("malformed release: exit %d, %s", code, errs.String())
	}
	if code := run([]string{"terminology", "import", "--data", data}, &out, &errs); code != 2 {
		t.Errorf("no file: exit %d, want 2", code)
	}
}

// startedService opens the store in dir and starts an engine observed by
// a terminology service without the seed, as `cpms serve` wires it.
func startedService(t *testing.T, dir string) *terminology.Service {
	t.Helper()
	store, err := sqlite.Open(context.Background(), dir, sqlite.Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	svc := terminology.New()
	tm := &terms{Service: svc, log: discardLogger()}
	eng, err := engine.New(store, engine.Options{Logger: discardLogger(), Observe: tm.observe, ObserveTypes: terminology.ResourceTypes})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return svc
}

// versions counts the stored versions of type t in the store in dir.
func versions(t *testing.T, dir string, typ fhir.ResourceType) int {
	t.Helper()
	eng, closeStore := openEngine(t, dir, discardLogger())
	defer closeStore()
	h, err := eng.History(context.Background(), engine.HistoryRequest{Type: typ, Params: url.Values{"_count": {"100"}}})
	if err != nil {
		t.Fatal(err)
	}
	return len(h.Versions)
}
