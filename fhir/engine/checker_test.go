package engine_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// familyChecker refuses Patients whose family name is "Refused" and warns
// about those named "Doubtful"; it records the profiles it was asked for.
type familyChecker struct{ profiles [][]string }

func (c *familyChecker) Check(_ context.Context, t fhir.ResourceType, body []byte, profiles []string) []fhir.Issue {
	c.profiles = append(c.profiles, profiles)
	switch {
	case t != "Patient":
		return nil
	case bytes.Contains(body, []byte(`"Refused"`)):
		return []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueBusinessRule, Expression: []string{"Patient.name[0].family"}, Diagnostics: "refused"}}
	case bytes.Contains(body, []byte(`"Doubtful"`)):
		return []fhir.Issue{{Severity: fhir.SeverityWarning, Code: fhir.IssueBusinessRule, Expression: []string{"Patient.name[0].family"}, Diagnostics: "doubtful"}}
	}
	return nil
}

// TestCheckers checks that a Checker's errors fail every kind of write
// with 422 and its issues, that its warnings do not, and that $validate
// passes it the profiles asked for.
func TestCheckers(t *testing.T) {
	c := &familyChecker{}
	e := openEngine(t, engine.Options{Checkers: []engine.Checker{c}})
	ctx := context.Background()
	refused := []byte(`{"resourceType":"Patient","name":[{"family":"Refused"}]}`)
	failed := func(what string, err error) {
		t.Helper()
		var fe *fhir.Error
		if !fhir.IsKind(err, fhir.KindUnprocessable) || !errorsAs(err, &fe) || len(fe.Issues) != 1 || fe.Issues[0].Expression[0] != "Patient.name[0].family" {
			t.Errorf("%s: %v, want 422 with the checker's issue", what, err)
		}
	}
	_, err := e.Create(ctx, "Patient", refused, "")
	failed("create", err)
	_, err = e.Update(ctx, "Patient", "p2", refused, 0)
	failed("update", err)
	errs, err := e.Import(ctx, []engine.ImportItem{{Type: "Patient", ID: "p3", Body: refused}}, engine.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	failed("import", errs[0])
	if _, err := e.Create(ctx, "Patient", []byte(`{"resourceType":"Patient","name":[{"family":"Doubtful"}]}`), ""); err != nil {
		t.Errorf("a warning failed the write: %v", err)
	}
	issues, err := e.ValidateProfiles(ctx, "Patient", []byte(`{"resourceType":"Patient","name":[{"family":"Doubtful"}]}`), []string{"http://x/p"})
	if err != nil || len(issues) != 1 || issues[0].Severity != fhir.SeverityWarning {
		t.Errorf("$validate: %v %v", issues, err)
	}
	if last := c.profiles[len(c.profiles)-1]; !slices.Equal(last, []string{"http://x/p"}) {
		t.Errorf("profiles passed: %v", last)
	}
}

func errorsAs(err error, fe **fhir.Error) bool {
	e, ok := err.(*fhir.Error)
	*fe = e
	return ok
}
