package validate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
)

// want is an expected issue: its severity, code and location exactly, and
// a part of its diagnostics.
type want struct {
	sev  fhir.Severity
	code fhir.IssueType
	loc  string
	msg  string
}

// assertIssues checks that got holds exactly the wanted issues, in any
// order.
func assertIssues(t *testing.T, got []fhir.Issue, wants []want) {
	t.Helper()
	used := make([]bool, len(got))
	ok := true
	for _, w := range wants {
		found := false
		for i, is := range got {
			if used[i] || is.Severity != w.sev || is.Code != w.code || strings.Join(is.Expression, ",") != w.loc ||
				!strings.Contains(is.Diagnostics, w.msg) {
				continue
			}
			used[i], found = true, true
			break
		}
		if !found {
			ok = false
			t.Errorf("missing issue: %s %s at %q: ...%s...", w.sev, w.code, w.loc, w.msg)
		}
	}
	for i, is := range got {
		if !used[i] {
			ok = false
			t.Errorf("unexpected issue: %s %s at %v: %s", is.Severity, is.Code, is.Expression, is.Diagnostics)
		}
	}
	if !ok {
		for _, is := range got {
			t.Logf("got: %s %s %v: %s", is.Severity, is.Code, is.Expression, is.Diagnostics)
		}
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit decodes a JSON resource, applies f and encodes it again.
func edit(t testing.TB, body string, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	if f != nil {
		f(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// obj and arr navigate decoded JSON in mutations.
func obj(v any, keys ...any) map[string]any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v.(map[string]any)
}

func arr(v any, key string) []any { return v.(map[string]any)[key].([]any) }

// fakeTerm is a terminology service over a few systems and value sets,
// with the findings of the server's CheckCoding.
type fakeTerm struct {
	systems   map[string][]string // system → codes
	valueSets map[string][]string // value set → system|code
}

func newFakeTerm() *fakeTerm {
	return &fakeTerm{
		systems: map[string][]string{
			"http://hl7.org/fhir/administrative-gender":              {"male", "female", "other", "unknown"},
			"https://www.orpha.net":                                  {"558", "166024"},
			"http://hl7.org/fhir/sid/icd-10":                         {"Q87.4"},
			"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus": {"M", "S", "U"},
		},
		valueSets: map[string][]string{
			"http://example.org/fhir/ValueSet/cpms-gender": {"http://hl7.org/fhir/administrative-gender|male",
				"http://hl7.org/fhir/administrative-gender|female"},
			"http://example.org/fhir/ValueSet/cpms-diagnosis": {"https://www.orpha.net|558", "https://www.orpha.net|166024"},
			"http://example.org/fhir/ValueSet/cpms-marital": {"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus|M",
				"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus|S"},
		},
	}
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (f *fakeTerm) CheckCoding(system, version, code, display, valueSet, where string) []fhir.Issue {
	issue := func(sev fhir.Severity, code fhir.IssueType, at, msg string) fhir.Issue {
		return fhir.Issue{Severity: sev, Code: code, Expression: []string{at}, Diagnostics: msg}
	}
	if system == "" {
		if valueSet == "" {
			return nil
		}
		return []fhir.Issue{issue(fhir.SeverityWarning, fhir.IssueCodeInvalid, where, "the coding has no system")}
	}
	var issues []fhir.Issue
	codes, known := f.systems[system]
	switch {
	case !known:
		issues = append(issues, issue(fhir.SeverityWarning, fhir.IssueNotFound, where+".system", "the code system "+system+" is not known"))
	case !has(codes, code):
		return []fhir.Issue{issue(fhir.SeverityError, fhir.IssueCodeInvalid, where+".code", "the code "+code+" is not in the code system "+system)}
	}
	if valueSet == "" {
		return issues
	}
	vs, ok := f.valueSets[valueSet]
	if !ok {
		return append(issues, issue(fhir.SeverityWarning, fhir.IssueNotFound, where, "the value set "+valueSet+" is not known"))
	}
	if !has(vs, system+"|"+code) {
		issues = append(issues, issue(fhir.SeverityError, fhir.IssueCodeInvalid, where, "the code "+system+"#"+code+" is not in the value set "+valueSet))
	}
	return issues
}
