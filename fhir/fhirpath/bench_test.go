package fhirpath

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// patientSearchExpressions reads the expressions of the R4 search parameters
// that apply to Patient (testdata/patient-search-expressions.tsv).
func patientSearchExpressions(tb testing.TB) []string {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", "patient-search-expressions.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var exprs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		exprs = append(exprs, fields[len(fields)-1])
	}
	return exprs
}

func compileAll(tb testing.TB, exprs []string) []*Expression {
	tb.Helper()
	out := make([]*Expression, len(exprs))
	for i, s := range exprs {
		e, err := Compile(s)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = e
	}
	return out
}

func TestPatientSearchExpressions(t *testing.T) {
	exprs := compileAll(t, patientSearchExpressions(t))
	patient := readJSONFile(t, filepath.Join("testdata", "Patient-example.json"))
	nonEmpty := 0
	for _, e := range exprs {
		res, err := e.Evaluate(patient)
		if err != nil {
			t.Errorf("%s: %v", e, err)
		}
		if len(res) > 0 {
			nonEmpty++
		}
	}
	if len(exprs) < 25 || nonEmpty < 15 {
		t.Errorf("%d expressions, %d non-empty results", len(exprs), nonEmpty)
	}
}

// BenchmarkCompile compiles all the Patient search parameter expressions
// (one op = all of them).
func BenchmarkCompile(b *testing.B) {
	exprs := patientSearchExpressions(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range exprs {
			if _, err := Compile(s); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkCompileInvariant compiles the longest R4 invariant (dom-3).
func BenchmarkCompileInvariant(b *testing.B) {
	const dom3 = "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(dom3); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPatientSearchParams evaluates every R4 search parameter
// expression that applies to Patient on the R4 example Patient (one op = all
// of them, as done when indexing a write).
//
// The "map" variant passes the decoded resource to every Evaluate; the
// "item" variant types it once with ResourceItem, as an indexer would.
func BenchmarkPatientSearchParams(b *testing.B) {
	exprs := compileAll(b, patientSearchExpressions(b))
	patient := readJSONFile(b, filepath.Join("testdata", "Patient-example.json"))
	for _, v := range []struct {
		name  string
		input any
	}{
		{"map", patient},
		{"item", ResourceItem(patient.(map[string]any))},
	} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, e := range exprs {
					if _, err := e.Evaluate(v.input); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(exprs)), "exprs/op")
		})
	}
}

func benchmarkExpr(b *testing.B, file, expr string) {
	e := MustCompile(expr)
	input := readJSONFile(b, filepath.Join("testdata", file))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Evaluate(input); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPath(b *testing.B) {
	benchmarkExpr(b, "Patient-example.json", "Patient.name.given")
}

func BenchmarkWhere(b *testing.B) {
	benchmarkExpr(b, "Patient-example.json", "Patient.telecom.where(system='phone') | Person.telecom.where(system='phone') | Practitioner.telecom.where(system='phone') | PractitionerRole.telecom.where(system='phone') | RelatedPerson.telecom.where(system='phone')")
}

func BenchmarkResolveIs(b *testing.B) {
	benchmarkExpr(b, "Observation-blood-pressure.json", "Observation.subject.where(resolve() is Patient)")
}

func BenchmarkInvariant(b *testing.B) {
	benchmarkExpr(b, "Patient-example.json", "contact.all(name.exists() or telecom.exists() or address.exists() or organization.exists())")
}

func BenchmarkDescendants(b *testing.B) {
	benchmarkExpr(b, "Patient-example.json", "descendants().count()")
}

// TestConcurrentEvaluation shares compiled expressions between goroutines
// (run with -race).
func TestConcurrentEvaluation(t *testing.T) {
	exprs := compileAll(t, patientSearchExpressions(t))
	inputs := []any{
		readJSONFile(t, filepath.Join("testdata", "Patient-example.json")),
		readJSONFile(t, filepath.Join("testdata", "patient-contained.json")),
		readJSONFile(t, filepath.Join("testdata", "Observation-blood-pressure.json")),
	}
	want := make([][]string, len(inputs))
	for i, in := range inputs {
		for _, e := range exprs {
			res, err := e.Evaluate(in)
			if err != nil {
				t.Fatal(err)
			}
			want[i] = append(want[i], res.String())
		}
	}
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			for n := 0; n < 50; n++ {
				i := (g + n) % len(inputs)
				for j, e := range exprs {
					res, err := e.Evaluate(inputs[i])
					if err == nil && res.String() != want[i][j] {
						err = errorString(e.String() + ": " + res.String() + " != " + want[i][j])
					}
					if err != nil {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
