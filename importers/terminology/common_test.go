package terminology_test

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cpms-fhir/cpms/fhir/validate"
	"github.com/cpms-fhir/cpms/importers/terminology"
	"github.com/cpms-fhir/cpms/internal/gendata"
	ts "github.com/cpms-fhir/cpms/terminology"
)

// releaseFile returns the path of a file under ../shared/data, skipping
// the test when the shared data is not present, or with -short.
func releaseFile(t testing.TB, rel string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: whole releases are not parsed")
	}
	dir, err := gendata.SharedDir(".")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skip("../shared/data not present: ", err)
	}
	return p
}

// parseFile opens name with terminology.Open and parses it.
func parseFile(t testing.TB, name string, parse func(io.Reader) (*ts.CodeSystem, error)) *ts.CodeSystem {
	t.Helper()
	f, err := terminology.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cs, err := parse(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cs
}

var (
	validatorOnce sync.Once
	validator     *validate.Validator
	validatorErr  error
)

// assertValidFHIR checks that cs marshals to JSON the project's FHIR
// validator accepts, and that it follows the importers' conventions.
func assertValidFHIR(t testing.TB, cs *ts.CodeSystem) {
	t.Helper()
	validatorOnce.Do(func() { validator, validatorErr = validate.New() })
	if validatorErr != nil {
		t.Fatal(validatorErr)
	}
	body, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	if err := validator.Validate(body); err != nil {
		t.Fatalf("CodeSystem %s is not valid FHIR: %v", cs.ID, err)
	}
	if cs.Count != len(cs.Concept) {
		t.Errorf("count = %d, want %d", cs.Count, len(cs.Concept))
	}
	for i := 1; i < len(cs.Concept); i++ {
		if cs.Concept[i-1].Code >= cs.Concept[i].Code {
			t.Fatalf("concepts not sorted by code: %q before %q", cs.Concept[i-1].Code, cs.Concept[i].Code)
		}
	}
}

// concept returns the concept of cs with code, failing the test if there
// is none.
func concept(t testing.TB, cs *ts.CodeSystem, code string) *ts.Concept {
	t.Helper()
	for i := range cs.Concept {
		if cs.Concept[i].Code == code {
			return &cs.Concept[i]
		}
	}
	t.Fatalf("%s: no concept %s", cs.ID, code)
	return nil
}

// values returns the values of c's properties with this code, as strings.
func values(c *ts.Concept, code string) []string {
	var out []string
	for _, p := range c.Property {
		if p.Code != code {
			continue
		}
		switch {
		case p.ValueBoolean != nil:
			if *p.ValueBoolean {
				out = append(out, "true")
			} else {
				out = append(out, "false")
			}
		case p.ValueString != "":
			out = append(out, p.ValueString)
		default:
			out = append(out, p.ValueCode)
		}
	}
	return out
}

// designations returns the values of c's designations in language lang
// ("*" for any) that have a use (synonyms) or not (translations).
func designations(c *ts.Concept, lang string, synonym bool) []string {
	var out []string
	for _, d := range c.Designation {
		if (lang == "*" || d.Language == lang) && (d.Use != nil) == synonym {
			out = append(out, d.Value)
		}
	}
	return out
}

// stats counts concepts with property inactive, and property values and
// designations over cs.
func stats(cs *ts.CodeSystem) (inactive int, props map[string]int, designations int) {
	props = map[string]int{}
	for _, c := range cs.Concept {
		for _, p := range c.Property {
			props[p.Code]++
			if p.Code == terminology.PropertyInactive && p.ValueBoolean != nil && *p.ValueBoolean {
				inactive++
			}
		}
		designations += len(c.Designation)
	}
	return inactive, props, designations
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "a.tsv")
	if err := os.WriteFile(plain, []byte("code\tdisplay\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(dir, "a.tsv.gz")
	f, err := os.Create(gz)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte("code\tdisplay\n"))
	zw.Close()
	f.Close()
	for _, name := range []string{plain, gz} {
		r, err := terminology.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(b) != "code\tdisplay\n" {
			t.Errorf("Open(%s) read %q, %v", filepath.Base(name), b, err)
		}
	}
	if _, err := terminology.Open(filepath.Join(dir, "missing.gz")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want not exist", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.gz"), []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := terminology.Open(filepath.Join(dir, "bad.gz")); err == nil {
		t.Error("Open(bad.gz) succeeded")
	}
}
