package validate

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/internal/gendata"
)

// sharedDir returns ../shared/data, or skips the test when it is absent.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := gendata.SharedDir(".")
	if err != nil {
		t.Skipf("shared test data not found: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "fhir", "definitions-r4", "profiles-others.json.gz")); err != nil {
		t.Skipf("shared test data not found (%v): the R4 profile tests need ../shared/data", err)
	}
	return dir
}

func readGz(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// r4Validator returns a validator that knows the R4 base definitions
// (resources and types) and the core profiles (vital signs...), with
// term as its terminology.
func r4Validator(t testing.TB, term Terminology) *Validator {
	t.Helper()
	dir := filepath.Join(sharedDir(t), "fhir", "definitions-r4")
	v := New(Options{Terminology: term, Logger: slog.New(slog.DiscardHandler)})
	for _, name := range []string{"profiles-types.json.gz", "profiles-resources.json.gz", "profiles-others.json.gz", "extension-definitions.json.gz"} {
		n, err := v.AddBundle(readGz(t, filepath.Join(dir, name)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n == 0 {
			t.Fatalf("%s: no StructureDefinition added", name)
		}
	}
	return v
}

var examplesOnce = sync.OnceValues(func() (map[string][]byte, error) {
	dir, err := gendata.SharedDir(".")
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, "fhir", "examples-r4.tar.gz"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		out[filepath.Base(h.Name)] = b
	}
})

// example returns an R4 example by file name (Observation-example.json).
func example(t testing.TB, name string) []byte {
	t.Helper()
	sharedDir(t)
	all, err := examplesOnce()
	if err != nil {
		t.Fatal(err)
	}
	b, ok := all[name]
	if !ok {
		t.Fatalf("no example %s", name)
	}
	return b
}

// acceptAll is a terminology that knows every code of every value set.
type acceptAll struct{ calls int }

func (a *acceptAll) CheckCoding(system, version, code, display, valueSet, where string) []fhir.Issue {
	a.calls++
	return nil
}

// vitalsExamples are the R4 examples claiming the vital signs profile,
// with the specific profile of their vital sign.
var vitalsExamples = []struct{ file, profile string }{
	{"Observation-blood-pressure.json", "bp"},
	{"Observation-blood-pressure-cancel.json", "bp"},
	{"Observation-blood-pressure-dar.json", "bp"},
	{"Observation-bmi.json", "bmi"},
	{"Observation-body-height.json", "bodyheight"},
	{"Observation-body-length.json", ""},
	{"Observation-body-temperature.json", "bodytemp"},
	{"Observation-head-circumference.json", "headcircum"},
	{"Observation-heart-rate.json", "heartrate"},
	{"Observation-respiratory-rate.json", "resprate"},
	{"Observation-satO2.json", "oxygensat"},
	{"Observation-vitals-panel.json", "vitalspanel"},
	{"Observation-example.json", "bodyweight"}, // claims no profile
}

// TestR4VitalSignsExamples validates the R4 examples of vital signs
// against the vital signs profile (which most claim in meta.profile) and
// against the profile of their vital sign: none may have an error.
func TestR4VitalSignsExamples(t *testing.T) {
	term := &acceptAll{}
	v := r4Validator(t, term)
	ctx := context.Background()
	for _, ex := range vitalsExamples {
		t.Run(ex.file, func(t *testing.T) {
			body := example(t, ex.file)
			var extra []string
			if ex.profile != "" {
				extra = append(extra, coreBase+ex.profile)
			}
			if ex.file == "Observation-example.json" {
				extra = append(extra, coreBase+"vitalsigns")
			}
			issues := v.Check(ctx, "Observation", body, extra)
			for _, is := range issues {
				t.Logf("%s %s %v: %s", is.Severity, is.Code, is.Expression, is.Diagnostics)
			}
			if fhir.HasErrors(issues) {
				t.Errorf("%s has errors against %v", ex.file, extra)
			}
		})
	}
	if term.calls == 0 {
		t.Error("no binding was checked")
	}
}

// mutate decodes an example, applies f and encodes it again.
func mutate(t testing.TB, body []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestR4ExamplesClaimingProfiles validates every R4 example that claims a
// profile in meta.profile (vital signs, cqf-questionnaire) against it:
// none may have an error, and every claimed profile must be known.
func TestR4ExamplesClaimingProfiles(t *testing.T) {
	v := r4Validator(t, &acceptAll{})
	sharedDir(t)
	all, err := examplesOnce()
	if err != nil {
		t.Fatal(err)
	}
	claiming := 0
	for name, body := range all {
		var head struct {
			ResourceType string `json:"resourceType"`
			Meta         struct {
				Profile []string `json:"profile"`
			} `json:"meta"`
		}
		if json.Unmarshal(body, &head) != nil || len(head.Meta.Profile) == 0 {
			continue
		}
		claiming++
		issues := v.Check(context.Background(), fhir.ResourceType(head.ResourceType), body, nil)
		for _, is := range issues {
			if is.Severity != fhir.SeverityInformation {
				t.Errorf("%s (%v): %s %s %v: %s", name, head.Meta.Profile, is.Severity, is.Code, is.Expression, is.Diagnostics)
			}
		}
	}
	if claiming < 13 {
		t.Errorf("%d examples claim a profile, want at least 13", claiming)
	}
}

// TestR4Mutations breaks R4 examples that conform to a core profile and
// checks the issues and their locations.
func TestR4Mutations(t *testing.T) {
	v := r4Validator(t, &acceptAll{})
	const bw = coreBase + "bodyweight"
	tests := []struct {
		name, file, profile string
		mutate              func(m map[string]any)
		want                []want
	}{
		{"body weight without unit", "Observation-example.json", bw, func(m map[string]any) {
			delete(obj(m, "valueQuantity"), "unit")
		}, []want{{fhir.SeverityError, fhir.IssueRequired, "Observation.value.unit",
			"Observation.value[x]:valueQuantity.unit: found 0, the profile requires min 1 (profile " + bw + ")"}}},
		{"body weight in another unit system", "Observation-example.json", bw, func(m map[string]any) {
			obj(m, "valueQuantity")["system"] = "http://example.org/units"
		}, []want{{fhir.SeverityError, fhir.IssueValue, "Observation.value.system",
			`Observation.value[x]:valueQuantity.system: the value "http://example.org/units" is not the fixed value "http://unitsofmeasure.org"`}}},
		{"body weight with another LOINC code", "Observation-example.json", bw, func(m map[string]any) {
			obj(m, "code", "coding", 0)["code"] = "3141-9"
		}, []want{{fhir.SeverityError, fhir.IssueRequired, "Observation.code.coding",
			"the slice BodyWeightCode of Observation.code.coding: found 0, the profile requires min 1"}}},
		{"body weight without subject", "Observation-example.json", bw, func(m map[string]any) {
			delete(m, "subject")
		}, []want{{fhir.SeverityError, fhir.IssueRequired, "Observation.subject", "Observation.subject: found 0, the profile requires min 1"}}},
		{"body weight of a group", "Observation-example.json", bw, func(m map[string]any) {
			obj(m, "subject")["reference"] = "Group/101"
		}, []want{{fhir.SeverityError, fhir.IssueInvalid, "Observation.subject", "the reference Group/101 is to a resource of type Group, the profile allows Patient"}}},
		{"body weight as a string", "Observation-example.json", bw, func(m map[string]any) {
			delete(m, "valueQuantity")
			m["valueString"] = "185 lbs"
		}, []want{
			{fhir.SeverityError, fhir.IssueStructure, "Observation.value", "Observation.value[x]: the value matches none of the slices, and the slicing is closed"},
			{fhir.SeverityError, fhir.IssueStructure, "Observation.value", "Observation.value[x]: the type string is not allowed, the profile allows Quantity"},
		}},
		{"body weight without value", "Observation-example.json", bw, func(m map[string]any) {
			delete(m, "valueQuantity")
		}, []want{{fhir.SeverityError, fhir.IssueInvariant, "Observation",
			"constraint vs-2 failed: If there is no component or hasMember element then either a value[x] or a data absent reason must be present."}}},
		{"body weight of a year", "Observation-example.json", bw, func(m map[string]any) {
			m["effectiveDateTime"] = "2016"
		}, []want{{fhir.SeverityError, fhir.IssueInvariant, "Observation.effective", "constraint vs-1 failed"}}},
		{"body weight without category", "Observation-example.json", bw, func(m map[string]any) {
			delete(m, "category")
		}, []want{
			{fhir.SeverityError, fhir.IssueRequired, "Observation.category", "Observation.category: found 0, the profile requires min 1"},
			{fhir.SeverityError, fhir.IssueRequired, "Observation.category", "the slice VSCat of Observation.category: found 0"},
		}},
		{"blood pressure without diastolic", "Observation-blood-pressure.json", coreBase + "bp", func(m map[string]any) {
			m["component"] = arr(m, "component")[:1]
		}, []want{
			{fhir.SeverityError, fhir.IssueRequired, "Observation.component", "Observation.component: found 1, the profile requires min 2 (profile " + coreBase + "bp)"},
			{fhir.SeverityError, fhir.IssueRequired, "Observation.component",
				"the slice DiastolicBP of Observation.component: found 0, the profile requires min 1 (profile " + coreBase + "bp)"},
		}},
		{"blood pressure in another unit system", "Observation-blood-pressure.json", coreBase + "bp", func(m map[string]any) {
			obj(m, "component", 1, "valueQuantity")["system"] = "http://example.org/units"
		}, []want{{fhir.SeverityError, fhir.IssueValue, "Observation.component[1].value.system",
			"Observation.component:DiastolicBP.value[x].system: the value"}}},
		{"blood pressure component without value", "Observation-blood-pressure.json", coreBase + "bp", func(m map[string]any) {
			delete(obj(m, "component", 0), "valueQuantity")
		}, []want{ // the example claims vitalsigns too
			{fhir.SeverityError, fhir.IssueInvariant, "Observation.component[0]", "constraint vs-3 failed: If there is no a value a data absent reason must be present (profile " + coreBase + "bp)"},
			{fhir.SeverityError, fhir.IssueInvariant, "Observation.component[0]", "constraint vs-3 failed: If there is no a value a data absent reason must be present (profile " + coreBase + "vitalsigns)"},
		}},
		{"heart rate without effective time", "Observation-heart-rate.json", coreBase + "heartrate", func(m map[string]any) {
			delete(m, "effectiveDateTime")
		}, []want{
			{fhir.SeverityError, fhir.IssueRequired, "Observation.effective", "Observation.effective[x]: found 0, the profile requires min 1 (profile " + coreBase + "heartrate)"},
			{fhir.SeverityError, fhir.IssueRequired, "Observation.effective", "Observation.effective[x]: found 0, the profile requires min 1 (profile " + coreBase + "vitalsigns)"},
		}},
		{"vital sign claimed, category broken", "Observation-heart-rate.json", "", func(m map[string]any) {
			obj(m, "category", 0, "coding", 0)["code"] = "laboratory"
		}, []want{{fhir.SeverityError, fhir.IssueRequired, "Observation.category",
			"the slice VSCat of Observation.category: found 0, the profile requires min 1 (profile " + coreBase + "vitalsigns)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var extra []string
			if tt.profile != "" {
				extra = []string{tt.profile}
			}
			body := mutate(t, example(t, tt.file), tt.mutate)
			if issues := v.Check(context.Background(), "Observation", example(t, tt.file), extra); fhir.HasErrors(issues) {
				t.Fatalf("the example itself has errors: %v", issues)
			}
			assertIssues(t, v.Check(context.Background(), "Observation", body, extra), tt.want)
		})
	}
}
