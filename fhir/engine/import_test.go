package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// countingChecker counts the resources prepared in full (validated), and
// runs hook on a Patient whose body holds trigger.
type countingChecker struct {
	n       atomic.Int64
	trigger []byte
	hook    func()
}

func (c *countingChecker) Check(_ context.Context, t fhir.ResourceType, body []byte, _ []string) []fhir.Issue {
	c.n.Add(1)
	if c.hook != nil && t == "Patient" && bytes.Contains(body, c.trigger) {
		hook := c.hook
		c.hook = nil
		hook()
	}
	return nil
}

func newCheckedEngine(t *testing.T) (*engine.Engine, *countingChecker) {
	t.Helper()
	c := &countingChecker{}
	return openEngine(t, engine.Options{Checkers: []engine.Checker{c}}), c
}

func patientItem(id, family string) engine.ImportItem {
	return engine.ImportItem{Type: "Patient", ID: fhir.ID(id),
		Body: fmt.Appendf(nil, `{"resourceType":"Patient","id":%q,"name":[{"family":%q}]}`, id, family)}
}

func importAll(t *testing.T, e *engine.Engine, items ...engine.ImportItem) {
	t.Helper()
	errs, err := e.Import(t.Context(), items, engine.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
	}
}

// TestImportUnchangedNotValidated: importing the same resources again
// validates none of them and writes nothing; one changed among them is
// validated and written.
func TestImportUnchangedNotValidated(t *testing.T) {
	e, c := newCheckedEngine(t)
	ctx := t.Context()
	items := []engine.ImportItem{patientItem("a", "One"), patientItem("b", "Two"), patientItem("c", "Three")}
	importAll(t, e, items...)
	if got := c.n.Load(); got != 3 {
		t.Fatalf("first import: %d validated, want 3", got)
	}
	c.n.Store(0)
	items[2] = patientItem("c", "Changed")
	importAll(t, e, items...)
	if got := c.n.Load(); got != 1 {
		t.Errorf("second import: %d validated, want 1 (the changed one)", got)
	}
	for id, want := range map[fhir.ID]int64{"a": 1, "b": 1, "c": 2} {
		r, err := e.Read(ctx, "Patient", id)
		if err != nil || r.Version != want {
			t.Errorf("Patient/%s: %v, version %v, want %d", id, err, r, want)
		}
	}
	// A deleted resource is not "the same": the import brings it back.
	if _, err := e.Delete(ctx, "Patient", "a", 0); err != nil {
		t.Fatal(err)
	}
	c.n.Store(0)
	importAll(t, e, items[0])
	if r, err := e.Read(ctx, "Patient", "a"); err != nil || r.Version != 3 || c.n.Load() != 1 {
		t.Errorf("Patient/a after delete and import: %v, %v, %d validated", r, err, c.n.Load())
	}
}

// TestImportUnchangedThenChanged: a resource found equal to the item
// before the transaction but changed before it ran is validated and
// written by the import after all.
func TestImportUnchangedThenChanged(t *testing.T) {
	e, c := newCheckedEngine(t)
	ctx := t.Context()
	importAll(t, e, patientItem("a", "One"))
	// While the import validates b, another client changes a.
	c.trigger = []byte(`"Trigger"`)
	c.hook = func() {
		if _, err := e.Update(ctx, "Patient", "a", patientItem("a", "Other").Body, 0); err != nil {
			t.Error(err)
		}
	}
	c.n.Store(0)
	importAll(t, e, patientItem("a", "One"), patientItem("b", "Trigger"))
	r, err := e.Read(ctx, "Patient", "a")
	if err != nil || r.Version != 3 || !bytes.Contains(r.Body, []byte(`"One"`)) {
		t.Fatalf("Patient/a: %v, %v; want version 3 with the imported content", r, err)
	}
	// b, the update of a by the other client, and a again.
	if got := c.n.Load(); got != 3 {
		t.Errorf("%d validated, want 3", got)
	}
	if _, err := e.Read(ctx, "Patient", "b"); err != nil {
		t.Error(err)
	}
}
