package fhirpatch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/fhirpatch"
	"github.com/cpms-fhir/cpms/internal/testfixture"
)

// TestOfficialCases runs the FHIRPath Patch test cases of the FHIR
// specification (../shared/data/fhir/patch-tests/fhir-patch-tests.xml),
// converted from XML to JSON: each case's patch (a Parameters resource) is
// parsed and applied to its input, and the result must equal its output,
// or, for a case with an <error>, Parse or Apply must fail. A case's mode
// (both or forwards) concerns generating patches, not applying them: every
// case runs.
func TestOfficialCases(t *testing.T) {
	f, err := os.Open(testfixture.SharedData(t, "fhir", "patch-tests", "fhir-patch-tests.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests, err := parseXML(f)
	if err != nil {
		t.Fatal(err)
	}
	cases := tests.elements()
	if len(cases) == 0 {
		t.Fatal("no test cases")
	}
	for _, c := range cases {
		name, _ := c.attr("name")
		t.Run(name, func(t *testing.T) { runCase(t, c) })
	}
}

// runCase runs one <case> of the official test cases.
func runCase(t *testing.T, c *node) {
	parts := map[string]*node{} // input, diff, output or error
	for _, e := range c.elements() {
		parts[e.name.Local] = e
	}
	input := content(t, parts["input"])
	p, err := fhirpatch.Parse(content(t, parts["diff"]))
	if e := parts["error"]; e != nil {
		msg, _ := e.attr("msg")
		if err == nil {
			var got []byte
			if got, err = p.Apply(input); err == nil {
				t.Fatalf("the patch applied, giving %s; want the error %q", got, msg)
			}
		}
		var fe *fhir.Error
		if !errors.As(err, &fe) || fe.Kind == fhir.KindInternal {
			t.Errorf("error %v (%T) is not a client *fhir.Error", err, err)
		}
		t.Logf("error: %v (the reference implementation says %q)", err, msg)
		return
	}
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got, err := p.Apply(input)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := content(t, parts["output"])
	if diffs := jsonDiff("", decodeJSON(t, got), decodeJSON(t, want)); len(diffs) > 0 {
		t.Errorf("patched resource differs from the expected output:\n%s\ngot  %s\nwant %s",
			strings.Join(diffs, "\n"), got, want)
	}
}

// content returns as JSON the one resource inside the case part n (input,
// diff or output), failing the test when it is missing or not convertible.
func content(t *testing.T, n *node) []byte {
	t.Helper()
	if n == nil {
		t.Fatal("the case lacks a part")
	}
	elems := n.elements()
	if len(elems) != 1 {
		t.Fatalf("<%s> holds %d elements, want one resource", n.name.Local, len(elems))
	}
	b, err := resourceJSON(elems[0])
	if err != nil {
		t.Fatalf("<%s>: %v", n.name.Local, err)
	}
	return b
}

// decodeJSON decodes JSON the way the server does (numbers as json.Number).
func decodeJSON(t *testing.T, data []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
	return v
}

// jsonDiff returns the differences between the decoded JSON values got and
// want, each naming the path (from path) where they differ, sorted. Object
// keys may come in any order; arrays are compared item by item; a missing
// property differs from an empty array or object; strings, Narrative divs
// included, and numbers must be equal as written.
func jsonDiff(path string, got, want any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			break
		}
		var diffs []string
		for k, wv := range w {
			if gv, ok := g[k]; ok {
				diffs = append(diffs, jsonDiff(join(path, k), gv, wv)...)
			} else {
				diffs = append(diffs, fmt.Sprintf("%s: missing, want %s", join(path, k), show(wv)))
			}
		}
		for k, gv := range g {
			if _, ok := w[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s: unexpected %s", join(path, k), show(gv)))
			}
		}
		slices.Sort(diffs)
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			break
		}
		var diffs []string
		for i := range w {
			diffs = append(diffs, jsonDiff(fmt.Sprintf("%s[%d]", path, i), g[i], w[i])...)
		}
		return diffs
	}
	if reflect.DeepEqual(got, want) {
		return nil
	}
	return []string{fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want))}
}

// join returns the path of the property key of the object at path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// show returns v as JSON, for messages.
func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
