package fhirpath

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fixtureCase is one case of testdata/cases.json: an expression evaluated on
// a resource of testdata (or on nothing), with its expected items written as
// "TypeName:value" (TypeName alone for values without a string form), or
// the stage at which it must fail ("compile", "check" or "eval"). With
// check, the expression is first checked against that context type.
type fixtureCase struct {
	Input   string            `json:"input"`
	Expr    string            `json:"expr"`
	Vars    map[string]string `json:"vars"`
	Strict  bool              `json:"strict"`
	Check   string            `json:"check"`   // context type for Check
	Ordered bool              `json:"ordered"` // CheckOptions.OrderedFunctions
	Want    []string          `json:"want"`
	Error   string            `json:"error"`
}

func formatItem(it Item) string {
	if s, ok := it.toString(); ok {
		return it.TypeName() + ":" + s
	}
	return it.TypeName()
}

func TestFixtures(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []fixtureCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	inputs := map[string]any{}
	for _, tc := range cases {
		var input any
		if tc.Input != "" {
			if inputs[tc.Input] == nil {
				inputs[tc.Input] = readJSONFile(t, filepath.Join("testdata", tc.Input))
			}
			input = inputs[tc.Input]
		}
		var opts []Option
		if tc.Strict {
			opts = append(opts, WithStrict())
		}
		for k, v := range tc.Vars {
			opts = append(opts, WithVariable(k, v))
		}
		name := tc.Expr
		if tc.Strict {
			name += " (strict)"
		}
		e, err := Compile(tc.Expr)
		if tc.Error == "compile" {
			var se *SyntaxError
			if err == nil || !errors.As(err, &se) {
				t.Errorf("%s: want a compile error, got %v", name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if tc.Check != "" {
			err := e.Check(tc.Check, CheckOptions{OrderedFunctions: tc.Ordered})
			var se *SemanticError
			switch {
			case tc.Error == "check":
				if err == nil || !errors.As(err, &se) {
					t.Errorf("%s: want a semantic error, got %v", name, err)
				}
				continue
			case err != nil:
				t.Errorf("%s: %v", name, err)
				continue
			}
		}
		res, err := e.Evaluate(input, opts...)
		if tc.Error == "eval" {
			var ee *EvalError
			if err == nil || !errors.As(err, &ee) {
				t.Errorf("%s: want an evaluation error, got %v (%v)", name, err, res)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got := make([]string, len(res))
		for i, it := range res {
			got[i] = formatItem(it)
		}
		if len(got) != len(tc.Want) {
			t.Errorf("%s:\n\tgot  %q\n\twant %q", name, got, tc.Want)
			continue
		}
		for i := range got {
			if got[i] != tc.Want[i] {
				t.Errorf("%s:\n\tgot  %q\n\twant %q", name, got, tc.Want)
				break
			}
		}
	}
	t.Logf("%d fixture cases", len(cases))
}
