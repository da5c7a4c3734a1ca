package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/internal/gendata"
)

var updateValidatorCases = flag.Bool("update-validator-cases", false, "rewrite testdata/validator-cases-agree.txt")

// agreeFile lists the shared validator cases on which the server agrees
// with the reference validator: each must keep agreeing.
const agreeFile = "testdata/validator-cases-agree.txt"

// TestValidatorCases sends the FHIR validator's test cases
// (../shared/data/fhir/validator-cases) to "cpms serve"'s $validate and
// compares the verdict, valid or not, with the expected outcome of the
// reference (Java) validator. Cases in XML are not applicable: the server
// speaks JSON only.
func TestValidatorCases(t *testing.T) {
	data, err := gendata.SharedDir(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(data, "fhir", "validator-cases")
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Skipf("../shared/data not present (%v): the validator cases are not here", err)
	}
	var cases []struct {
		Name, File, Module string
		ErrorCount         int
		Errors             []string
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	do, stop := startServe(t)
	defer stop()
	var agree, disagree []string
	na := 0
	for _, c := range cases {
		if !strings.HasSuffix(c.File, ".json") {
			na++
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, c.File))
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ ResourceType string }
		json.Unmarshal(body, &head)
		typ := head.ResourceType
		if typ == "" {
			typ = "Basic" // not readable as JSON: any type's $validate says why
		}
		status, out := do(http.MethodPost, typ+"/$validate", string(body))
		errors := 0
		for _, is := range outcomeIssues(out) {
			if is["severity"] == "error" || is["severity"] == "fatal" {
				errors++
			}
		}
		valid := status == http.StatusOK && errors == 0
		if valid == (c.ErrorCount == 0) {
			agree = append(agree, c.Module+"/"+c.Name)
		} else {
			disagree = append(disagree, fmt.Sprintf("%s/%s: reference %d errors %q; server %d, %d errors: %.300s",
				c.Module, c.Name, c.ErrorCount, c.Errors, status, errors, outcomeText(out)))
		}
	}
	t.Logf("validator cases: %d agree, %d disagree, %d not applicable (XML)", len(agree), len(disagree), na)
	for _, d := range disagree {
		t.Log("disagree:", d)
	}
	if *updateValidatorCases {
		if err := os.WriteFile(agreeFile, []byte(strings.Join(agree, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(agreeFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range strings.Split(strings.TrimSpace(string(want)), "\n") {
		if !slices.Contains(agree, name) {
			t.Errorf("%s agreed with the reference validator and no longer does", name)
		}
	}
}

// outcomeIssues returns the issues of an OperationOutcome.
func outcomeIssues(oo map[string]any) []map[string]any {
	var out []map[string]any
	list, _ := oo["issue"].([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
