package fhirpath

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir/model"
	"github.com/cpms-fhir/cpms/internal/testfixture"
)

// searchParam is an R4 SearchParameter with a FHIRPath expression.
type searchParam struct {
	Code       string   `json:"code"`
	Base       []string `json:"base"`
	Type       string   `json:"type"`
	Expression string   `json:"expression"`
}

func readGzipFile(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("%v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func loadSearchParams(t testing.TB) []searchParam {
	t.Helper()
	data := readGzipFile(t, filepath.Join(sharedDataDir(t), "fhir", "definitions-r4", "search-parameters.json.gz"))
	var b struct {
		Entry []struct {
			Resource searchParam `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	var out []searchParam
	for _, e := range b.Entry {
		if e.Resource.Expression != "" {
			out = append(out, e.Resource)
		}
	}
	return out
}

// example is one resource of the R4 examples.
type example struct {
	file     string
	resource map[string]any
}

// loadExamples reads the R4 examples, including the resources of Bundle
// entries, grouped by resource type.
func loadExamples(t testing.TB) map[string][]example {
	t.Helper()
	byType := map[string][]example{}
	var add func(file string, m map[string]any)
	add = func(file string, m map[string]any) {
		rt, _ := m["resourceType"].(string)
		byType[rt] = append(byType[rt], example{file: file, resource: m})
		if rt == "Bundle" {
			entries, _ := m["entry"].([]any)
			for _, e := range entries {
				em, _ := e.(map[string]any)
				if r, ok := em["resource"].(map[string]any); ok {
					add(file+"#entry", r)
				}
			}
		}
	}
	testfixture.Examples(t, func(name string, data []byte) {
		m, ok := decodeJSON(t, data).(map[string]any)
		if !ok {
			t.Fatalf("%s: not a JSON object", name)
		}
		add(name, m)
	})
	return byType
}

func TestSearchParameterExpressions(t *testing.T) {
	params := loadSearchParams(t)
	compiled := map[string]*Expression{}
	for _, sp := range params {
		if _, ok := compiled[sp.Expression]; ok {
			continue
		}
		e, err := Compile(sp.Expression)
		if err != nil {
			t.Errorf("%s %s: %v", sp.Base, sp.Code, err)
			continue
		}
		compiled[sp.Expression] = e
	}
	examples := loadExamples(t)
	evals, nonEmpty := 0, 0
	for _, sp := range params {
		e := compiled[sp.Expression]
		if e == nil {
			continue
		}
		for _, base := range sp.Base {
			var targets []example
			if base == "Resource" || base == "DomainResource" {
				for rt, exs := range examples {
					if model.IsSubtypeOf(rt, base) {
						targets = append(targets, exs...)
					}
				}
			} else {
				targets = examples[base]
			}
			for _, ex := range targets {
				res, err := e.Evaluate(ex.resource)
				evals++
				if err != nil {
					t.Errorf("%s.%s on %s: %v\n\t%s", base, sp.Code, ex.file, err, sp.Expression)
					continue
				}
				if len(res) > 0 {
					nonEmpty++
				}
			}
		}
	}
	t.Logf("search parameters: %d with expressions, %d distinct expressions compiled; %d evaluations on the R4 examples without error (%d non-empty)",
		len(params), len(compiled), evals, nonEmpty)
}

type constraint struct {
	key, severity, path, expr string
}

// loadConstraints returns the invariants of the R4 types and resources; with
// includeProfiles, also those of the constraint profiles in the same
// bundles (SimpleQuantity, MoneyQuantity).
func loadConstraints(t testing.TB, includeProfiles bool) []constraint {
	t.Helper()
	var out []constraint
	for _, name := range []string{"profiles-types.json.gz", "profiles-resources.json.gz"} {
		data := readGzipFile(t, filepath.Join(sharedDataDir(t), "fhir", "definitions-r4", name))
		var b struct {
			Entry []struct {
				Resource struct {
					ResourceType string `json:"resourceType"`
					Kind         string `json:"kind"`
					Derivation   string `json:"derivation"`
					Snapshot     struct {
						Element []struct {
							Path       string `json:"path"`
							Constraint []struct {
								Key        string `json:"key"`
								Severity   string `json:"severity"`
								Expression string `json:"expression"`
							} `json:"constraint"`
						} `json:"element"`
					} `json:"snapshot"`
				} `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatal(err)
		}
		for _, e := range b.Entry {
			if e.Resource.ResourceType != "StructureDefinition" || e.Resource.Kind == "logical" {
				continue
			}
			if !includeProfiles && e.Resource.Derivation == "constraint" {
				continue // profiles such as SimpleQuantity constrain other types
			}
			for _, el := range e.Resource.Snapshot.Element {
				for _, c := range el.Constraint {
					if c.Expression != "" {
						out = append(out, constraint{key: c.Key, severity: c.Severity, path: el.Path, expr: c.Expression})
					}
				}
			}
		}
	}
	return out
}

func TestConstraintExpressionsCompile(t *testing.T) {
	cons := loadConstraints(t, true)
	distinct := map[string]bool{}
	failed := 0
	for _, c := range cons {
		if distinct[c.expr] {
			continue
		}
		distinct[c.expr] = true
		if _, err := Compile(c.expr); err != nil {
			failed++
			t.Errorf("%s (%s): %v\n\t%s", c.key, c.path, err, c.expr)
		}
	}
	t.Logf("constraints: %d distinct expressions (%d occurrences), %d compile", len(distinct), len(cons), len(distinct)-failed)
}

// TestConstraintsOnExamples evaluates the invariants of every resource type
// on its R4 examples, at the resource level and on every element they are
// declared on. The examples are expected to be valid.
func TestConstraintsOnExamples(t *testing.T) {
	cons := loadConstraints(t, false)
	examples := loadExamples(t)
	compiled := map[string]*Expression{}
	evals, empty, warnings := 0, 0, 0
	var failures []string
	for _, c := range cons {
		rt, rest, _ := strings.Cut(c.path, ".")
		if !model.IsResourceType(rt) {
			continue
		}
		e := compiled[c.expr]
		if e == nil {
			var err error
			if e, err = Compile(c.expr); err != nil {
				continue
			}
			compiled[c.expr] = e
		}
		var path *Expression
		if rest != "" {
			path = MustCompile(strings.ReplaceAll(rest, "[x]", ""))
		}
		for _, ex := range examples[rt] {
			focus := Collection{ResourceItem(ex.resource)}
			if path != nil {
				var err error
				if focus, err = path.Evaluate(ex.resource); err != nil {
					t.Errorf("%s on %s: path %s: %v", c.key, ex.file, rest, err)
					continue
				}
			}
			for _, it := range focus {
				evals++
				res, err := e.Evaluate(Collection{it}, WithResource(ex.resource))
				if err != nil {
					t.Errorf("%s (%s) on %s: %v\n\t%s", c.key, c.path, ex.file, err, c.expr)
					continue
				}
				if len(res) == 0 {
					// Empty results come from optional elements that are absent
					// (name.matches(...) without a name); FHIR leaves their
					// handling to the validator.
					empty++
					continue
				}
				if b, ok, err := singletonBool(res, "constraint"); err != nil || !ok || !b {
					if c.severity != "error" {
						warnings++ // e.g. dom-6 (no narrative), names not starting with a capital
						continue
					}
					failures = append(failures, c.key+" on "+ex.file+": "+c.expr)
				}
			}
		}
	}
	sort.Strings(failures)
	t.Logf("constraints on examples: %d evaluations: %d empty results, %d warnings, %d errors",
		evals, empty, warnings, len(failures))
	for _, f := range failures {
		t.Error("error-level constraint not satisfied: " + f)
	}
}

// TestDataTypeConstraintsOnExamples evaluates the invariants of the data
// types (per-1, qty-3, ele-1...) on every value of that type found in the R4
// examples.
func TestDataTypeConstraintsOnExamples(t *testing.T) {
	cons := loadConstraints(t, false)
	examples := loadExamples(t)
	desc := MustCompile("descendants()")
	type value struct {
		it   Item
		root map[string]any
		file string
	}
	byType := map[*model.Type][]value{}
	for _, exs := range examples {
		for _, ex := range exs {
			items, err := desc.Evaluate(ex.resource)
			if err != nil {
				t.Fatalf("descendants() on %s: %v", ex.file, err)
			}
			for _, it := range items {
				for tt := it.Type(); tt != nil; tt = tt.Base {
					byType[tt] = append(byType[tt], value{it, ex.resource, ex.file})
				}
			}
		}
	}
	evals, empty, warnings := 0, 0, 0
	for _, c := range cons {
		root, rest, _ := strings.Cut(c.path, ".")
		tt := model.Lookup(root)
		if tt == nil || tt.Kind == model.Resource {
			continue
		}
		e := MustCompile(c.expr)
		var path *Expression
		if rest != "" {
			path = MustCompile(strings.ReplaceAll(rest, "[x]", ""))
		}
		for _, v := range byType[tt] {
			focus := Collection{v.it}
			if path != nil {
				var err error
				if focus, err = path.Evaluate(focus); err != nil {
					t.Errorf("%s on %s: path %s: %v", c.key, v.file, rest, err)
					continue
				}
			}
			for _, it := range focus {
				evals++
				res, err := e.Evaluate(Collection{it}, WithResource(v.root))
				if err != nil {
					t.Errorf("%s (%s) on %s: %v\n\t%s", c.key, c.path, v.file, err, c.expr)
					continue
				}
				if len(res) == 0 {
					empty++
					continue
				}
				if b, ok, err := singletonBool(res, "constraint"); err != nil || !ok || !b {
					if c.severity != "error" {
						warnings++
						continue
					}
					t.Errorf("%s (%s) not satisfied on %s: %s (value %v)", c.key, c.path, v.file, c.expr, Collection{it})
				}
			}
		}
	}
	t.Logf("data type constraints on examples: %d evaluations: %d empty results, %d warnings", evals, empty, warnings)
}

// TestFusedNavigationMatchesSteps checks that walking a chain of member
// accesses in one step (the optimisation applied by Compile) gives the same
// result as navigating one name at a time, for every search parameter on
// every example.
func TestFusedNavigationMatchesSteps(t *testing.T) {
	params := loadSearchParams(t)
	examples := loadExamples(t)
	type pair struct{ fused, steps *Expression }
	exprs := map[string]pair{}
	for _, sp := range params {
		if _, ok := exprs[sp.Expression]; ok {
			continue
		}
		fused := MustCompile(sp.Expression)
		fuseMemberChains = false
		steps, err := Compile(sp.Expression)
		fuseMemberChains = true
		if err != nil {
			t.Fatal(err)
		}
		exprs[sp.Expression] = pair{fused, steps}
	}
	compared := 0
	for _, sp := range params {
		p := exprs[sp.Expression]
		for _, base := range sp.Base {
			for _, ex := range examples[base] {
				a, err1 := p.fused.Evaluate(ex.resource)
				b, err2 := p.steps.Evaluate(ex.resource)
				if (err1 == nil) != (err2 == nil) {
					t.Errorf("%s on %s: errors differ: %v / %v", sp.Expression, ex.file, err1, err2)
					continue
				}
				compared++
				if a.String() != b.String() {
					t.Errorf("%s on %s:\n\tfused %v\n\tsteps %v", sp.Expression, ex.file, a, b)
				}
			}
		}
	}
	t.Logf("%d evaluations compared", compared)
}

// TestCheckDefinitions runs the static checker on every search parameter
// expression (against each of its base types) and every invariant (against
// the type of the element it is declared on): the official expressions must
// not be reported.
func TestCheckDefinitions(t *testing.T) {
	checked := 0
	for _, sp := range loadSearchParams(t) {
		e := MustCompile(sp.Expression)
		for _, base := range sp.Base {
			checked++
			if err := e.Check(base, CheckOptions{}); err != nil {
				t.Errorf("search parameter %s.%s: %v\n\t%s", base, sp.Code, err, sp.Expression)
			}
		}
	}
	for _, c := range loadConstraints(t, false) {
		if c.key == "cid-0" {
			// Known R4 defect: ChargeItemDefinition has no name element.
			if err := MustCompile(c.expr).Check("ChargeItemDefinition", CheckOptions{}); err == nil {
				t.Error("cid-0 should be reported: ChargeItemDefinition has no name")
			}
			continue
		}
		ctx := c.path
		if root, rest, ok := strings.Cut(c.path, "."); ok {
			el, found := model.LookupElement(root, strings.ReplaceAll(rest, "[x]", ""))
			if !found || el.Choice {
				continue
			}
			ctx = el.Type().Name
		}
		checked++
		if err := MustCompile(c.expr).Check(ctx, CheckOptions{}); err != nil {
			t.Errorf("constraint %s on %s: %v\n\t%s", c.key, c.path, err, c.expr)
		}
	}
	t.Logf("%d checks", checked)
}
