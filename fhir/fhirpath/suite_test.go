package fhirpath

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir/model"
)

// The official FHIRPath test suite for FHIR R4 (tests-fhir-r4.xml), run on
// the JSON forms of its input files. Every test must pass except those on
// the reviewed skip list in testdata/suite-skips.txt.

type suiteFile struct {
	Groups []struct {
		Name  string      `xml:"name,attr"`
		Tests []suiteTest `xml:"test"`
	} `xml:"group"`
}

type suiteTest struct {
	Name         string `xml:"name,attr"`
	InputFile    string `xml:"inputfile,attr"`
	Predicate    string `xml:"predicate,attr"`
	Mode         string `xml:"mode,attr"`
	Ordered      string `xml:"ordered,attr"`
	CheckOrdered string `xml:"checkOrderedFunctions,attr"`
	Expression   struct {
		Text    string `xml:",chardata"`
		Invalid string `xml:"invalid,attr"`
		Mode    string `xml:"mode,attr"`
	} `xml:"expression"`
	Outputs []struct {
		Type string `xml:"type,attr"`
		Text string `xml:",chardata"`
	} `xml:"output"`
}

func loadSkips(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "suite-skips.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	skips := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(reason) == "" {
			t.Fatalf("suite-skips.txt: %q needs a reason (name: reason)", line)
		}
		skips[strings.TrimSpace(name)] = strings.TrimSpace(reason)
	}
	return skips
}

func TestOfficialSuite(t *testing.T) {
	dir := filepath.Join(sharedDataDir(t), "fhir", "fhirpath-tests")
	data, err := os.ReadFile(filepath.Join(dir, "tests-fhir-r4.xml"))
	if err != nil {
		t.Skipf("FHIRPath suite not available: %v", err)
	}
	var suite suiteFile
	if err := xml.Unmarshal(data, &suite); err != nil {
		t.Fatal(err)
	}
	skips := loadSkips(t)
	inputs := map[string]any{}
	total, passed, skipped := 0, 0, 0
	seenSkip := map[string]bool{}
	for _, g := range suite.Groups {
		for _, tc := range g.Tests {
			total++
			if reason, ok := skips[tc.Name]; ok {
				skipped++
				seenSkip[tc.Name] = true
				_ = reason
				continue
			}
			var input any
			if tc.InputFile != "" {
				name := strings.TrimSuffix(tc.InputFile, filepath.Ext(tc.InputFile)) + ".json"
				in, ok := inputs[name]
				if !ok {
					in = readJSONFile(t, filepath.Join(dir, name))
					inputs[name] = in
				}
				input = in
			}
			if msg := runSuiteTest(tc, input); msg != "" {
				t.Errorf("%s/%s: %s\n\texpression: %s", g.Name, tc.Name, msg, strings.TrimSpace(tc.Expression.Text))
			} else {
				passed++
			}
		}
	}
	for name := range skips {
		if !seenSkip[name] {
			t.Errorf("suite-skips.txt lists %s, which is not in the suite", name)
		}
	}
	t.Logf("fhirpath suite: %d/%d passed, %d skipped (see testdata/suite-skips.txt)", passed, total, skipped)
}

func runSuiteTest(tc suiteTest, input any) string {
	var opts []Option
	strict := tc.Mode == "strict" || tc.Expression.Mode == "strict"
	if strict {
		opts = append(opts, WithStrict())
	}
	expr, err := Compile(tc.Expression.Text)
	invalid := tc.Expression.Invalid != ""
	if err == nil && strict {
		// Strict mode also checks the expression against the input's type.
		if m, ok := input.(map[string]any); ok {
			rt, _ := m["resourceType"].(string)
			err = expr.Check(rt, CheckOptions{OrderedFunctions: tc.CheckOrdered == "true"})
		}
	}
	if err != nil {
		if invalid {
			return ""
		}
		return fmt.Sprintf("compile error: %v", err)
	}
	res, err := expr.Evaluate(input, opts...)
	if err != nil {
		if invalid {
			return ""
		}
		return fmt.Sprintf("evaluation error: %v", err)
	}
	if invalid {
		return fmt.Sprintf("expected an error (%s), got %v", tc.Expression.Invalid, res)
	}
	if tc.Predicate == "true" {
		res = Collection{boolItem(len(res) > 0)}
	}
	if len(res) != len(tc.Outputs) {
		return fmt.Sprintf("got %d items %v, want %d", len(res), res, len(tc.Outputs))
	}
	used := make([]bool, len(res))
	for i, want := range tc.Outputs {
		if tc.Ordered == "false" {
			found := false
			for j := range res {
				if !used[j] && outputMatches(res[j], want.Type, want.Text) {
					used[j], found = true, true
					break
				}
			}
			if !found {
				return fmt.Sprintf("no item matches %s %q in %v", want.Type, want.Text, res)
			}
			continue
		}
		if !outputMatches(res[i], want.Type, want.Text) {
			return fmt.Sprintf("item %d: got %v, want %s %q", i, Collection{res[i]}, want.Type, want.Text)
		}
	}
	return ""
}

// outputMatches compares a result item with an expected output of the suite.
func outputMatches(it Item, typ, text string) bool {
	if typ != "" && !typeMatches(it, typ) {
		return false
	}
	switch it.SystemType() {
	case model.SystemDecimal, model.SystemInteger:
		if it.Type() != nil || it.SystemType() == model.SystemInteger {
			if s, ok := it.toString(); ok && s == text {
				return true
			}
		}
		got, ok1 := it.AsDecimal()
		want, ok2 := ParseDecimal(text)
		if !ok1 || !ok2 || got.Cmp(want) != 0 {
			return false
		}
		return typ != "" || got.Scale() == want.Scale()
	case model.SystemDate, model.SystemDateTime, model.SystemTime:
		d, ok := it.AsDateTime()
		if !ok {
			return false
		}
		want := strings.TrimPrefix(strings.TrimPrefix(text, "@"), "T")
		return d.String() == strings.TrimSuffix(want, "T")
	}
	s, ok := it.toString()
	return ok && s == text
}

func typeMatches(it Item, typ string) bool {
	if it.Type() != nil {
		if it.FHIRType() == typ {
			return true
		}
		// Quantity results may be FHIR Quantities.
		return strings.EqualFold(typ, "Quantity") && it.SystemType() == model.SystemQuantity
	}
	return strings.EqualFold(it.SystemType().Name(), typ)
}
