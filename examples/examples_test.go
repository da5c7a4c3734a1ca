package examples

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/examples/internal/synth"
)

var update = flag.Bool("update", false, "rewrite eurobloodnet/ from internal/synth")

// TestBundlesUpToDate: the files in eurobloodnet/ are what internal/synth
// generates (go generate ./examples rewrites them), and nothing else.
func TestBundlesUpToDate(t *testing.T) {
	want, err := synth.Files()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		old, _ := filepath.Glob(filepath.Join(Dir, "*.json"))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range want {
			if err := os.WriteFile(filepath.Join(Dir, f.Name), f.JSON, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	got, err := Bundles()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d Bundles in %s, the generator makes %d: run go generate ./examples", len(got), Dir, len(want))
	}
	for i := range want {
		if got[i].Name != want[i].Name || !bytes.Equal(got[i].JSON, want[i].JSON) {
			t.Errorf("%s differs from the generator's %s: run go generate ./examples", got[i].Name, want[i].Name)
		}
	}
}

// TestEntries: every Bundle is a transaction of PUTs to distinct
// resources, each claiming a CPMS profile, with a urn:uuid fullUrl.
func TestEntries(t *testing.T) {
	bundles, err := Bundles()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, b := range bundles {
		entries, err := b.Entries()
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 {
			t.Errorf("%s: no entries", b.Name)
		}
		for _, e := range entries {
			ref := string(e.Type) + "/" + string(e.ID)
			if prev, dup := seen[ref]; dup {
				t.Errorf("%s: %s is in %s too", b.Name, ref, prev)
			}
			seen[ref] = b.Name
			if !strings.HasPrefix(e.FullURL, "urn:uuid:") {
				t.Errorf("%s: %s has fullUrl %q", b.Name, ref, e.FullURL)
			}
			var head struct {
				ID   string `json:"id"`
				Meta struct {
					Profile []string `json:"profile"`
				} `json:"meta"`
				Questionnaire string `json:"questionnaire"`
			}
			if err := json.Unmarshal(e.Body, &head); err != nil {
				t.Fatalf("%s: %s: %v", b.Name, ref, err)
			}
			if head.ID != string(e.ID) {
				t.Errorf("%s: %s has id %q", b.Name, ref, head.ID)
			}
			switch {
			case e.Type == "QuestionnaireResponse":
				if head.Questionnaire != "http://cpms-fhir.org/fhir/Questionnaire/cpms-consultation-form|1.0.0" {
					t.Errorf("%s: %s answers %q, not the consultation form", b.Name, ref, head.Questionnaire)
				}
			case len(head.Meta.Profile) != 1 || !strings.HasPrefix(head.Meta.Profile[0], "http://cpms-fhir.org/fhir/StructureDefinition/cpms-"):
				t.Errorf("%s: %s claims %v, not one CPMS profile", b.Name, ref, head.Meta.Profile)
			}
		}
	}
}
