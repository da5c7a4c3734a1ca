package storetest

import (
	"slices"
	"testing"

	"github.com/cpms-fhir/cpms/fhir/engine"
)

// Options adapt the suite to an adapter that cannot provide every
// guarantee of the contract yet. The zero value runs everything.
type Options struct {
	// SkipAtomicConcurrency, when not empty, is why concurrent
	// read-modify-write transactions may lose updates in this adapter
	// (for example "FerretDB: updates guarded by a version filter are not
	// atomic"). The subtests that race writers on one resource or on one
	// conditional create are skipped with it as the reason.
	SkipAtomicConcurrency string
	// SkipAtomicVisibility, when not empty, is why a reader may see part
	// of a committed transaction in this adapter (for example "no
	// multi-document transactions"). The subtest that checks readers see
	// all of a transaction or none of it is skipped with it as the reason.
	SkipAtomicVisibility string
	// Skip maps other subtests, named by their path below Run's test
	// ("History/Since"), or whole groups ("Search"), to the reason to skip
	// them. A name that matches no subtest or group fails the suite, so
	// that a renamed subtest is not skipped silently.
	Skip map[string]string
	// Groups, when not empty, names the only groups to run ("Search"):
	// for an adapter that runs one concern again under other settings.
	Groups []string
}

// need is a guarantee a subtest depends on beyond the plain contract.
type need int

const (
	needNothing need = iota
	needAtomicConcurrency
	needAtomicVisibility
)

// test is one subtest: it receives a fresh, empty store.
type test struct {
	name  string
	needs need
	run   func(t *testing.T, s engine.Store)
}

// group is a set of subtests about one concern.
type group struct {
	name  string
	tests []test
}

// groups lists every subtest of the suite.
func groups() []group {
	return []group{
		{"CRUD", crudTests},
		{"Versioning", versioningTests},
		{"Transactions", txTests},
		{"Concurrency", concurrencyTests},
		{"Search", searchTests},
		{"History", historyTests},
		{"Settings", settingTests},
	}
}

// Run runs the contract suite on the stores that open returns: open is
// called once per subtest and must return a new, empty store. The suite
// closes the store at the end of the subtest. opts, at most one, adapt the
// suite to the adapter.
func Run(t *testing.T, open func(t *testing.T) engine.Store, opts ...Options) {
	t.Helper()
	if len(opts) > 1 {
		t.Fatalf("storetest.Run takes at most one Options, got %d", len(opts))
	}
	var o Options
	if len(opts) == 1 {
		o = opts[0]
	}
	var known []string
	for _, g := range groups() {
		known = append(known, g.name)
		for _, tc := range g.tests {
			known = append(known, g.name+"/"+tc.name)
		}
	}
	for name, reason := range o.Skip {
		if !slices.Contains(known, name) {
			t.Errorf("Options.Skip names %q, which is not a subtest of the suite", name)
		}
		if reason == "" {
			t.Errorf("Options.Skip gives no reason to skip %q", name)
		}
	}
	for _, name := range o.Groups {
		if !slices.ContainsFunc(groups(), func(g group) bool { return g.name == name }) {
			t.Errorf("Options.Groups names %q, which is not a group of the suite", name)
		}
	}
	for _, g := range groups() {
		if len(o.Groups) > 0 && !slices.Contains(o.Groups, g.name) {
			continue
		}
		t.Run(g.name, func(t *testing.T) {
			if reason := o.Skip[g.name]; reason != "" {
				t.Skip(reason)
			}
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					if reason := o.skipReason(g.name+"/"+tc.name, tc.needs); reason != "" {
						t.Skip(reason)
					}
					s := open(t)
					if s == nil {
						t.Fatal("open returned a nil store")
					}
					t.Cleanup(func() {
						if err := s.Close(); err != nil {
							t.Errorf("Close: %v", err)
						}
					})
					tc.run(t, s)
				})
			}
		})
	}
}

// skipReason returns why the subtest name should be skipped, or "".
func (o Options) skipReason(name string, n need) string {
	if r := o.Skip[name]; r != "" {
		return r
	}
	switch n {
	case needAtomicConcurrency:
		return o.SkipAtomicConcurrency
	case needAtomicVisibility:
		return o.SkipAtomicVisibility
	}
	return ""
}
