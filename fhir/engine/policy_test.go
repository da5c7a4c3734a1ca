package engine_test

import (
	"context"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/store/sqlite"
)

// recordingPolicy records every access it is asked about and refuses the
// accesses deny matches.
type recordingPolicy struct {
	mu     sync.Mutex
	seen   []engine.Access
	caller []*fhir.Caller
	deny   func(engine.Access) bool
}

func (p *recordingPolicy) Allow(ctx context.Context, a engine.Access) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, a)
	p.caller = append(p.caller, fhir.CallerFrom(ctx))
	if p.deny != nil && p.deny(a) {
		return fhir.Errorf(fhir.KindForbidden, "denied")
	}
	return nil
}

func (p *recordingPolicy) reset() (seen []engine.Access) {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen, p.seen, p.caller = p.seen, nil, nil
	return seen
}

func newEngine(t testing.TB, p engine.Policy) *engine.Engine {
	t.Helper()
	return openEngine(t, engine.Options{Policy: p})
}

// openEngine opens an engine with opts over a new embedded store, closed
// at the end of the test; logs are discarded.
func openEngine(t testing.TB, opts engine.Options) *engine.Engine {
	t.Helper()
	opts.Logger = slog.New(slog.DiscardHandler)
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{Logger: opts.Logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e, err := engine.New(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const patient = `{"resourceType":"Patient","id":"p1","identifier":[{"system":"urn:s","value":"1"}],"active":true}`

// TestPolicyConsulted checks that every interaction asks the policy, once
// before touching the store and once for each resource it reads or writes,
// with the caller of the context.
func TestPolicyConsulted(t *testing.T) {
	p := &recordingPolicy{}
	e := newEngine(t, p)
	caller := &fhir.Caller{Subject: "dr-house", Roles: []string{"member-expert"}, Centre: "BE10", ERN: "EuroBloodNet"}
	ctx := fhir.WithCaller(context.Background(), caller)

	type step struct {
		name string
		do   func() error
		want []engine.Interaction // interactions asked, in order
	}
	steps := []step{
		{"update as create", func() error { _, err := e.Update(ctx, "Patient", "p1", []byte(patient), 0); return err },
			[]engine.Interaction{engine.InteractionUpdate, engine.InteractionUpdate}},
		{"read", func() error { _, err := e.Read(ctx, "Patient", "p1"); return err },
			[]engine.Interaction{engine.InteractionRead, engine.InteractionRead}},
		{"vread", func() error { _, err := e.VRead(ctx, "Patient", "p1", "1"); return err },
			[]engine.Interaction{engine.InteractionVRead, engine.InteractionVRead}},
		{"create", func() error { _, err := e.Create(ctx, "Patient", []byte(patient), ""); return err },
			[]engine.Interaction{engine.InteractionCreate, engine.InteractionCreate}},
		{"conditional create matching", func() error {
			_, err := e.Create(ctx, "Patient", []byte(`{"resourceType":"Patient"}`), "_id=p1")
			return err
		}, []engine.Interaction{engine.InteractionCreate, engine.InteractionRead}},
		{"patch", func() error {
			_, err := e.Patch(ctx, "Patient", "p1", engine.JSONPatch, []byte(`[{"op":"replace","path":"/active","value":false}]`), 0)
			return err
		}, []engine.Interaction{engine.InteractionPatch, engine.InteractionPatch}},
		{"history", func() error {
			_, err := e.History(ctx, engine.HistoryRequest{Type: "Patient", ID: "p1"})
			return err
		}, []engine.Interaction{engine.InteractionHistoryInst, engine.InteractionHistoryInst, engine.InteractionHistoryInst}},
		{"validate", func() error { _, err := e.Validate(ctx, "Patient", []byte(patient)); return err },
			[]engine.Interaction{engine.InteractionValidate}},
		{"delete", func() error { _, err := e.Delete(ctx, "Patient", "p1", 0); return err },
			[]engine.Interaction{engine.InteractionDelete, engine.InteractionDelete}},
		{"conditional delete", func() error {
			_, err := e.ConditionalDelete(ctx, "Patient", url.Values{"identifier": {"urn:s|1"}}, 0)
			return err
		}, []engine.Interaction{engine.InteractionDelete, engine.InteractionDelete}},
	}
	for _, s := range steps {
		p.reset()
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		p.mu.Lock()
		var got []engine.Interaction
		for i, a := range p.seen {
			got = append(got, a.Interaction)
			if a.Type != "Patient" {
				t.Errorf("%s: access %d for type %q", s.name, i, a.Type)
			}
			if p.caller[i] != caller {
				t.Errorf("%s: access %d without the request's caller", s.name, i)
			}
		}
		p.mu.Unlock()
		if !slices.Equal(got, s.want) {
			t.Errorf("%s: policy asked about %v, want %v", s.name, got, s.want)
		}
	}
}

// TestPolicyDenies checks that a refusal stops the interaction: nothing is
// written, nothing is returned, and the error is KindForbidden.
func TestPolicyDenies(t *testing.T) {
	p := &recordingPolicy{}
	e := newEngine(t, p)
	ctx := context.Background()
	if _, err := e.Update(ctx, "Patient", "p1", []byte(patient), 0); err != nil {
		t.Fatal(err)
	}

	// A policy that inspects content: refuse writes of inactive patients
	// and reads of p1.
	p.deny = func(a engine.Access) bool {
		if a.Resource == nil {
			return false
		}
		switch a.Interaction {
		case engine.InteractionRead:
			return a.ID == "p1"
		case engine.InteractionUpdate, engine.InteractionCreate:
			return strings.Contains(string(a.Resource.Body), `"active":false`)
		}
		return false
	}
	if _, err := e.Read(ctx, "Patient", "p1"); !fhir.IsKind(err, fhir.KindForbidden) {
		t.Errorf("read: %v, want forbidden", err)
	}
	inactive := `{"resourceType":"Patient","id":"p1","active":false}`
	if _, err := e.Update(ctx, "Patient", "p1", []byte(inactive), 0); !fhir.IsKind(err, fhir.KindForbidden) {
		t.Errorf("update: %v, want forbidden", err)
	}
	if _, err := e.Create(ctx, "Patient", []byte(inactive), ""); !fhir.IsKind(err, fhir.KindForbidden) {
		t.Errorf("create: %v, want forbidden", err)
	}
	p.deny = nil
	page, err := e.History(ctx, engine.HistoryRequest{Type: "Patient"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Versions) != 1 {
		t.Errorf("refused writes were stored: %d versions in the type's history", len(page.Versions))
	}
}
